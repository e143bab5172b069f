//! The building blocks every context's routes use, below the contexts: `resource()` (a path and
//! its methods, with DRF's JSON 405 and the `Allow` header for the rest), the record of every
//! served route, and the JSON 404. Contexts import this; `http/mod.rs` imports the
//! contexts to mount them; nothing here refers to a context.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::{LazyLock, Mutex},
};

use actix_web::{
    FromRequest, Handler, HttpRequest, HttpResponse, Responder, ResponseError as _,
    dev::{AppService, HttpServiceFactory},
    http::header,
    web,
};

use super::error::ApiError;

/// DRF's 404 for any path nothing serves.
pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound)
}

/// Every (path, method) this process serves, recorded as the routes are mounted: the source of
/// the `Allow` header of a 405 and of the tests that check the OpenAPI document against the
/// router (so a route can be neither undocumented nor forgotten by a test).
static SERVED: LazyLock<Mutex<BTreeMap<&'static str, BTreeSet<&'static str>>>> = LazyLock::new(Mutex::default);

/// The routes mounted so far (every app builds the same set), sorted by path then method.
pub fn served_routes() -> Vec<(&'static str, &'static str)> {
    let served = SERVED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    served.iter().flat_map(|(path, methods)| methods.iter().map(|m| (*path, *m))).collect()
}

/// One path and the handlers of its methods. Its unserved methods get DRF's JSON 405 with the
/// `Allow` header RFC 9110 requires (instead of falling through to 404).
pub struct Endpoint {
    path: &'static str,
    methods: BTreeSet<&'static str>,
    resource: actix_web::Resource,
}

/// Starts an endpoint at `path`; add its methods with `.get(handler)`, `.post(handler)`, ...
pub fn resource(path: &'static str) -> Endpoint {
    Endpoint { path, methods: BTreeSet::new(), resource: web::resource(path) }
}

macro_rules! method {
    ($name:ident, $method:ident) => {
        #[doc = concat!("Serves `", stringify!($method), "` with `handler`.")]
        #[must_use]
        pub fn $name<F, Args>(mut self, handler: F) -> Self
        where
            F: Handler<Args>,
            Args: FromRequest + 'static,
            F::Output: Responder + 'static,
        {
            self.methods.insert(stringify!($method));
            self.resource = self.resource.route(web::$name().to(handler));
            self
        }
    };
}

impl Endpoint {
    /// Serves `GET` with `handler`, and `HEAD` with it too (RFC 9110: a server that serves GET
    /// serves HEAD; actix sends the head without the body). Only GET is recorded as served.
    #[must_use]
    pub fn get<F, Args>(mut self, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.methods.insert("GET");
        self.resource = self.resource.route(web::get().to(handler.clone())).route(web::head().to(handler));
        self
    }
    method!(post, POST);
    method!(put, PUT);
    method!(patch, PATCH);
    method!(delete, DELETE);
}

impl HttpServiceFactory for Endpoint {
    fn register(self, config: &mut AppService) {
        {
            let mut served = SERVED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            served.entry(self.path).or_default().extend(self.methods.iter().copied());
        }
        let mut allow: Vec<&str> = self.methods.iter().copied().collect();
        if self.methods.contains("GET") {
            allow.push("HEAD");
        }
        let allow = allow.join(", ");
        let resource = self.resource.default_service(web::to(move |req: HttpRequest| {
            let allow = allow.clone();
            async move { method_not_allowed(&req, &allow) }
        }));
        resource.register(config);
    }
}

fn method_not_allowed(req: &HttpRequest, allow: &str) -> HttpResponse {
    let mut response = ApiError::MethodNotAllowed(req.method().to_string()).error_response();
    if let Ok(value) = header::HeaderValue::from_str(allow) {
        response.headers_mut().insert(header::ALLOW, value);
    }
    response
}
