//! The HTTP surface: handlers parse, call the store through `web::block`, and answer.
//! It never builds SQL.

pub mod auth;
pub mod body;
pub mod catalog;
pub mod changes;
pub mod consistency;
pub mod curation;
pub mod explorer;
pub mod export;
pub mod figures;
pub mod filters;
pub mod health;
pub mod http;
pub mod institutes;
pub mod limits;
pub mod matching;
pub mod metrics;
pub mod observe;
pub mod paging;
pub mod params;
pub mod preconditions;
pub mod problems;
pub mod reference;
pub mod search;
pub mod stats;
pub mod wire;

use crate::db::{Backend, DbConnection, Pool};
use crate::error::{ApiError, FieldError, Problem};
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::{from_fn, ErrorHandlers, Logger};
use actix_web::{web, App, HttpRequest, HttpResponse};
use utoipa::openapi::{OpenApi as OpenApiDoc, PathItem};
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub pool: Pool,
    pub backend: Backend,
    /// What lists, search, totals, aggregates and matching read: this process's projection of
    /// the registry, following its change sequence.
    pub read: std::sync::Arc<crate::read::ReadModel>,
    /// Rate and in-flight limits (none unless set with [`AppState::with_limits`]).
    pub limits: limits::Limits,
    /// The per-client rate limiter, when `limits.rate_limit` is set.
    pub limiter: Option<std::sync::Arc<limits::RateLimiter>>,
    /// The live keys, by hash: who a request comes from, without a query.
    pub keys: std::sync::Arc<auth::KeyRing>,
    /// Requests in progress per client.
    pub slots: std::sync::Arc<limits::ClientSlots>,
    /// Exports streaming, in all and per client.
    pub exports: std::sync::Arc<limits::ExportSlots>,
    /// Which browser origins may call the API.
    pub cors: http::CorsPolicy,
    /// Request counts, latencies, rejections; served at `/metrics`.
    pub metrics: std::sync::Arc<metrics::Metrics>,
    /// The SQLite file the pool opened, which readiness checks is still there.
    pub database_file: Option<std::sync::Arc<health::DatabaseFile>>,
    /// Set when the server is shutting down (SIGTERM): `/readyz` fails and every response
    /// closes its connection, while requests are still served.
    pub draining: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

/// Runs store code on the blocking pool with a pooled connection.
pub async fn db<T, F>(state: &AppState, f: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    let pool = state.pool.clone();
    let request_id = observe::current_request_id();
    web::block(move || {
        observe::with_request_id(request_id, || {
            let mut conn = pool.get()?;
            f(&mut conn)
        })
    })
    .await?
}

/// Runs a write's store code, then brings the read model up to the changes it made, so that
/// the writer's next read through this process sees them.
pub async fn write<T, F>(state: &AppState, f: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    let read = state.read.clone();
    db(state, move |conn| {
        let value = f(conn)?;
        if let Err(e) = read.apply(conn) {
            // The write is committed; the follower applies it shortly.
            log::warn!("read model: applying this process's own write failed: {e}");
        }
        Ok(value)
    })
    .await
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Institute Registry",
        description = "A registry of national AI and research institutes — the Alan Turing \
Institute, Vector, Mila, Amii, Inria, DFKI, RIKEN AIP, KAIST and their peers — with what makes \
them comparable: budgets over time (in their own currency and normalized to USD with yearly \
average rates), headcounts over time, focus sectors, links between institutes, and the national \
AI programmes that fund them.\n\nEvery figure carries its year, kind and source. Errors are RFC \
9457 `application/problem+json` documents whose `errors` array names each offending input.",
        version = "1.0.0",
        license(name = "MIT", identifier = "MIT")
    ),
    servers((url = "/", description = "The server that serves this document.")),
    tags(
        (name = "institutes", description = "Institutes, their figures and lineage."),
        (name = "reference", description = "Sectors, countries, programmes and exchange rates."),
        (name = "changes", description = "The registry's change sequence: every committed \
change, in commit order, for copies that follow the registry."),
        (name = "operations", description = "Liveness and readiness probes, and metrics. \
These are never rate limited; every other operation is, per client (its live API key, else its IP \
address), and answers 429 with `Retry-After` beyond the limit. Every response carries an \
`X-Request-Id` header (the request's own, when it sent a usable one: 1 to 128 characters of \
`[A-Za-z0-9._:-]`), which every problem document repeats as `request_id`.")
    ),
    modifiers(&BearerAuth),
    components(
        schemas(Problem, FieldError),
        responses(
            problems::BadRequest,
            problems::NotFound,
            problems::NotAcceptable,
            problems::Gone,
            problems::Unauthorized,
            problems::Forbidden,
            problems::Conflict,
            problems::PreconditionFailed,
            problems::PreconditionRequired,
            problems::PayloadTooLarge,
            problems::RequestTimeout,
            problems::UnsupportedMediaType,
            problems::InternalError,
            problems::Unavailable,
            problems::TooManyRequests
        )
    )
)]
struct ApiDoc;

