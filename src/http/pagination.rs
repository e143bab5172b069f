//! DRF page-number pagination: `?page=N&page_size=M` (20 by default, at most 100), answered as
//! `{count, next, previous, results}` with absolute `next`/`previous` URLs.

use actix_web::{FromRequest, HttpRequest, dev::Payload};
use serde::Serialize;
use url::Url;
use utoipa::{IntoParams, ToSchema};

use super::error::ApiError;

pub const DEFAULT_PAGE_SIZE: i64 = 20;
pub const MAX_PAGE_SIZE: i64 = 100;

/// The page a list request asked for.
#[derive(Debug, Clone)]
pub struct PageRequest {
    pub page: i64,
    pub page_size: i64,
    url: Url,
}

/// Query parameters of every list (for the OpenAPI document).
#[derive(Debug, serde::Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// A page number within the paginated result set; past the end (or not a number) is a 404.
    #[param(minimum = 1)]
    pub page: Option<i64>,
    /// Results per page: 20 by default, at most 100 (larger is served as 100). As in DRF, a value
    /// that is not a positive number falls back to the default rather than failing.
    #[param(value_type = Option<serde_json::Value>)]
    pub page_size: Option<i64>,
}

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub count: i64,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<T>,
}

impl PageRequest {
    pub fn limit(&self) -> i64 {
        self.page_size
    }

    pub fn offset(&self) -> i64 {
        (self.page - 1).saturating_mul(self.page_size)
    }

    fn link(&self, page: i64) -> String {
        let mut url = self.url.clone();
        let kept: Vec<(String, String)> =
            url.query_pairs().filter(|(key, _)| key != "page").map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        {
            let mut pairs = url.query_pairs_mut();
            pairs.clear();
            pairs.extend_pairs(kept);
            if page > 1 {
                pairs.append_pair("page", &page.to_string());
            }
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        url.to_string()
    }

    /// Wraps a page of results; a page past the end (other than the first) is DRF's 404.
    pub fn respond<T>(&self, count: i64, results: Vec<T>) -> Result<Page<T>, ApiError> {
        if self.page > 1 && self.offset() >= count {
            return Err(ApiError::InvalidPage);
        }
        let has_next = self.offset() + self.page_size < count;
        Ok(Page {
            count,
            next: has_next.then(|| self.link(self.page + 1)),
            previous: (self.page > 1).then(|| self.link(self.page - 1)),
            results,
        })
    }
}

fn parse(req: &HttpRequest) -> Result<PageRequest, ApiError> {
    let info = req.connection_info();
    let raw = format!("{}://{}{}", info.scheme(), info.host(), req.uri());
    let url = Url::parse(&raw).map_err(|_| ApiError::Malformed("bad request URL".into()))?;
    let param = |name: &str| url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned());
    // An empty `?page=` is refused like any other non-number (the document types it integer).
    let page = match param("page").as_deref() {
        None => 1,
        Some(raw) => raw.parse::<i64>().ok().filter(|p| *p >= 1).ok_or(ApiError::InvalidPage)?,
    };
    // As DRF: a bad page_size falls back to the default rather than failing.
    let page_size = param("page_size")
        .and_then(|raw| raw.parse::<i64>().ok())
        .filter(|size| *size >= 1)
        .map_or(DEFAULT_PAGE_SIZE, |size| size.min(MAX_PAGE_SIZE));
    drop(info);
    Ok(PageRequest { page, page_size, url })
}

impl FromRequest for PageRequest {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(parse(req))
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    #[test]
    fn links_keep_filters_and_replace_the_page() {
        let req =
            TestRequest::get().uri("/api/accounts/users/?user_type=PATIENT&page=2&page_size=10").to_http_request();
        let page = parse(&req).expect("valid");
        assert_eq!((page.page, page.page_size, page.offset()), (2, 10, 10));
        let body = page.respond(35, vec![1]).expect("in range");
        assert_eq!(
            body.next.as_deref(),
            Some("http://localhost:8080/api/accounts/users/?user_type=PATIENT&page_size=10&page=3")
        );
        assert_eq!(
            body.previous.as_deref(),
            Some("http://localhost:8080/api/accounts/users/?user_type=PATIENT&page_size=10")
        );
    }

    #[test]
    fn bad_pages_are_refused_and_sizes_clamped() {
        let req = TestRequest::get().uri("/x/?page=0").to_http_request();
        assert!(matches!(parse(&req), Err(ApiError::InvalidPage)));
        let req = TestRequest::get().uri("/x/?page=abc").to_http_request();
        assert!(matches!(parse(&req), Err(ApiError::InvalidPage)));
        let req = TestRequest::get().uri("/x/?page=").to_http_request();
        assert!(matches!(parse(&req), Err(ApiError::InvalidPage)));
        let req = TestRequest::get().uri("/x/?page_size=5000").to_http_request();
        assert_eq!(parse(&req).expect("valid").page_size, MAX_PAGE_SIZE);
        let req = TestRequest::get().uri("/x/?page=3").to_http_request();
        assert!(matches!(parse(&req).expect("parsed").respond(10, Vec::<i32>::new()), Err(ApiError::InvalidPage)));
    }
}
