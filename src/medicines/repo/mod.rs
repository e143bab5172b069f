//! Every SQL statement on the formulary: the searches and look-ups ([`search`]), what a
//! recommendation checks a patient's facts against ([`checks`]), and the load of the formulary
//! file ([`load`]). Recommendations have their own repository (`recommendations::repo`).

/// `sqlx::query_as!(Medicine, …)` over the formulary's columns (`from medicines m`), then `$tail`
/// (conditions, order, limit) and the binds: the one column list every read of entries shares.
macro_rules! select_medicines {
    ($tail:literal $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            crate::medicines::model::Medicine,
            "select m.id, m.generic_name, m.brand_names, m.aliases, m.atc_code, m.drug_class, m.forms, m.adult_dose, \
             m.allergy_class, m.contraindicated_conditions, m.min_age_years, m.pregnancy from medicines m "
                + $tail
            $(, $arg)*
        )
    };
}

mod checks;
mod load;
mod search;

pub use self::{
    checks::{allergy_classes, interactions, unknown_names},
    load::{upsert_interaction, upsert_medicine},
    search::{by_id, by_names, resolve, same_class, search, suggestions},
};