/// Declares the `bearerAuth` scheme that write operations require.
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut OpenApiDoc) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearerAuth",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API key made with `institute-registry keys create --name NAME --role editor|admin`, \
                         sent as `Authorization: Bearer KEY`. Editors change institutes, figures and \
                         programmes; admins also sectors and exchange rates. Reads need no key.",
                    ))
                    .build(),
            ),
        );
    }
}

/// Registers every documented handler; used both to serve and to generate the spec.
fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(institutes::list_institutes)
        .service(institutes::export_institutes)
        .service(curation::create_institute)
        .service(search::suggest)
        .service(matching::match_affiliation)
        .service(matching::match_affiliations)
        .service(institutes::get_institute)
        .service(curation::replace_institute)
        .service(curation::patch_institute)
        .service(curation::delete_institute)
        .service(curation::get_history)
        .service(institutes::get_budgets)
        .service(figures::create_budget_entry)
        .service(figures::get_budget_entry)
        .service(figures::replace_budget_entry)
        .service(figures::delete_budget_entry)
        .service(institutes::get_headcounts)
        .service(figures::create_headcount_entry)
        .service(figures::get_headcount_entry)
        .service(figures::replace_headcount_entry)
        .service(figures::delete_headcount_entry)
        .service(stats::get_stats)
        .service(changes::list_changes)
        .service(reference::list_sectors)
        .service(catalog::create_sector)
        .service(catalog::get_sector)
        .service(catalog::replace_sector)
        .service(catalog::delete_sector)
        .service(reference::list_countries)
        .service(reference::get_country)
        .service(reference::list_country_indicators)
        .service(reference::get_country_indicator)
        .service(catalog::put_country_indicator)
        .service(catalog::delete_country_indicator)
        .service(reference::list_programs)
        .service(catalog::create_program)
        .service(catalog::get_program)
        .service(catalog::replace_program)
        .service(catalog::delete_program)
        .service(reference::list_exchange_rates)
        .service(catalog::put_exchange_rate)
        .service(catalog::delete_exchange_rate)
        .service(health::healthz)
        .service(health::readyz)
        .service(metrics::metrics)
        .service(problems::list_problem_types)
        .service(problems::get_problem_type);
}

/// The OpenAPI document, generated from the handlers.
pub fn openapi() -> OpenApiDoc {
    let mut spec = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(routes)
        .split_for_parts()
        .1;
    complete_spec(&mut spec);
    spec
}

/// What the routes' annotations cannot say alone: public operations' empty security, links
/// from creations, the rate limit's 429 and the body deadline's 408.
fn complete_spec(spec: &mut OpenApiDoc) {
    declare_public_reads(spec);
    link_created_resources(spec);
    declare_rate_limits(spec);
    declare_body_deadline(spec);
    declare_http_caching(spec);
    require_always_sent(spec);
    enumerate_choices(spec);
}

