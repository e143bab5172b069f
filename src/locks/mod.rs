//! Every Postgres advisory lock CareHub takes, as one table of lock spaces ([`LockSpace`]), so
//! that two kinds of lock never share a key. (They did: the recommendations' hourly limit and
//! the one-time codes' doctor budget both locked `(2, doctor)`, so each waited on the other's
//! unrelated transactions, and a change to either could have made them exclude each other.)
//!
//! Scheme: transaction-scoped locks in Postgres's two-`int4` form, `pg_advisory_xact_lock(space,
//! key)`. The first int is the space's [`LockSpace::number`], distinct for every space (a unit
//! test checks it); the second is `hashtext` of the key as text (an id in decimal, bytes in
//! lower-case hex). Two keys of one space may hash alike: they then wait on each other, which
//! costs time, never correctness. Postgres keeps the one-`bigint` form in a key space of its own
//! (the two forms never overlap); only the audit sealer uses it, with the key it always had, so
//! that a sealer of an older build and one of this build still exclude each other while a
//! deployment rolls. The statements are in [`repo`]; no other module writes `pg_advisory` SQL (a unit
//! test reads the sources).

mod repo;

use sqlx::PgConnection;

/// A kind of advisory lock: what it serializes, and its distinct key space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LockSpace {
    /// One-time codes and grants of one patient (`access`): issuing, verifying, revoking.
    AccessPatient,
    /// One doctor's code requests (`access`): their hourly budget.
    AccessDoctor,
    /// Code requests that name one unknown subject (`access`): its budget.
    AccessSubject,
    /// One hospital's failed code verifications (`access`): its doctors' budgets and its own.
    AccessVerifyHospital,
    /// Failed code verifications from one client address (`access`).
    AccessVerifyAddress,
    /// One doctor's uncached recommendation requests (`medicines`): their hourly limit.
    RecommendationsDoctor,
    /// The audit sealer: one sealing round at a time (`audit`), in the one-`bigint` form.
    AuditSealer,
}

/// How a space's locks are keyed in Postgres.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `pg_advisory_xact_lock(space, hashtext(key))`: the space's number.
    Pair(i32),
    /// `pg_try_advisory_xact_lock(key)`: one fixed `bigint` key.
    Single(i64),
}

impl LockSpace {
    /// Every space, for the tests and for a reader.
    pub const ALL: [Self; 7] = [
        Self::AccessPatient,
        Self::AccessDoctor,
        Self::AccessSubject,
        Self::AccessVerifyHospital,
        Self::AccessVerifyAddress,
        Self::RecommendationsDoctor,
        Self::AuditSealer,
    ];

    /// The space's keys in Postgres. The numbers 1 to 3 are the ones these locks had before
    /// this table, so processes of an older build still exclude those of this one.
    pub const fn form(self) -> Form {
        match self {
            Self::AccessPatient => Form::Pair(1),
            Self::AccessDoctor => Form::Pair(2),
            Self::AccessSubject => Form::Pair(3),
            Self::RecommendationsDoctor => Form::Pair(4),
            Self::AccessVerifyHospital => Form::Pair(5),
            Self::AccessVerifyAddress => Form::Pair(6),
            Self::AuditSealer => Form::Single(0x000C_A2E4_5EA1_0001),
        }
    }
}

/// What a lock of a [`Form::Pair`] space is taken on.
#[derive(Debug, Clone, Copy)]
pub enum Key<'a> {
    /// A row id (hashed as its decimal text).
    Id(i64),
    /// Bytes, such as a keyed hash (hashed as their lower-case hex).
    Bytes(&'a [u8]),
    /// Text, such as a client address.
    Text(&'a str),
}

impl Key<'_> {
    fn text(self) -> String {
        match self {
            Self::Id(id) => id.to_string(),
            Self::Bytes(bytes) => hex::encode(bytes),
            Self::Text(text) => text.to_owned(),
        }
    }
}

/// Waits for the lock `(space, key)` and holds it until the caller's transaction ends. (A
/// [`Form::Single`] space has one key, its own: `key` is not used.)
pub async fn xact_lock(conn: &mut PgConnection, space: LockSpace, key: Key<'_>) -> sqlx::Result<()> {
    match space.form() {
        Form::Pair(number) => repo::lock_pair(conn, number, &key.text()).await,
        Form::Single(own) => repo::lock_single(conn, own).await,
    }
}

/// Takes the lock `(space, key)` for the caller's transaction if no one holds it: whether it did.
pub async fn try_xact_lock(conn: &mut PgConnection, space: LockSpace, key: Key<'_>) -> sqlx::Result<bool> {
    match space.form() {
        Form::Pair(number) => repo::try_lock_pair(conn, number, &key.text()).await,
        Form::Single(own) => repo::try_lock_single(conn, own).await,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::path::{Path, PathBuf};

    use super::*;

    #[test]
    fn every_lock_space_has_a_key_space_of_its_own() {
        let forms: Vec<Form> = LockSpace::ALL.iter().map(|space| space.form()).collect();
        let pairs: HashSet<i32> =
            forms.iter().filter_map(|form| if let Form::Pair(n) = form { Some(*n) } else { None }).collect();
        let singles: HashSet<i64> =
            forms.iter().filter_map(|form| if let Form::Single(k) = form { Some(*k) } else { None }).collect();
        assert_eq!(pairs.len() + singles.len(), LockSpace::ALL.len(), "two spaces share a number: {forms:?}");
        assert_eq!(
            LockSpace::ALL.iter().collect::<HashSet<_>>().len(),
            LockSpace::ALL.len(),
            "ALL lists each space once"
        );
        // The two locks that used to collide.
        assert_ne!(LockSpace::AccessDoctor.form(), LockSpace::RecommendationsDoctor.form());
    }

    #[test]
    fn keys_are_hashed_as_the_text_the_older_statements_hashed() {
        assert_eq!(Key::Id(42).text(), "42");
        assert_eq!(Key::Id(-7).text(), "-7");
        assert_eq!(Key::Bytes(&[0x0a, 0xff]).text(), "0aff", "as Postgres encode(bytes, 'hex')");
        assert_eq!(Key::Text("10.0.0.1").text(), "10.0.0.1");
    }

    fn rust_files(dir: &Path, into: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("readable source directory") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                rust_files(&path, into);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                into.push(path);
            }
        }
    }

    #[test]
    fn no_module_but_this_one_takes_an_advisory_lock() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        for dir in ["src", "workers/src"] {
            rust_files(&root.join(dir), &mut files);
        }
        assert!(files.len() > 20, "the sources were found: {}", files.len());
        // This module: its statements (`repo.rs`), and the docs and this test that name them.
        let this = root.join("src/locks");
        let offenders: Vec<String> = files
            .iter()
            .filter(|path| !path.starts_with(&this))
            .filter(|path| std::fs::read_to_string(path).expect("utf-8 source").contains("advisory_"))
            .map(|path| path.display().to_string())
            .collect();
        assert!(offenders.is_empty(), "advisory locks outside src/locks/: {offenders:?}");
    }
}
