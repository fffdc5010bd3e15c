//! Every write operation in the spec, walked with no key, a bad key, a revoked key, an editor
//! key and an admin key.

use crate::common::*;
use actix_web::http::Method;
use institute_registry::api::openapi_json;
use serde_json::{json, Value};

/// The write operations of the spec with the role each needs (from its description).
fn write_operations() -> Vec<(Method, String, &'static str)> {
    let spec: Value = serde_json::from_str(&openapi_json()).unwrap();
    let mut out = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            // Public operations declare one empty requirement; writes require bearerAuth.
            let keyed = op["security"]
                .as_array()
                .is_some_and(|s| s.iter().any(|r| r.get("bearerAuth").is_some()));
            if !keyed {
                continue;
            }
            let role = if op["description"]
                .as_str()
                .unwrap()
                .contains("Needs an admin key")
            {
                "admin"
            } else {
                "editor"
            };
            let concrete = path
                .replace("{ref}", "mila")
                .replace("{entry}", "bud_none")
                .replace("{slug}", "none")
                .replace("{currency}", "EUR")
                .replace("{year}", "2024");
            out.push((
                Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(),
                concrete,
                role,
            ));
        }
    }
    out
}

#[actix_rt::test]
async fn every_write_needs_a_live_key_of_the_right_role() {
    let (_db, pool, app) = app().await;
    let editor = key(&pool, "ed", "editor");
    let admin = key(&pool, "ad", "admin");
    let revoked = key(&pool, "gone", "editor");
    institute_registry::store::keys::revoke(&mut pool.get().unwrap(), "gone").unwrap();
    let operations = write_operations();
    assert!(
        operations.len() >= 10,
        "{} write operations",
        operations.len()
    );
    let body = json!({});
    for (method, uri, role) in &operations {
        let at = format!("{method} {uri}");
        for bad in [
            None,
            Some("irk_not_a_key"),
            Some("garbage"),
            Some(revoked.as_str()),
        ] {
            let r = send(
                &app,
                write(
                    method.clone(),
                    uri,
                    bad,
                    Some(&body),
                    "application/json",
                    None,
                ),
            )
            .await;
            r.problem(401);
            assert!(
                r.header("www-authenticate").unwrap().starts_with("Bearer"),
                "{at}"
            );
        }
        let r = send(
            &app,
            write(
                method.clone(),
                uri,
                Some(&editor),
                Some(&body),
                "application/json",
                None,
            ),
        )
        .await;
        if *role == "admin" {
            r.problem(403);
        } else {
            assert!(
                ![401, 403].contains(&r.status.as_u16()),
                "{at}: editor got {}",
                r.status
            );
        }
        let r = send(
            &app,
            write(
                method.clone(),
                uri,
                Some(&admin),
                Some(&body),
                "application/json",
                None,
            ),
        )
        .await;
        assert!(
            ![401, 403].contains(&r.status.as_u16()),
            "{at}: admin got {}",
            r.status
        );
    }
    // Reads need no key.
    get_ok(&app, "/v1/institutes/amii").await;
}

#[test]
fn keys_are_listed_without_secrets_and_revoked_by_name() {
    let (_db, pool) = seeded();
    let secret = key(&pool, "alice", "editor");
    let mut conn = pool.get().unwrap();
    let listed = institute_registry::store::keys::list(&mut conn).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].name, "alice");
    assert!(!format!("{listed:?}").contains(&secret));
    assert!(
        institute_registry::store::keys::authenticate(&mut conn, &secret)
            .unwrap()
            .is_some()
    );
    assert!(institute_registry::store::keys::revoke(&mut conn, "alice").unwrap());
    assert!(!institute_registry::store::keys::revoke(&mut conn, "alice").unwrap());
    assert!(
        institute_registry::store::keys::authenticate(&mut conn, &secret)
            .unwrap()
            .is_none()
    );
    assert!(institute_registry::store::keys::create(
        &mut conn,
        "alice",
        institute_registry::model::access::Role::Admin
    )
    .is_err());
}
