//! Every SQL statement on recommendations and their cache: the rows a doctor asks for and reads
//! ([`requests`]), the answers and the shared cache ([`answers`]), and the statistics
//! ([`stats`]).

mod answers;
mod requests;
mod stats;

pub use self::{
    answers::{cached_answer, clear_cache, complete, fail, pending},
    requests::{NewRecommendation, get, history, insert_cached, insert_pending, lock_doctor, recent},
    stats::{Stats, stats},
};

/// What a stored answer's notes say: the model's, then the server's.
fn join_notes(server: &str, model: &str) -> String {
    [model, server].iter().filter(|n| !n.is_empty()).copied().collect::<Vec<_>>().join(" ")
}
