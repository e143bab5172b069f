//! Request middleware: trailing-slash normalization, request ids, security headers, and the
//! access log with Prometheus metrics by route template.

use std::time::Instant;

use actix_web::{
    Error, HttpMessage,
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    http::{
        Uri,
        header::{self, HeaderName, HeaderValue},
    },
    middleware::Next,
    web,
};
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, RootSpanBuilder};

use crate::state::AppState;

/// The id of the request: the caller's `X-Request-Id` when it is sane, a fresh UUID otherwise.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

fn sane_request_id(value: &HeaderValue) -> Option<String> {
    let text = value.to_str().ok()?;
    let ok =
        !text.is_empty() && text.len() <= 64 && text.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    ok.then(|| text.to_owned())
}

/// Serves `/api/x` as `/api/x/`: the reference's paths end in a slash and clients send both.
pub async fn normalize_trailing_slash(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let path = req.path();
    let last_segment = path.rsplit('/').next().unwrap_or_default();
    if path.starts_with("/api/") && !path.ends_with('/') && !last_segment.contains('.') {
        let new_path = match req.uri().query() {
            Some(query) => format!("{path}/?{query}"),
            None => format!("{path}/"),
        };
        if let Ok(uri) = new_path.parse::<Uri>() {
            let head = req.head_mut();
            head.uri = uri;
            let uri = head.uri.clone();
            req.match_info_mut().get_mut().update(&uri);
        }
    }
    next.call(req).await
}

/// Gives every request an id, echoed in `X-Request-Id` and carried by its logs and audit rows.
pub async fn request_id(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id =
        req.headers().get(&REQUEST_ID).and_then(sane_request_id).unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    let mut res = next.call(req).await?;
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID, value);
    }
    Ok(res)
}

const STRICT_CSP: &str = "default-src 'none'; frame-ancestors 'none'";
/// The operations console: its own stylesheet and server-drawn images, forms posting only to
/// itself, no script at all.
const CONSOLE_CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; \
                           frame-ancestors 'none'; base-uri 'none'";
const DOCS_CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
                        script-src 'self' 'unsafe-inline'; frame-ancestors 'none'";

/// Security headers on every response; API responses (medical data) are never cached.
pub async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let docs = req.path().starts_with("/api/docs");
    let console = req.path().starts_with("/console");
    let production = req.app_data::<web::Data<AppState>>().is_some_and(|state| state.settings.is_production());
    let mut res = next.call(req).await?;
    let headers = res.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(
        HeaderName::from_static("permissions-policy"),
        HeaderValue::from_static("camera=(), microphone=(), geolocation=()"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(match (docs, console) {
            (true, _) => DOCS_CSP,
            (_, true) => CONSOLE_CSP,
            _ => STRICT_CSP,
        }),
    );
    if !docs && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if production {
        headers
            .insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    }
    Ok(res)
}

/// Counts and times every request by method, route template (never the raw path, so the
/// label set stays small) and status, and writes one access-log line.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let method = req.method().to_string();
    let res = next.call(req).await?;
    let elapsed = started.elapsed();
    let route = res.request().match_pattern().unwrap_or_else(|| "unmatched".to_owned());
    let status = res.status().as_u16();
    let labels = [("method", method), ("route", route), ("status", status.to_string())];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels).record(elapsed.as_secs_f64());
    let [(_, method), (_, route), _] = &labels;
    tracing::info!(
        http.method = %method,
        http.route = %route,
        http.status = status,
        elapsed_ms = elapsed.as_secs_f64() * 1000.0,
        "request completed"
    );
    Ok(res)
}

/// The request's path and its query with every value replaced by `…`: a query can carry a
/// signed link's signature (`records::links`), a search for a patient's name, a code; the span
/// (and so every log line inside it) keeps the parameter names only.
pub fn redacted_target(uri: &Uri) -> String {
    match uri.query() {
        None => uri.path().to_owned(),
        Some(query) => {
            let names: Vec<String> = url::form_urlencoded::parse(query.as_bytes())
                .map(|(name, _)| format!("{}=…", name.chars().filter(|c| !c.is_control()).take(40).collect::<String>()))
                .collect();
            format!("{}?{}", uri.path(), names.join("&"))
        }
    }
}

/// Request spans carry the request id and, once known, the user id (never names or tokens).
///
/// The span is built here rather than with tracing-actix-web's `root_span!`, which adds a
/// `request_id` of its own (a fresh UUID, not the one echoed in `X-Request-Id`): one request,
/// one id, the one the caller sees.
pub struct CareHubRootSpan;

impl RootSpanBuilder for CareHubRootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let request_id = request.extensions().get::<RequestId>().map(|id| id.0.clone()).unwrap_or_default();
        let method = request.method().as_str().to_owned();
        let route = request.match_pattern().unwrap_or_else(|| "default".to_owned());
        let user_agent = request.headers().get(header::USER_AGENT).and_then(|h| h.to_str().ok()).unwrap_or("");
        let connection = request.connection_info();
        let empty = tracing::field::Empty;
        tracing::info_span!(
            "HTTP request",
            http.method = %method,
            http.route = %route,
            http.flavor = ?request.version(),
            http.scheme = %connection.scheme(),
            http.host = %connection.host(),
            http.client_ip = %connection.realip_remote_addr().unwrap_or(""),
            http.user_agent = %user_agent,
            http.target = %redacted_target(request.uri()),
            http.status_code = empty,
            otel.name = %format!("{method} {route}"),
            otel.kind = "server",
            otel.status_code = empty,
            request_id = %request_id,
            user.id = empty,
            exception.message = empty,
            exception.details = empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_logged_target_keeps_the_query_names_and_never_their_values() {
        let uri: Uri = "/api/records/reports/3/download/?expires=1&user=7&login=ab&sig=SECRETSIG".parse().expect("uri");
        let target = redacted_target(&uri);
        assert_eq!(target, "/api/records/reports/3/download/?expires=…&user=…&login=…&sig=…");
        assert!(!target.contains("SECRETSIG"));
        let plain: Uri = "/api/hospitals/".parse().expect("uri");
        assert_eq!(redacted_target(&plain), "/api/hospitals/");
    }
}