/// A query parameter that takes one of a few words (`^(a|b|c)$`), or an integer in a short
/// range, is declared as an `enum`, so that generated clients type it as those values rather
/// than any string or number.
fn enumerate_choices(spec: &mut OpenApiDoc) {
    use utoipa::openapi::{RefOr, Schema};
    for item in spec.paths.paths.values_mut() {
        for op in [&mut item.get, &mut item.head].into_iter().flatten() {
            for param in op.parameters.iter_mut().flatten() {
                let RefOr::T(param) = param else { continue };
                let Some(RefOr::T(Schema::Object(object))) = param.schema.as_mut() else {
                    continue;
                };
                if let Some(span) = small_range(object) {
                    object.enum_values = Some(span.map(|n| serde_json::json!(n)).collect());
                    continue;
                }
                let Some(words) = object
                    .pattern
                    .as_deref()
                    .and_then(|p| p.strip_prefix("^("))
                    .and_then(|p| p.strip_suffix(")$"))
                    .filter(|p| {
                        p.bytes()
                            .all(|b| b.is_ascii_lowercase() || b == b'_' || b == b'|')
                    })
                    .map(|p| {
                        p.split('|')
                            .map(|w| serde_json::json!(w))
                            .collect::<Vec<_>>()
                    })
                else {
                    continue;
                };
                object.pattern = None;
                object.enum_values = Some(words);
            }
        }
    }
}

/// The values of an integer parameter bounded to at most 101 values (a page size): listed as
/// an enum too, so that a generated type holds exactly them (`limit: 500` does not compile).
fn small_range(object: &utoipa::openapi::schema::Object) -> Option<std::ops::RangeInclusive<i64>> {
    use utoipa::openapi::schema::{SchemaType, Type};
    use utoipa::Number;
    let whole = |n: &Option<Number>| match n {
        Some(Number::Int(v)) => Some(*v as i64),
        Some(Number::UInt(v)) => i64::try_from(*v).ok(),
        _ => None,
    };
    let integer = match &object.schema_type {
        SchemaType::Type(t) => *t == Type::Integer,
        SchemaType::Array(types) => types.contains(&Type::Integer),
        SchemaType::AnyValue => false,
    };
    let (low, high) = (whole(&object.minimum)?, whole(&object.maximum)?);
    (integer && high >= low && high - low <= 100).then_some(low..=high)
}

/// Fields of answers that are left out when empty (`skip_serializing_if`): every other field
/// of an answer is always sent (null when it has no value), and the spec says so by listing it
/// as required, so that generated types are `T | null`, not `T | null | undefined`.
const SOMETIMES_ABSENT: [(&str, &str); 10] = [
    ("CountrySummary", "total_budget"),
    ("Program", "converted"),
    ("BudgetEntry", "converted"),
    ("LatestBudget", "converted"),
    ("Institute", "ancestors"),
    ("Institute", "ancestors_truncated"),
    ("Institute", "descendants"),
    ("Institute", "descendants_truncated"),
    ("Problem", "successor"),
    ("Problem", "request_id"),
];

/// Marks every always-sent field of the answers' schemas required (request bodies' schemas,
/// `…Write`, `…Patch` and `MatchBatch`, keep their optional fields).
fn require_always_sent(spec: &mut OpenApiDoc) {
    use utoipa::openapi::{RefOr, Schema};
    let Some(components) = spec.components.as_mut() else {
        return;
    };
    for (name, schema) in components.schemas.iter_mut() {
        if name.ends_with("Write") || name.ends_with("Patch") || name == "MatchBatch" {
            continue;
        }
        let RefOr::T(Schema::Object(object)) = schema else {
            continue;
        };
        let names: Vec<String> = object.properties.keys().cloned().collect();
        for property in names {
            let absent = SOMETIMES_ABSENT
                .iter()
                .any(|(s, p)| s == name && *p == property);
            if !absent && !object.required.contains(&property) {
                object.required.push(property);
            }
        }
    }
}

