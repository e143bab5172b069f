//! The chain head: the last sealed row's position and hash, as the sealer publishes it and as a
//! witness outside the database writes it down (`audit-verify --head`).

use std::{fmt, str::FromStr};

/// The last sealed row: its position and hash. Published after each sealed batch so that a
/// system outside the database can witness it, and checked later with `audit-verify --head`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainHead {
    pub position: i64,
    pub hash: Vec<u8>,
}

impl ChainHead {
    pub fn hash_hex(&self) -> String {
        hex::encode(&self.hash)
    }

    /// The hash's first 48 bits as a number: what fits a metric (an f64 holds it exactly).
    pub fn hash_prefix(&self) -> u64 {
        self.hash.iter().take(6).fold(0, |acc, byte| (acc << 8) | u64::from(*byte))
    }
}

impl fmt::Display for ChainHead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.position, self.hash_hex())
    }
}

/// A head as a witness wrote it down: `POSITION:HASH`, the hash in hex, whole (64 digits, from
/// the log line) or its first 12 digits or more (the metric's 48 bits, `%012x`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WitnessedHead {
    pub position: i64,
    pub hash_hex: String,
}

impl FromStr for WitnessedHead {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (position, hash) =
            text.trim().split_once(':').ok_or_else(|| "expected POSITION:HASH, e.g. 42:9f86d081884c".to_owned())?;
        let position: i64 = position.parse().map_err(|_| format!("position \"{position}\" is not a number"))?;
        if position < 1 {
            return Err("positions start at 1".into());
        }
        let hash_hex = hash.to_ascii_lowercase();
        if !(12..=64).contains(&hash_hex.len()) || !hash_hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err("the hash must be 12 to 64 hex digits".into());
        }
        Ok(Self { position, hash_hex })
    }
}

impl fmt::Display for WitnessedHead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.position, self.hash_hex)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_witnessed_head_parses_whole_or_as_the_metric_prefix() {
        let head = ChainHead { position: 7, hash: (0u8..32).collect() };
        let whole: WitnessedHead = head.to_string().parse().expect("whole hash");
        assert_eq!(whole.position, 7);
        assert_eq!(whole.hash_hex, head.hash_hex());
        let prefix: WitnessedHead = format!("7:{:012x}", head.hash_prefix()).parse().expect("prefix");
        assert!(head.hash_hex().starts_with(&prefix.hash_hex));

        for bad in ["7", "x:00112233aabb", "0:00112233aabb", "7:0011", "7:zz112233aabbcc"] {
            assert!(bad.parse::<WitnessedHead>().is_err(), "{bad}");
        }
    }
}
