//! NUL characters (`\u0000`) are refused at the edge, once, for every JSON or form body and every
//! query string: Postgres cannot store them in text, so one reaching a handler would be a 500
//! (and a handler that forgot to check would be a way to make the service fail at will). The
//! answer is DRF's: a 400 naming the field, with its "Null characters are not allowed." message.

use actix_web::{
    Error, HttpMessage as _, ResponseError as _,
    body::{BoxBody, MessageBody},
    dev::{Payload, ServiceRequest, ServiceResponse},
    middleware::Next,
    web,
};
use futures::StreamExt as _;
use serde_json::Value;

use super::{
    error::ApiError,
    extract::{BodyKind, body_kind},
};
use crate::{errors::FieldErrors, state::AppState};

/// DRF's message for a NUL character in a field.
pub const NUL_MESSAGE: &str = "Null characters are not allowed.";

/// The first field of a query string or form body whose name or value holds a NUL.
fn nul_in_pairs(encoded: &[u8]) -> Option<String> {
    url::form_urlencoded::parse(encoded)
        .find(|(key, value)| key.contains('\0') || value.contains('\0'))
        .map(|(key, _)| key.replace('\0', ""))
}

/// The path (`medicines.0.name`) of the first JSON string or key holding a NUL.
fn nul_in_json(value: &Value, path: &mut Vec<String>) -> Option<String> {
    match value {
        Value::String(text) if text.contains('\0') => Some(path_name(path)),
        Value::Array(items) => items.iter().enumerate().find_map(|(index, item)| {
            path.push(index.to_string());
            let found = nul_in_json(item, path);
            path.pop();
            found
        }),
        Value::Object(map) => map.iter().find_map(|(key, item)| {
            path.push(key.replace('\0', ""));
            let found = if key.contains('\0') { Some(path_name(path)) } else { nul_in_json(item, path) };
            path.pop();
            found
        }),
        _ => None,
    }
}

fn path_name(path: &[String]) -> String {
    if path.is_empty() { "non_field_errors".to_owned() } else { path.join(".") }
}

/// JSON can only carry a NUL as the escape `\u0000`: parse (and walk) only bodies holding it.
/// A body holding it that does not parse as a whole (a lone surrogate or a huge number in a field
/// the handler would ignore, nesting past serde's limit) is refused too: the handler's typed parse
/// might still accept it, NUL and all.
fn nul_in_json_body(bytes: &[u8]) -> Option<String> {
    if !bytes.windows(6).any(|w| w == b"\\u0000") {
        return None;
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(value) => nul_in_json(&value, &mut Vec::new()),
        Err(_) => Some("non_field_errors".to_owned()),
    }
}

fn refuse(req: ServiceRequest, error: &ApiError) -> ServiceResponse<BoxBody> {
    req.into_response(error.error_response())
}

/// The middleware: reads a JSON or form body (up to the body limit; a larger one is the 413 it
/// would be anyway), checks it and the query string, and hands the body on unchanged.
pub async fn refuse_nul(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    if let Some(field) = nul_in_pairs(req.query_string().as_bytes()) {
        return Ok(refuse(req, &ApiError::Validation(FieldErrors::single(&field, NUL_MESSAGE))));
    }
    // Another media type (multipart, ...) is not read here: the handler's extractor refuses or
    // streams it.
    let Ok(kind) = body_kind(req.headers()) else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let limit = req.app_data::<web::Data<AppState>>().map_or(64 * 1024, |state| state.settings.http.body_limit_bytes);
    let mut payload = req.take_payload();
    let mut bytes = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let Ok(chunk) = chunk else {
            return Ok(refuse(req, &ApiError::Malformed("could not read the body".into())));
        };
        if bytes.len() + chunk.len() > limit {
            return Ok(refuse(req, &ApiError::PayloadTooLarge));
        }
        bytes.extend_from_slice(&chunk);
    }
    let bytes = bytes.freeze();
    let found = match kind {
        BodyKind::Json => nul_in_json_body(&bytes),
        BodyKind::Form => nul_in_pairs(&bytes),
    };
    if let Some(field) = found {
        return Ok(refuse(req, &ApiError::Validation(FieldErrors::single(&field, NUL_MESSAGE))));
    }
    req.set_payload(Payload::from(bytes));
    Ok(next.call(req).await?.map_into_boxed_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nul_is_found_in_nested_json_and_named_by_its_path() {
        let body = br#"{"name": "ok", "medicines": [{"name": "x"}, {"dosage": "5\u0000mg"}]}"#;
        assert_eq!(nul_in_json_body(body).as_deref(), Some("medicines.1.dosage"));
        assert_eq!(nul_in_json_body(br#"{"a\u0000": 1}"#).as_deref(), Some("a"));
        assert_eq!(nul_in_json_body(br#""\u0000""#).as_deref(), Some("non_field_errors"));
    }

    #[test]
    fn a_body_with_a_nul_that_does_not_parse_as_a_whole_is_refused() {
        for body in [
            br#"{"username": "a\u0000", "z": "\udc00"}"#.to_vec(),
            br#"{"username": "a\u0000", "z": 1e999}"#.to_vec(),
            [b"{\"username\": \"a\\u0000\", \"z\": ".to_vec(), b"[".repeat(200), b"]".repeat(200), b"}".to_vec()]
                .concat(),
        ] {
            assert_eq!(
                nul_in_json_body(&body).as_deref(),
                Some("non_field_errors"),
                "{}",
                String::from_utf8_lossy(&body)
            );
        }
    }

    #[test]
    fn an_escaped_backslash_before_u0000_is_not_a_nul() {
        assert_eq!(nul_in_json_body(br#"{"note": "C:\\u0000"}"#), None);
        assert_eq!(nul_in_json_body(br#"{"note": "plain"}"#), None);
    }

    #[test]
    fn form_and_query_pairs_name_the_field() {
        assert_eq!(nul_in_pairs(b"q=a&lat=1%002").as_deref(), Some("lat"));
        assert_eq!(nul_in_pairs(b"q=fine&page=2"), None);
    }
}
