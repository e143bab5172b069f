//! The stored-file pipeline's types: a file written to the store ([`StoredObject`]), what a
//! download needs of its row ([`FileForDownload`]), and where its virus scan stands
//! ([`ScanStatus`]: one enum from the scan job's verdict to the database column to the API).

use serde::Serialize;
use sqlx::{
    Decode, Encode, Postgres, Type,
    encode::IsNull,
    error::BoxDynError,
    postgres::{PgArgumentBuffer, PgTypeInfo, PgValueRef},
};
use utoipa::ToSchema;

/// Where a stored file's virus scan stands; the file is served only when `CLEAN`. It moves from
/// `PENDING` to one of the others once (`stored_files.scan_status`, a text column with a check).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum ScanStatus {
    Pending,
    Clean,
    Infected,
    Failed,
}

impl ScanStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Clean => "CLEAN",
            Self::Infected => "INFECTED",
            Self::Failed => "FAILED",
        }
    }

    /// The status a column holds; anything unknown reads as `PENDING` (not served).
    pub fn parse(value: &str) -> Self {
        match value {
            "CLEAN" => Self::Clean,
            "INFECTED" => Self::Infected,
            "FAILED" => Self::Failed,
            _ => Self::Pending,
        }
    }
}

impl std::fmt::Display for ScanStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

// Stored as the column's text (not a Postgres enum type), so it reads and binds as `text`.
impl Type<Postgres> for ScanStatus {
    fn type_info() -> PgTypeInfo {
        <&str as Type<Postgres>>::type_info()
    }

    fn compatible(ty: &PgTypeInfo) -> bool {
        <&str as Type<Postgres>>::compatible(ty)
    }
}

impl Encode<'_, Postgres> for ScanStatus {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <&str as Encode<Postgres>>::encode(self.as_str(), buf)
    }
}

impl<'r> Decode<'r, Postgres> for ScanStatus {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        Ok(Self::parse(<&str as Decode<Postgres>>::decode(value)?))
    }
}

/// A file written to the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    pub key: String,
    /// The client's file name, cleaned (metadata only).
    pub original_name: String,
    pub extension: String,
    pub content_type: &'static str,
    pub size: i64,
    pub sha256: Vec<u8>,
}

/// What a download needs of a file.
#[derive(Debug, Clone)]
pub struct FileForDownload {
    pub storage_key: String,
    pub content_type: String,
    pub original_name: String,
    pub extension: String,
    pub scan_status: ScanStatus,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scan_status_is_its_column_text_and_its_wire_name() {
        for status in [ScanStatus::Pending, ScanStatus::Clean, ScanStatus::Infected, ScanStatus::Failed] {
            assert_eq!(ScanStatus::parse(status.as_str()), status);
            assert_eq!(serde_json::to_value(status).ok(), Some(serde_json::json!(status.as_str())));
        }
    }
}
