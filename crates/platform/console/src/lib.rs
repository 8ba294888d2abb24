//! The webhook console: the web pages at `/console` where integrators and
//! administrators manage their webhooks, read the delivery log and send
//! deliveries again, in French.
//!
//! It owns the static assets (HTML, CSS and JavaScript modules, embedded in
//! the binary: no Node toolchain, nothing read from disk at run time), the
//! routes serving them with their security headers (a strict
//! `Content-Security-Policy`: no inline script or style), the redirect of
//! `/` to the console, and the issue of the browser session's CSRF cookie.
//! It owns no data and no business rule: the page's script only calls the
//! REST API (`/api/v1/...`), with the `access_token` cookie and the
//! double-submit CSRF header that `hub-platform-http` checks.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::DefaultHeaders;
use actix_web::{HttpRequest, HttpResponse, web};
use hub_platform_http::Problem;
use hub_platform_http::auth::{CSRF_COOKIE, csrf_cookie};
use ring::rand::{SecureRandom, SystemRandom};

/// Where the console lives.
pub const PATH: &str = "/console/";

/// The console's policy: only this origin's scripts, styles, images and API;
/// no plugin, no framing, no `<base>` rewriting, forms only to this origin.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// One embedded file.
struct Asset {
    /// Under `/console/assets/`.
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const JS: &str = "text/javascript; charset=utf-8";

/// An embedded file of `assets/`.
macro_rules! asset {
    ($name:literal, $content_type:expr) => {
        Asset {
            name: $name,
            content_type: $content_type,
            body: include_bytes!(concat!("../assets/", $name)),
        }
    };
}

/// Every file the page loads besides itself.
const ASSETS: &[Asset] = &[
    asset!("console.css", "text/css; charset=utf-8"),
    asset!("favicon.svg", "image/svg+xml"),
    asset!("js/app.js", JS),
    asset!("js/api.js", JS),
    asset!("js/dom.js", JS),
    asset!("js/chart.js", JS),
    asset!("js/pages/connexion.js", JS),
    asset!("js/pages/webhooks.js", JS),
    asset!("js/pages/formulaire.js", JS),
    asset!("js/pages/webhook.js", JS),
    asset!("js/pages/evenements.js", JS),
];

const INDEX: &str = include_str!("../assets/index.html");

/// Registers `/`, `/console` and everything under `/console/`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home))
        .route("/console", web::get().to(home))
        .service(
            web::scope("/console")
                .wrap(security_headers())
                .route("/", web::get().to(index))
                .route("/assets/{name:.*}", web::get().to(asset)),
        );
}

/// The headers of every console answer.
fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::REFERRER_POLICY, "no-referrer"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        // The binary's assets change with the binary: revalidate each time.
        .add((header::CACHE_CONTROL, "no-cache"))
}

/// `/` and `/console`: to the console, which asks to sign in when needed.
async fn home() -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, PATH))
        .finish()
}

/// The page; gives the browser a CSRF token when it has none that could be ours.
async fn index(req: HttpRequest) -> Result<HttpResponse, Problem> {
    let mut response = HttpResponse::Ok();
    response.insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"));
    let has_token = req
        .cookie(CSRF_COOKIE)
        .is_some_and(|cookie| is_token(cookie.value()));
    if !has_token {
        response.cookie(csrf_cookie(&new_token()?));
    }
    Ok(response.body(INDEX))
}

/// 32 random bytes, hex.
fn new_token() -> Result<String, Problem> {
    let mut bytes = [0u8; 32];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| Problem::internal_message("the system random generator failed"))?;
    Ok(hex::encode(bytes))
}

/// Whether `value` has the shape of a token [`new_token`] makes.
fn is_token(value: &str) -> bool {
    value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit())
}

