//! An id field read as DRF's `IntegerField` reads it: `5`, `5.0` and `"5"` are all 5 (a JSON
//! number with no fraction is an integer, in JSON Schema too); anything else names the field.

use std::fmt;

use serde::{Deserializer, de};

struct Id;

impl<'de> de::Visitor<'de> for Id {
    type Value = Option<i64>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a valid integer")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        i64::try_from(v).map(Some).map_err(|_| E::custom("A valid integer is required."))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        // exact: an integral float within i64's range converts without loss
        #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
        if v.fract() == 0.0 && v >= i64::MIN as f64 && v < i64::MAX as f64 {
            return Ok(Some(v as i64));
        }
        Err(E::custom("A valid integer is required."))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        let v = v.trim();
        let digits = v.find('.').map_or(v, |dot| if v[dot + 1..].bytes().all(|b| b == b'0') { &v[..dot] } else { v });
        digits.parse().map(Some).map_err(|_| E::custom("A valid integer is required."))
    }
}

/// For `#[serde(default, deserialize_with = "id::optional")]` on an `Option<i64>`.
pub fn optional<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    deserializer.deserialize_option(Id)
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    struct Body {
        #[serde(default, deserialize_with = "super::optional")]
        patient: Option<i64>,
    }

    fn read(value: serde_json::Value) -> Result<Option<i64>, String> {
        serde_json::from_value::<Body>(value).map(|b| b.patient).map_err(|e| e.to_string())
    }

    #[test]
    fn integers_integral_numbers_and_digit_strings_are_ids() {
        assert_eq!(read(json!({ "patient": 5 })), Ok(Some(5)));
        assert_eq!(read(json!({ "patient": -468_995.0 })), Ok(Some(-468_995)));
        assert_eq!(read(json!({ "patient": " 12 " })), Ok(Some(12)));
        assert_eq!(read(json!({ "patient": "12.00" })), Ok(Some(12)));
        assert_eq!(read(json!({ "patient": null })), Ok(None));
        assert_eq!(read(json!({})), Ok(None));
    }

    #[test]
    fn fractions_and_words_are_refused() {
        assert!(read(json!({ "patient": 1.5 })).is_err());
        assert!(read(json!({ "patient": "seven" })).is_err());
        assert!(read(json!({ "patient": true })).is_err());
        assert!(read(json!({ "patient": 1e300 })).is_err());
    }

    #[test]
    fn a_form_field_is_read_too() {
        let body: Body = serde_urlencoded::from_str("patient=42").expect("form");
        assert_eq!(body.patient, Some(42));
    }
}
