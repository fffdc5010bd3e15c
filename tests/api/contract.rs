use crate::common::*;
use institute_registry::api::openapi_json;
use serde_json::Value;

const REGENERATE: &str = "cargo run -q -- openapi > openapi/openapi.json";

#[test]
fn committed_spec_equals_generated() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    let generated = openapi_json();
    assert!(
        committed == generated,
        "openapi/openapi.json differs from the spec the code generates; regenerate it with `{REGENERATE}` and commit it"
    );
}

#[test]
fn every_operation_is_fully_documented() {
    let spec: Value = serde_json::from_str(&openapi_json()).unwrap();
    let mut operations = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            operations += 1;
            let at = format!("{method} {path}");
            for key in ["operationId", "summary", "description"] {
                assert!(
                    op[key].as_str().is_some_and(|s| !s.is_empty()),
                    "{at}: {key}"
                );
            }
            assert!(
                op["tags"].as_array().is_some_and(|t| !t.is_empty()),
                "{at}: tags"
            );
            for p in op["parameters"].as_array().into_iter().flatten() {
                assert!(
                    p["description"].as_str().is_some_and(|s| !s.is_empty()),
                    "{at}: {p}"
                );
                assert!(!p["example"].is_null(), "{at}: example of {}", p["name"]);
            }
            let responses = op["responses"].as_object().unwrap();
            assert!(
                responses.keys().any(|c| c.starts_with('2')),
                "{at}: a success response"
            );
            if path.starts_with("/v1") {
                for code in ["400", "429", "500", "503"] {
                    assert!(responses.contains_key(code), "{at}: {code}");
                }
            }
            // Every addressed resource can be missing, except where a PUT creates it.
            if path.contains('{') && !responses.contains_key("201") {
                assert!(responses.contains_key("404"), "{at}: 404");
            }
        }
    }
    assert!(operations >= 11);
}

#[actix_rt::test]
async fn served_spec_and_docs() {
    let (_db, _pool, app) = app().await;
    // Byte for byte what is committed (README: `cmp` of the two holds).
    let served = get(&app, "/openapi.json").await;
    assert_eq!(served.status, 200);
    assert_eq!(
        served.header("content-type").as_deref(),
        Some("application/json")
    );
    assert!(
        served.body == openapi_json().as_bytes(),
        "served spec differs"
    );

    let r = get(&app, "/docs").await;
    assert_eq!(r.status, 301);
    assert_eq!(r.header("location").as_deref(), Some("/docs/"));
    let r = get(&app, "/docs/").await;
    assert_eq!(r.status, 200);
    assert!(String::from_utf8_lossy(&r.body).contains("swagger"));
    // The UI's own assets come from the binary.
    let r = get(&app, "/docs/swagger-ui-bundle.js").await;
    assert_eq!(r.status, 200);
    assert!(r.body.len() > 100_000);
    get(&app, "/docs/no-such-file.js").await.problem(404);
}
