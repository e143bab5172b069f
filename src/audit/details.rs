//! What an admin's decision adds to its audit row's details: the reason the admin gave
//! ([`reason`]) and where the decision was taken ([`Via`]).

/// The most characters of a reason that are kept.
pub const REASON_MAX_CHARS: usize = 500;

/// Where an admin took a decision: `details.via` of its audit row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// The JSON API.
    Api,
    /// The operations console (`/console/`).
    Console,
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Api => "api",
            Self::Console => "console",
        }
    }
}

/// A reason as it is recorded: every run of whitespace or control characters (line breaks, NUL)
/// made one space, trimmed, at most [`REASON_MAX_CHARS`] characters; `None` when nothing is left.
pub fn reason(raw: Option<&str>) -> Option<String> {
    let mut kept = String::new();
    let mut pending_space = false;
    for c in raw?.chars() {
        if c.is_whitespace() || c.is_control() {
            pending_space = !kept.is_empty();
        } else {
            if pending_space {
                kept.push(' ');
                pending_space = false;
            }
            kept.push(c);
        }
    }
    let cut: String = kept.chars().take(REASON_MAX_CHARS).collect();
    let cut = cut.trim_end();
    (!cut.is_empty()).then(|| cut.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_is_trimmed_on_one_line_and_empty_is_none() {
        assert_eq!(reason(Some("  License \r\n expired\t\0 ")), Some("License expired".to_owned()));
        assert_eq!(reason(Some(" \n\t ")), None);
        assert_eq!(reason(Some("")), None);
        assert_eq!(reason(None), None);
    }

    #[test]
    fn a_reason_keeps_at_most_500_characters() {
        let long = "é".repeat(600);
        assert_eq!(reason(Some(&long)).map(|r| r.chars().count()), Some(REASON_MAX_CHARS));
        assert_eq!(reason(Some(&format!("{} x", "a".repeat(499)))), Some("a".repeat(499)), "no trailing space");
    }
}