/// Every `GET` takes `If-None-Match` and may answer 304; its 200 carries `ETag`,
/// `Cache-Control` and `Vary`; and every `GET` has its `HEAD` (the same answers without bodies).
fn declare_http_caching(spec: &mut OpenApiDoc) {
    use utoipa::openapi::header::HeaderBuilder;
    use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
    use utoipa::openapi::response::{Response, ResponseBuilder};
    use utoipa::openapi::{ObjectBuilder, RefOr, Required, Type};
    let text = || ObjectBuilder::new().schema_type(Type::String).build();
    let header = |description: &str| {
        RefOr::T(
            HeaderBuilder::new()
                .schema(Some(text()))
                .description(Some(description))
                .build(),
        )
    };
    let etag = || {
        header("Changes whenever the representation does (a hash of it); send it back in `If-None-Match` to revalidate, or in `If-Match` to update safely where the resource takes writes.")
    };
    let cache_control = || {
        header("`public, no-cache` (shared caches may store the answer and must revalidate it with its ETag), `private, no-cache` for a request sent with a key, `no-store` for errors, probes and metrics.")
    };
    let vary = || {
        header("The request headers the answer depends on: `Accept`, `Accept-Encoding`, and `Origin` where CORS is configured.")
    };
    let components: std::collections::BTreeMap<String, RefOr<Response>> = spec
        .components
        .as_ref()
        .map(|c| c.responses.clone().into_iter().collect())
        .unwrap_or_default();
    for (path, item) in spec.paths.paths.iter_mut() {
        let Some(get) = item.get.as_mut() else {
            continue;
        };
        let params = get.parameters.get_or_insert_with(Vec::new);
        let named = |p: &RefOr<utoipa::openapi::path::Parameter>| match p {
            RefOr::T(p) => p.name.eq_ignore_ascii_case("If-None-Match"),
            RefOr::Ref(_) => false,
        };
        if !params.iter().any(named) {
            params.push(RefOr::T(
                ParameterBuilder::new()
                    .name("If-None-Match")
                    .parameter_in(ParameterIn::Header)
                    .required(Required::False)
                    .description(Some(
                        "An ETag from an earlier read; 304 while it is still current.",
                    ))
                    .schema(Some(text()))
                    .example(Some(serde_json::json!("\"3f9a0c1b2d4e5f60718293a4\"")))
                    .build(),
            ));
        }
        let responses = &mut get.responses.responses;
        if let Some(RefOr::T(ok)) = responses.get_mut("200") {
            ok.headers.entry("ETag".into()).or_insert_with(etag);
            ok.headers
                .entry("Cache-Control".into())
                .or_insert_with(cache_control);
            ok.headers.entry("Vary".into()).or_insert_with(vary);
        }
        if path.starts_with("/v1/") && path != "/v1/institutes" {
            responses.entry("406".into()).or_insert_with(|| {
                RefOr::Ref(utoipa::openapi::Ref::from_response_name("NotAcceptable"))
            });
        }
        responses.entry("304".into()).or_insert_with(|| {
            RefOr::T(
                ResponseBuilder::new()
                    .description("Not modified: `If-None-Match` holds the current ETag.")
                    .build(),
            )
        });
        if let Some(RefOr::T(not_modified)) = responses.get_mut("304") {
            not_modified
                .headers
                .entry("ETag".into())
                .or_insert_with(etag);
            not_modified
                .headers
                .entry("Cache-Control".into())
                .or_insert_with(cache_control);
        }
        // HEAD: the same operation, its answers without bodies.
        let mut head = get.clone();
        head.operation_id = head.operation_id.map(|id| format!("{id}Head"));
        head.summary = head.summary.map(|s| format!("{s} (headers only)"));
        head.description = Some(
            "The same as the `GET` of this path, answered with its status and headers and no body."
                .into(),
        );
        for response in head.responses.responses.values_mut() {
            let inline = match response {
                RefOr::T(r) => r.clone(),
                RefOr::Ref(r) => {
                    let name = r.ref_location.rsplit('/').next().unwrap_or_default();
                    match components.get(name) {
                        Some(RefOr::T(r)) => r.clone(),
                        _ => continue,
                    }
                }
            };
            let mut bare = ResponseBuilder::new()
                .description(inline.description)
                .build();
            bare.headers = inline.headers;
            *response = RefOr::T(bare);
        }
        item.head = Some(head);
    }
}

