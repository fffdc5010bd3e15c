//! The registry explorer: a page at `/` and `/explore/…` that reads the public API, as any
//! client does. Its files are built from `explorer/` (TypeScript, typed by a client generated
//! from `openapi/openapi.json`) into `explorer/dist/`, which is committed and embedded here, so
//! that `cargo build` needs neither Node.js nor a network. `scripts/explorer.sh` rebuilds it and
//! tests it in a browser.

use actix_web::{web, HttpResponse};

const PAGE: &str = include_str!("../../explorer/index.html");
const SCRIPT: &[u8] = include_bytes!("../../explorer/dist/explorer.js");
const STYLE: &[u8] = include_bytes!("../../explorer/dist/explorer.css");

/// What the page may load and talk to: its own origin only (its charts set inline styles
/// through the DOM, which `style-src 'self'` allows; no inline script or style element).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; \
     base-uri 'none'; frame-ancestors 'none'";

/// The addresses of the page's views (the page routes them in the browser).
const VIEWS: [&str; 5] = [
    "/",
    "/explore",
    "/explore/countries",
    "/explore/programs",
    "/explore/institutes/{reference}",
];
const SCRIPT_PATH: &str = "/explore/assets/explorer.js";
const STYLE_PATH: &str = "/explore/assets/explorer.css";

/// Every address served here (each answers GET and HEAD only).
pub fn paths() -> impl Iterator<Item = &'static str> {
    VIEWS.into_iter().chain([SCRIPT_PATH, STYLE_PATH])
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    for view in VIEWS {
        cfg.route(view, web::get().to(page));
    }
    cfg.route("/explore/", web::get().to(page))
        .route(SCRIPT_PATH, web::get().to(script))
        .route(STYLE_PATH, web::get().to(style));
}

async fn page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("Content-Security-Policy", CONTENT_SECURITY_POLICY))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Referrer-Policy", "same-origin"))
        .body(PAGE)
}

async fn script() -> HttpResponse {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

async fn style() -> HttpResponse {
    asset("text/css; charset=utf-8", STYLE)
}

fn asset(content_type: &'static str, bytes: &'static [u8]) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(bytes)
}
