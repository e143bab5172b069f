//! A doctor's weekly timings: weekday → list of `HH:MM-HH:MM` ranges, checked and normalized.

use std::collections::BTreeMap;

use chrono::NaiveTime;

const WEEKDAYS: [&str; 7] = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];

/// Validates and normalizes weekly timings: `{"monday": ["09:00-13:00", "14:00-17:00"], ...}`;
/// weekday names are case-insensitive, ranges must be well-formed, start before end, and not
/// overlap within a day.
pub fn parse_timings(raw: &serde_json::Value) -> Result<serde_json::Value, String> {
    let Some(days) = raw.as_object() else {
        return Err("Must be an object of weekday → list of \"HH:MM-HH:MM\" ranges.".into());
    };
    let mut normalized = BTreeMap::new();
    for (day, ranges) in days {
        let key = day.to_ascii_lowercase();
        if !WEEKDAYS.contains(&key.as_str()) {
            return Err(format!("\"{day}\" is not a weekday."));
        }
        let Some(list) = ranges.as_array() else {
            return Err(format!("{key}: must be a list of \"HH:MM-HH:MM\" ranges."));
        };
        let mut parsed: Vec<(NaiveTime, NaiveTime, String)> = Vec::with_capacity(list.len());
        for range in list {
            let text = range.as_str().unwrap_or_default().trim();
            let bad = || format!("{key}: \"{text}\" is not a \"HH:MM-HH:MM\" range.");
            let (start, end) = text.split_once('-').ok_or_else(bad)?;
            let start = NaiveTime::parse_from_str(start.trim(), "%H:%M").map_err(|_| bad())?;
            let end = NaiveTime::parse_from_str(end.trim(), "%H:%M").map_err(|_| bad())?;
            if start >= end {
                return Err(format!("{key}: \"{text}\" ends before it starts."));
            }
            parsed.push((start, end, format!("{}-{}", start.format("%H:%M"), end.format("%H:%M"))));
        }
        parsed.sort();
        if parsed.windows(2).any(|pair| pair[1].0 < pair[0].1) {
            return Err(format!("{key}: ranges overlap."));
        }
        if normalized.insert(key.clone(), parsed.into_iter().map(|(_, _, t)| t).collect::<Vec<_>>()).is_some() {
            return Err(format!("{key} is given twice."));
        }
    }
    serde_json::to_value(normalized).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::parse_timings;

    #[test]
    fn timings_are_validated_and_normalized() {
        let ok = parse_timings(&json!({"Monday": ["14:00-17:00", "09:00-13:00"], "friday": []})).expect("valid");
        assert_eq!(ok, json!({"friday": [], "monday": ["09:00-13:00", "14:00-17:00"]}));
        assert!(parse_timings(&json!({"funday": []})).is_err());
        assert!(parse_timings(&json!({"monday": ["9-5"]})).is_err());
        assert!(parse_timings(&json!({"monday": ["17:00-09:00"]})).is_err());
        assert!(parse_timings(&json!({"monday": ["09:00-12:00", "11:00-13:00"]})).is_err());
        assert!(parse_timings(&json!(["monday"])).is_err());
    }
}