/// Every operation but the exempt probes and metrics may answer 429.
fn declare_rate_limits(spec: &mut OpenApiDoc) {
    use utoipa::openapi::{Ref, RefOr};
    for (path, item) in spec.paths.paths.iter_mut() {
        if limits::EXEMPT_PATHS.contains(&path.as_str()) {
            continue;
        }
        for op in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            op.responses.responses.insert(
                "429".into(),
                RefOr::Ref(Ref::from_response_name("TooManyRequests")),
            );
        }
    }
}

/// Every operation that takes a body may answer 408 when the body does not arrive within the
/// server's body deadline.
fn declare_body_deadline(spec: &mut OpenApiDoc) {
    use utoipa::openapi::{Ref, RefOr};
    for item in spec.paths.paths.values_mut() {
        for op in [&mut item.put, &mut item.post, &mut item.patch]
            .into_iter()
            .flatten()
        {
            if op.request_body.is_some() {
                op.responses.responses.insert(
                    "408".into(),
                    RefOr::Ref(Ref::from_response_name("RequestTimeout")),
                );
            }
        }
    }
}

/// OpenAPI links from each `201 Created` to the operations on what it created: from
/// `POST /v1/institutes` to `GET /v1/institutes/{ref}` and everything below it, with `ref`
/// taken from the new record (its slug; `id` for figure entries) and the collection's own path
/// parameters passed through. Clients and stateful testers follow them.
fn link_created_resources(spec: &mut OpenApiDoc) {
    use utoipa::openapi::link::Link;
    use utoipa::openapi::RefOr;
    let params_of = |path: &str| -> Vec<String> {
        path.split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(String::from)
            .collect()
    };
    let mut links: Vec<(String, String, Link)> = Vec::new();
    for (collection, item) in &spec.paths.paths {
        if item.post.is_none() {
            continue;
        }
        let known = params_of(collection);
        for (target, target_item) in &spec.paths.paths {
            let Some(rest) = target.strip_prefix(&format!("{collection}/{{")) else {
                continue;
            };
            let Some(new_param) = rest.split('}').next() else {
                continue;
            };
            let all_known = params_of(target)
                .iter()
                .all(|p| p == new_param || known.contains(p));
            if !all_known {
                continue;
            }
            let field = if new_param == "entry" { "id" } else { "slug" };
            for op in [
                &target_item.get,
                &target_item.put,
                &target_item.post,
                &target_item.delete,
                &target_item.patch,
            ]
            .into_iter()
            .flatten()
            {
                let Some(id) = op.operation_id.clone() else {
                    continue;
                };
                let mut link = Link::builder()
                    .operation_id(&id)
                    .description(format!("`{id}` on the created resource."));
                for p in params_of(target) {
                    let value = if p == new_param {
                        format!("$response.body#/{field}")
                    } else {
                        format!("$request.path.{p}")
                    };
                    link = link.parameter(p, value);
                }
                links.push((collection.clone(), id, link.build()));
            }
        }
    }
    for (collection, name, link) in links {
        let Some(item) = spec.paths.paths.get_mut(&collection) else {
            continue;
        };
        let Some(post) = item.post.as_mut() else {
            continue;
        };
        if let Some(RefOr::T(created)) = post.responses.responses.get_mut("201") {
            created.links.insert(name, RefOr::T(link));
        }
    }
}

/// Operations without a security requirement are public: say so explicitly (one empty
/// requirement), so that every operation declares its security.
fn declare_public_reads(spec: &mut OpenApiDoc) {
    use utoipa::openapi::security::SecurityRequirement;
    for item in spec.paths.paths.values_mut() {
        for op in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
            &mut item.head,
            &mut item.options,
            &mut item.trace,
        ]
        .into_iter()
        .flatten()
        {
            op.security
                .get_or_insert_with(|| vec![SecurityRequirement::default()]);
        }
    }
}

/// The spec as committed in `openapi/openapi.json`: pretty JSON with a final newline.
pub fn openapi_json() -> String {
    spec_text(&openapi())
}

fn spec_text(spec: &OpenApiDoc) -> String {
    let mut text = spec.to_pretty_json().unwrap_or_default();
    text.push('\n');
    text
}

/// The spec's text, as served at `/openapi.json`.
struct ServedSpec(String);