async fn asset(path: web::Path<String>) -> HttpResponse {
    let name = path.into_inner();
    match ASSETS.iter().find(|asset| asset.name == name) {
        Some(asset) => HttpResponse::Ok()
            .insert_header((
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            ))
            .body(asset.body),
        None => actix_web::ResponseError::error_response(&Problem::new(
            StatusCode::NOT_FOUND,
            "route_not_found",
            format!("no console asset {name}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::{App, test};

    async fn get(
        uri: &str,
        cookie: Option<&str>,
    ) -> (u16, actix_web::http::header::HeaderMap, String) {
        let app = test::init_service(App::new().configure(configure)).await;
        let mut request = test::TestRequest::get().uri(uri);
        if let Some(value) = cookie {
            request = request.cookie(actix_web::cookie::Cookie::new(CSRF_COOKIE, value));
        }
        let response = test::call_service(&app, request.to_request()).await;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = String::from_utf8_lossy(&test::read_body(response).await).into_owned();
        (status, headers, body)
    }

    fn header<'a>(headers: &'a actix_web::http::header::HeaderMap, name: &str) -> &'a str {
        headers
            .get(name)
            .map(|value| value.to_str().unwrap())
            .unwrap_or_default()
    }

    #[actix_web::test]
    async fn the_root_and_the_bare_path_lead_to_the_console() {
        for uri in ["/", "/console"] {
            let (status, headers, _) = get(uri, None).await;
            assert_eq!(status, 303, "{uri}");
            assert_eq!(header(&headers, "location"), PATH, "{uri}");
        }
    }

    #[actix_web::test]
    async fn the_page_is_french_loads_only_module_files_and_carries_a_strict_policy() {
        let (status, headers, body) = get(PATH, None).await;
        assert_eq!(status, 200);
        assert_eq!(header(&headers, "content-type"), "text/html; charset=utf-8");
        assert_eq!(
            header(&headers, "content-security-policy"),
            CONTENT_SECURITY_POLICY
        );
        assert!(CONTENT_SECURITY_POLICY.starts_with("default-src 'self'"));
        assert!(!CONTENT_SECURITY_POLICY.contains("unsafe"));
        assert_eq!(header(&headers, "x-content-type-options"), "nosniff");
        assert_eq!(header(&headers, "x-frame-options"), "DENY");
        assert!(body.contains("<html lang=\"fr\">"), "{body}");
        // No inline script or style for the policy to have to allow.
        assert!(!body.contains("<script>"), "inline script");
        assert!(!body.contains("<style"), "inline style");
        assert!(!body.contains(" style="), "inline style attribute");
        assert!(
            body.contains("<script type=\"module\" src=\"/console/assets/js/app.js\"></script>"),
            "{body}"
        );
    }

    #[actix_web::test]
    async fn a_browser_without_a_token_gets_one_and_keeps_its_own() {
        let (_, headers, _) = get(PATH, None).await;
        let set = header(&headers, "set-cookie");
        let cookie = actix_web::cookie::Cookie::parse(set.to_owned()).unwrap();
        assert_eq!(cookie.name(), CSRF_COOKIE);
        assert!(is_token(cookie.value()), "{set}");
        assert!(
            set.contains("Secure") && set.contains("SameSite=Strict"),
            "{set}"
        );
        assert!(!set.contains("HttpOnly"), "the page must read it: {set}");

        let (_, again, _) = get(PATH, None).await;
        assert_ne!(header(&again, "set-cookie"), set, "a fresh token each time");

        let own = "ab".repeat(32);
        let (_, kept, _) = get(PATH, Some(&own)).await;
        assert!(kept.get("set-cookie").is_none(), "its token is kept");

        let (_, replaced, _) = get(PATH, Some("planted")).await;
        assert!(
            header(&replaced, "set-cookie").starts_with(CSRF_COOKIE),
            "a token we could not have made is replaced"
        );
    }

    #[actix_web::test]
    async fn every_asset_is_served_with_its_type_and_unknown_ones_are_404() {
        for asset in ASSETS {
            let (status, headers, body) =
                get(&format!("/console/assets/{}", asset.name), None).await;
            assert_eq!(status, 200, "{}", asset.name);
            assert_eq!(header(&headers, "content-type"), asset.content_type);
            assert_eq!(
                header(&headers, "content-security-policy"),
                CONTENT_SECURITY_POLICY
            );
            assert!(!body.is_empty(), "{}", asset.name);
        }
        let (status, headers, body) = get("/console/assets/../Cargo.toml", None).await;
        assert_eq!(status, 404, "{body}");
        assert_eq!(header(&headers, "content-type"), "application/problem+json");
    }

    #[actix_web::test]
    async fn every_module_the_scripts_import_is_embedded() {
        // A module missing from ASSETS would only fail in the browser.
        for asset in ASSETS.iter().filter(|asset| asset.content_type == JS) {
            let text = std::str::from_utf8(asset.body).unwrap();
            let dir = asset.name.rsplit_once('/').map_or("", |(dir, _)| dir);
            for line in text.lines().filter(|line| line.starts_with("import ")) {
                let target = line
                    .rsplit_once(" from \"")
                    .unwrap()
                    .1
                    .trim_end_matches("\";");
                let resolved = resolve(dir, target);
                assert!(
                    ASSETS.iter().any(|a| a.name == resolved),
                    "{}: imports {target} ({resolved}), not embedded",
                    asset.name
                );
            }
        }
    }

    /// `target` (`./x.js`, `../x.js`) relative to the directory `dir`.
    fn resolve(dir: &str, target: &str) -> String {
        let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
        for part in target.split('/') {
            match part {
                "." => {}
                ".." => {
                    parts.pop();
                }
                other => parts.push(other),
            }
        }
        parts.join("/")
    }

    #[actix_web::test]
    async fn no_script_writes_html_from_strings() {
        // Every value reaches the page through textContent or attributes:
        // the scripts never parse HTML.
        for asset in ASSETS.iter().filter(|asset| asset.content_type == JS) {
            let text = std::str::from_utf8(asset.body).unwrap();
            for forbidden in [
                "innerHTML",
                "outerHTML",
                "insertAdjacentHTML",
                "document.write",
                "eval(",
            ] {
                assert!(!text.contains(forbidden), "{} uses {forbidden}", asset.name);
            }
        }
    }
}
