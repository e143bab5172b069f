//! The audit list's filters as the form sends them (`?actor=&action=&target=&since=&until=`),
//! read strictly: a value that means nothing (a time that is no time, a target without its
//! type) is a 400 naming the field, never silently dropped, so an operator never reads an
//! unfiltered trail believing it filtered.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::Deserialize;

use crate::errors::FieldErrors;

/// The query string, every field as typed.
#[derive(Debug, Default, Deserialize)]
pub struct Params {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
    pub page: Option<String>,
    pub flash: Option<String>,
}

/// Whose rows: anyone's, one user id, or the account of a username.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    Anyone,
    Id(i64),
    Named(String),
}

/// The filters, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub actor: Actor,
    pub action: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

impl Params {
    /// The filters, or every field that means nothing.
    pub fn filter(&self) -> Result<Filter, FieldErrors> {
        let mut errors = FieldErrors::new();
        let actor = match given(self.actor.as_deref()) {
            None => Actor::Anyone,
            Some(text) if text.bytes().all(|b| b.is_ascii_digit()) => match text.parse() {
                Ok(id) => Actor::Id(id),
                Err(_) => {
                    errors.add("actor", "This user id is too large.");
                    Actor::Anyone
                }
            },
            Some(text) if text.chars().count() > 150 => {
                errors.add("actor", "A username has at most 150 characters.");
                Actor::Anyone
            }
            Some(text) => Actor::Named(text.to_owned()),
        };
        let action = given(self.action.as_deref()).map(str::to_owned);
        if action.as_deref().is_some_and(|a| a.chars().count() > 100) {
            errors.add("action", "Ensure this field has no more than 100 characters.");
        }
        let (target_type, target_id) = match given(self.target.as_deref()).map(|t| t.split_once(':').unwrap_or((t, "")))
        {
            None => (None, None),
            Some((kind, id)) => {
                let (kind, id) = (kind.trim(), id.trim());
                if kind.is_empty() || kind.chars().count() > 50 {
                    errors.add("target", "Give the target's type (e.g. hospital), optionally with an id: hospital:12.");
                }
                if id.chars().count() > 100 {
                    errors.add("target", "A target id has at most 100 characters.");
                }
                (Some(kind.to_owned()), Some(id.to_owned()).filter(|id| !id.is_empty()))
            }
        };
        let since = time(&mut errors, "since", self.since.as_deref());
        let until = time(&mut errors, "until", self.until.as_deref());
        errors.into_result()?;
        Ok(Filter { actor, action, target_type, target_id, since, until })
    }

    /// The filters as the page's links carry them on (the pager's other parameters).
    pub fn kept(&self) -> Vec<(&'static str, String)> {
        let fields = [
            ("actor", &self.actor),
            ("action", &self.action),
            ("target", &self.target),
            ("since", &self.since),
            ("until", &self.until),
        ];
        fields.into_iter().map(|(name, value)| (name, value.as_deref().unwrap_or("").trim().to_owned())).collect()
    }
}

fn given(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

fn time(errors: &mut FieldErrors, field: &str, value: Option<&str>) -> Option<DateTime<Utc>> {
    let text = given(value)?;
    let parsed = parse_time(text);
    if parsed.is_none() {
        errors.add(
            field,
            "Enter a date and time in UTC as 2026-12-09T14:30, 2026-12-09T14:30:00, 2026-12-09, or RFC 3339.",
        );
    }
    parsed
}

/// A time as a `datetime-local` or `date` input sends it (read as UTC), or RFC 3339 with its
/// own offset.
pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(at) = NaiveDateTime::parse_from_str(text, format) {
            return Some(at.and_utc());
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok().and_then(|day| day.and_hms_opt(0, 0, 0)).map(|at| at.and_utc())
}

/// A time as a `datetime-local` input shows it (UTC, to the second).
pub fn input_value(at: Option<DateTime<Utc>>) -> String {
    at.map(|at| at.format("%Y-%m-%dT%H:%M:%S").to_string()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        serde_urlencoded::from_str(&serde_urlencoded::to_string(pairs).expect("query")).expect("params")
    }

    #[test]
    fn times_are_read_from_the_inputs_as_utc_and_in_rfc_3339() {
        let at = |text| parse_time(text).map(|t| t.to_rfc3339());
        assert_eq!(at("2026-12-09T14:30").as_deref(), Some("2026-12-09T14:30:00+00:00"));
        assert_eq!(at("2026-12-09T14:30:05").as_deref(), Some("2026-12-09T14:30:05+00:00"));
        assert_eq!(at("2026-12-09").as_deref(), Some("2026-12-09T00:00:00+00:00"));
        assert_eq!(at("2026-12-09T14:30:00+05:00").as_deref(), Some("2026-12-09T09:30:00+00:00"));
        for bad in ["yesterday", "2026-13-01", "2026-12-09 14:30:00 PST", "14:30"] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn targets_take_a_type_and_optionally_an_id() {
        let filter = params(&[("target", " hospital:12 ")]).filter().expect("filter");
        assert_eq!((filter.target_type.as_deref(), filter.target_id.as_deref()), (Some("hospital"), Some("12")));
        let filter = params(&[("target", "user")]).filter().expect("filter");
        assert_eq!((filter.target_type.as_deref(), filter.target_id), (Some("user"), None));
        assert!(params(&[("target", ":12")]).filter().is_err());
    }

    #[test]
    fn every_meaningless_field_is_named_and_empty_ones_mean_no_filter() {
        let errors = params(&[("since", "soon"), ("until", "2026-12-09"), ("actor", &"x".repeat(151))])
            .filter()
            .expect_err("refused");
        assert!(errors.contains("since") && errors.contains("actor") && !errors.contains("until"), "{errors:?}");
        let none = params(&[("actor", ""), ("action", " "), ("since", "")]).filter().expect("no filter");
        assert_eq!(none.actor, Actor::Anyone);
        assert_eq!((none.action, none.since), (None, None));
        assert_eq!(params(&[("actor", "42")]).filter().expect("id").actor, Actor::Id(42));
        assert_eq!(params(&[("actor", "Admin")]).filter().expect("name").actor, Actor::Named("Admin".into()));
    }
}