async fn serve_spec(spec: web::Data<ServedSpec>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(spec.0.clone())
}

/// The known paths and their methods, to answer a wrong method with 405 and `Allow`.
#[derive(Clone)]
pub struct RouteTable {
    routes: Vec<(Vec<String>, Vec<String>)>,
    /// The operations (path template, method) that need a key.
    keyed: Vec<(Vec<String>, String)>,
}

impl RouteTable {
    fn from_spec(spec: &OpenApiDoc) -> RouteTable {
        let methods = |item: &PathItem| {
            let mut m = Vec::new();
            for (name, op) in [
                ("GET", &item.get),
                ("HEAD", &item.head),
                ("POST", &item.post),
                ("PUT", &item.put),
                ("PATCH", &item.patch),
                ("DELETE", &item.delete),
            ] {
                if op.is_some() {
                    m.push(name.to_string());
                }
            }
            m
        };
        let mut routes: Vec<(Vec<String>, Vec<String>)> = spec
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                (
                    path.trim_matches('/')
                        .split('/')
                        .map(str::to_string)
                        .collect(),
                    methods(item),
                )
            })
            .collect();
        for path in std::iter::once("/openapi.json").chain(explorer::paths()) {
            routes.push((
                path.trim_matches('/')
                    .split('/')
                    .map(str::to_string)
                    .collect(),
                vec!["GET".into(), "HEAD".into()],
            ));
        }
        let needs_key = |op: &Option<utoipa::openapi::path::Operation>| {
            op.as_ref()
                .and_then(|op| op.security.as_ref())
                .is_some_and(|requirements| {
                    requirements
                        .iter()
                        .any(|r| serde_json::to_value(r).is_ok_and(|v| v != serde_json::json!({})))
                })
        };
        let mut keyed = Vec::new();
        for (path, item) in &spec.paths.paths {
            let template: Vec<String> = path
                .trim_matches('/')
                .split('/')
                .map(str::to_string)
                .collect();
            for (name, op) in [
                ("POST", &item.post),
                ("PUT", &item.put),
                ("PATCH", &item.patch),
                ("DELETE", &item.delete),
            ] {
                if needs_key(op) {
                    keyed.push((template.clone(), name.to_string()));
                }
            }
        }
        RouteTable { routes, keyed }
    }

    fn fits(template: &[String], segments: &[&str]) -> bool {
        template.len() == segments.len()
            && template
                .iter()
                .zip(segments)
                .all(|(t, s)| (t.starts_with('{') && !s.is_empty()) || t == s)
    }

    /// Whether the operation at `path` with `method` needs an API key.
    pub fn needs_key(&self, path: &str, method: &Method) -> bool {
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        self.keyed
            .iter()
            .any(|(template, m)| m == method.as_str() && Self::fits(template, &segments))
    }

    /// The methods the path answers to, if it is a known path.
    fn allowed(&self, path: &str) -> Option<&[String]> {
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        self.routes
            .iter()
            .find(|(template, _)| Self::fits(template, &segments))
            .map(|(_, m)| m.as_slice())
    }
}

/// Unknown path: 404; known path, wrong method: 405 with `Allow`.
async fn fallback(
    req: HttpRequest,
    table: web::Data<RouteTable>,
) -> Result<HttpResponse, ApiError> {
    match table.allowed(req.path()) {
        Some(methods) if !methods.iter().any(|m| m == req.method().as_str()) => {
            let mut allow = methods.to_vec();
            if req.method() == Method::OPTIONS {
                return Ok(HttpResponse::NoContent()
                    .insert_header(("Allow", allow.join(", ")))
                    .finish());
            }
            allow.sort();
            Err(ApiError::MethodNotAllowed { allow })
        }
        _ => Err(ApiError::NotFound(format!(
            "no resource at {}; see /docs for the API, / for the explorer",
            req.path()
        ))),
    }
}

async fn docs_redirect() -> HttpResponse {
    HttpResponse::MovedPermanently()
        .insert_header(("Location", "/docs/"))
        .finish()
}

