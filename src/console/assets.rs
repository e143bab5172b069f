//! The console's one asset, its stylesheet: compiled into the binary and served under a name
//! that carries its content hash (`console-<hash>.css`), so it is cached for a year and a new
//! build's pages ask for the new file. There is no script.

use std::sync::LazyLock;

use actix_web::{HttpResponse, http::header, web};
use sha2::{Digest as _, Sha256};

const STYLESHEET: &str = include_str!("assets/console.css");

static STYLESHEET_NAME: LazyLock<String> = LazyLock::new(|| {
    let digest = Sha256::digest(STYLESHEET.as_bytes());
    format!("console-{}.css", &hex::encode(digest)[..16])
});

/// Where pages link the stylesheet.
pub fn stylesheet_path() -> String {
    format!("/console/assets/{}", *STYLESHEET_NAME)
}

/// `GET /console/assets/{name}`: the asset of that exact name, or 404.
pub async fn asset(name: web::Path<String>) -> HttpResponse {
    if name.as_str() != STYLESHEET_NAME.as_str() {
        return HttpResponse::NotFound().content_type("text/plain; charset=utf-8").body("Not found.");
    }
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .body(STYLESHEET)
}
