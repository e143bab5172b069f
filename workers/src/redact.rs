//! What of an error may be logged. A database error's message and detail can quote the row
//! (`Failing row contains (...)`: patient data); a log line gets its SQLSTATE, constraint and
//! table only. Every process logs errors through this (the web side's `ApiError`, the relay,
//! the workers, the command line).

/// An error chain as it may be logged: each layer's message, except that a database error shows
/// only its SQLSTATE, constraint and table (its message and detail can quote the row's values).
pub struct Redacted<'a>(pub &'a anyhow::Error);

impl std::fmt::Display for Redacted<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A wrapper may quote its source in its own message (`MigrateError`, `#[error("…: {0}")]`):
        // the database's words are cut out of every layer, not only the database error's own.
        let quoted: Vec<String> = self
            .0
            .chain()
            .filter_map(|layer| layer.downcast_ref::<sqlx::Error>())
            .filter_map(sqlx::Error::as_database_error)
            .flat_map(|db| {
                let detail = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>().and_then(|pg| pg.detail());
                [Some(db.message().to_owned()), detail.map(str::to_owned)]
            })
            .flatten()
            .filter(|text| !text.is_empty())
            .collect();
        for (depth, layer) in self.0.chain().enumerate() {
            if depth > 0 {
                f.write_str(": ")?;
            }
            if let Some(db_error) = layer.downcast_ref::<sqlx::Error>() {
                return write_sqlx_error(f, db_error);
            }
            let mut text = layer.to_string();
            for words in &quoted {
                text = text.replace(words.as_str(), "[database message]");
            }
            f.write_str(&text)?;
        }
        Ok(())
    }
}

fn write_sqlx_error(f: &mut std::fmt::Formatter<'_>, err: &sqlx::Error) -> std::fmt::Result {
    match err {
        sqlx::Error::Database(db) => {
            write!(f, "database error, SQLSTATE {}", db.code().as_deref().unwrap_or("unknown"))?;
            if let Some(constraint) = db.constraint() {
                write!(f, ", constraint {constraint}")?;
            }
            if let Some(table) = db.table() {
                write!(f, ", table {table}")?;
            }
            Ok(())
        }
        sqlx::Error::ColumnDecode { index, .. } => write!(f, "column {index} could not be decoded"),
        sqlx::Error::Decode(_) => f.write_str("a value could not be decoded"),
        other => write!(f, "{other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_layers_are_printed_as_they_are() {
        let err = anyhow::anyhow!("relay paused").context("outbox");
        assert_eq!(Redacted(&err).to_string(), "outbox: relay paused");
        let pool = anyhow::Error::from(sqlx::Error::PoolTimedOut).context("reading the outbox");
        assert!(Redacted(&pool).to_string().starts_with("reading the outbox: pool timed out"), "{}", Redacted(&pool));
    }
}