/// The whole application: routes, spec, docs, error mapping and request logging.
pub fn build_app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let (app, mut spec) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(routes)
        .split_for_parts();
    complete_spec(&mut spec);
    let table = RouteTable::from_spec(&spec);
    let cors = state.cors.middleware();
    app.app_data(web::Data::new(state))
        .app_data(web::Data::new(table))
        .app_data(
            web::JsonConfig::default()
                .limit(1 << 20)
                .error_handler(problems::json_error),
        )
        // Raw bodies (`web::Bytes`, which every write takes) stop being read past the limit: 413.
        .app_data(web::PayloadConfig::new(body::MAX_BODY))
        // The spec is served as the bytes committed in openapi/openapi.json (pretty, with a
        // final newline), so that `cmp` of the two holds; Swagger UI reads it from there.
        .app_data(web::Data::new(ServedSpec(spec_text(&spec))))
        .route("/openapi.json", web::get().to(serve_spec))
        .service(
            SwaggerUi::new("/docs/{_:.*}")
                .config(utoipa_swagger_ui::Config::new(["/openapi.json"])),
        )
        .route("/docs", web::get().to(docs_redirect))
        .configure(explorer::routes)
        .default_service(web::to(fallback))
        // Innermost first: admission (key, rate limit, key before body, client slots, body
        // deadline; its 401s, 408s and 429s pass the error handlers like any error), error
        // handlers (problem+json with the request id), the access log, then the request id,
        // in-flight limit and metrics; around them ETags, 304s and caching headers, compression,
        // CORS (preflights are answered there), and HEAD taken as GET before anything routes.
        .wrap(from_fn(http::json_only))
        .wrap(from_fn(limits::admit))
        .wrap(ErrorHandlers::new().default_handler(problems::to_problem))
        .wrap(
            Logger::new(r#"request_id=%{request_id}xi %a "%r" %s %b %Dms "%{User-Agent}i""#)
                .custom_request_replace("request_id", |req| {
                    observe::request_id_of(req.request()).unwrap_or_else(|| "-".into())
                }),
        )
        .wrap(from_fn(observe::observe))
        .wrap(from_fn(http::conditional))
        .wrap(from_fn(http::compress))
        .wrap(actix_web::middleware::Condition::new(
            cors.is_some(),
            cors.unwrap_or_default(),
        ))
        .wrap(from_fn(http::head_as_get))
}

impl AppState {
    /// The state of a server without limits, on the database at `url` that `pool` opens: it
    /// builds the read model and starts following the registry's changes; on SQLite it
    /// remembers the database file the pool has open, for readiness.
    pub fn new(pool: Pool, url: &str) -> Result<AppState, String> {
        let backend = Backend::from_url(url);
        let database_file = match backend {
            Backend::Sqlite => health::DatabaseFile::of_pool(&pool).map(std::sync::Arc::new),
            Backend::Postgres => None,
        };
        let read = {
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            crate::read::ReadModel::build(&mut conn)
                .map_err(|e| format!("cannot build the read model: {e}"))?
        };
        read.follow(
            crate::db::ConnectionManager::new(url),
            std::time::Duration::from_millis(FOLLOW_POLL_MS),
        );
        Ok(AppState {
            pool,
            backend,
            read,
            limits: limits::Limits::default(),
            limiter: None,
            keys: Default::default(),
            slots: Default::default(),
            exports: Default::default(),
            cors: Default::default(),
            metrics: Default::default(),
            database_file,
            draining: Default::default(),
        })
    }

    /// The same state with this CORS policy.
    pub fn with_cors(mut self, cors: http::CorsPolicy) -> AppState {
        self.cors = cors;
        self
    }

    /// The same state with these rate and in-flight limits.
    pub fn with_limits(mut self, limits: limits::Limits) -> AppState {
        self.limiter = limits::RateLimiter::new(
            limits.rate_limit,
            limits.rate_limit_burst,
            limits.max_clients,
        )
        .map(std::sync::Arc::new);
        self.limits = limits;
        self
    }
}

/// How often the read model looks for other processes' changes when nothing woke it (on
/// PostgreSQL a notification wakes it at once).
const FOLLOW_POLL_MS: u64 = 250;
