use crate::common::*;
use actix_web::test::TestRequest;

#[actix_rt::test]
async fn unknown_and_repeated_parameters_are_named() {
    let (_db, _pool, app) = app().await;
    let r = get(&app, "/v1/institutes?contry=GB").await;
    let p = r.problem(400);
    assert_eq!(r.fields(), vec!["contry"]);
    assert!(p["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("country"));
    assert_eq!(
        get(&app, "/v1/institutes?limit=5&limit=6").await.fields(),
        vec!["limit"]
    );
    assert_eq!(get(&app, "/v1/sectors?x=1").await.fields(), vec!["x"]);
    assert_eq!(
        get(&app, "/v1/institutes/alan-turing-institute?expand=1")
            .await
            .fields(),
        vec!["expand"]
    );
}

#[actix_rt::test]
async fn malformed_values_are_named_all_at_once() {
    let (_db, _pool, app) = app().await;
    for bad in ["0", "101", "abc", "-1", "1.5"] {
        let r = get(&app, &format!("/v1/institutes?limit={bad}")).await;
        r.problem(400);
        assert_eq!(r.fields(), vec!["limit"], "limit={bad}");
    }
    let r = get(&app, "/v1/institutes?cursor=forged").await;
    r.problem(400);
    assert_eq!(r.fields(), vec!["cursor"]);

    let r = get(
        &app,
        "/v1/institutes?country=XX&sector=nonsense&kind=castle&status=asleep&limit=0",
    )
    .await;
    r.problem(400);
    let mut fields = r.fields();
    fields.sort();
    assert_eq!(fields, vec!["country", "kind", "limit", "sector", "status"]);

    assert_eq!(
        get(&app, "/v1/institutes?country=").await.fields(),
        vec!["country"]
    );
    assert_eq!(
        get(&app, "/v1/programs?jurisdiction=QQ").await.fields(),
        vec!["jurisdiction"]
    );
    assert_eq!(
        get(&app, "/v1/exchange-rates?currency=XYZ").await.fields(),
        vec!["currency"]
    );
    get(&app, "/v1/institutes?%zz=1").await.problem(400);
}

#[actix_rt::test]
async fn unknown_route_is_404_and_wrong_method_is_405_with_allow() {
    let (_db, _pool, app) = app().await;
    get(&app, "/v2/nothing").await.problem(404);
    get(&app, "/v1/institutes/alan-turing-institute/nothing")
        .await
        .problem(404);

    let r = send(&app, TestRequest::patch().uri("/v1/sectors")).await;
    r.problem(405);
    assert_eq!(r.header("allow").as_deref(), Some("GET, HEAD, POST"));
    let r = send(
        &app,
        TestRequest::delete().uri("/v1/institutes/alan-turing-institute/budgets"),
    )
    .await;
    r.problem(405);
    assert_eq!(r.header("allow").as_deref(), Some("GET, HEAD, POST"));
    let r = send(&app, TestRequest::post().uri("/v1/institutes/mila/history")).await;
    r.problem(405);
    assert_eq!(r.header("allow").as_deref(), Some("GET, HEAD"));
    let r = send(
        &app,
        TestRequest::patch().uri("/v1/institutes/mila/budgets/bud_x"),
    )
    .await;
    r.problem(405);
    assert_eq!(r.header("allow").as_deref(), Some("DELETE, GET, HEAD, PUT"));
    let r = send(&app, TestRequest::put().uri("/healthz")).await;
    r.problem(405);
}

#[actix_rt::test]
async fn country_paths_are_strict() {
    let (_db, _pool, app) = app().await;
    get(&app, "/v1/countries/ZZ").await.problem(404);
    get(&app, "/v1/countries/gb").await.problem(404);
    get(&app, "/v1/countries/GBR").await.problem(404);
}

#[actix_rt::test]
async fn references_no_record_could_have_are_404s_or_named_400s() {
    let (_db, pool, app) = app().await;
    for uri in [
        "/v1/institutes/mila/budgets/%00",
        "/v1/institutes/mila/headcounts/a%00b",
        "/v1/institutes/a%00b/history",
        "/v1/programs/%00",
        "/v1/sectors/%00",
    ] {
        get(&app, uri).await.problem(404);
    }
    assert_eq!(
        get(&app, "/v1/institutes?ids=%00").await.fields(),
        vec!["ids"]
    );
    assert_eq!(
        get(&app, "/v1/institutes?parent=a%00").await.fields(),
        vec!["parent"]
    );
    let k = key(&pool, "k", "editor");
    let r = delete(&app, "/v1/institutes/amii?merged_into=%00", &k).await;
    assert_eq!(r.fields(), vec!["merged_into"]);
    // A forged cursor whose value does not fit its sort key.
    use base64::Engine;
    let forged =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"s":"name","v":[5],"id":"x"}"#);
    assert_eq!(
        get(&app, &format!("/v1/institutes?cursor=k1.{forged}"))
            .await
            .fields(),
        vec!["cursor"]
    );
    let forged = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(r#"{"s":"-updated","v":["x"],"id":"x"}"#);
    assert_eq!(
        get(
            &app,
            &format!("/v1/institutes?sort=-updated&cursor=k1.{forged}")
        )
        .await
        .fields(),
        vec!["cursor"]
    );
    // Times out of the range both backends store are refused alike, in a parameter or a
    // forged history cursor.
    for uri in [
        "/v1/institutes?updated_since=9999-12-31T23:00:00-05:00",
        "/v1/institutes?updated_since=0000-01-01T00:00:00Z",
    ] {
        let r = get(&app, uri).await;
        r.problem(400);
        assert_eq!(r.fields(), vec!["updated_since"], "{uri}");
    }
    for at in [
        "-5000-01-01T00:00:00Z",
        "+20000-01-01T00:00:00Z",
        "yesterday",
    ] {
        let forged =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!(r#"["{at}","x"]"#));
        let r = get(
            &app,
            &format!("/v1/institutes/mila/history?cursor=k1.{forged}"),
        )
        .await;
        r.problem(400);
        assert_eq!(r.fields(), vec!["cursor"], "{at}");
    }
    // Broken percent-encoding is refused, naming the parameter, not read literally.
    for (uri, field) in [
        ("/v1/institutes?q=%zz", "q"),
        ("/v1/institutes?q=%e9t%e9", "q"),
        ("/v1/institutes/suggest?q=ab%2", "q"),
        ("/v1/stats?group_by=country&country=C%", "country"),
    ] {
        let r = get(&app, uri).await;
        let p = r.problem(400);
        assert_eq!(r.fields(), vec![field], "{uri}: {p}");
    }
    assert_eq!(get(&app, "/v1/institutes?q=%C3%A9cole").await.status, 200);
}

#[actix_rt::test]
async fn if_match_is_compared_strongly() {
    let (_db, pool, app) = app().await;
    let k = key(&pool, "k", "editor");
    let tag = get(&app, "/v1/institutes/mila")
        .await
        .header("etag")
        .unwrap();
    // A weak tag cannot guard a write: a malformed precondition, named as such.
    let weak = format!("W/{tag}");
    let r = patch_json(
        &app,
        "/v1/institutes/mila",
        &k,
        serde_json::json!({"city": "X"}),
        Some(&weak),
    )
    .await;
    r.problem(400);
    assert_eq!(r.fields(), vec!["If-Match"]);
    let req = write(
        actix_web::http::Method::PATCH,
        "/v1/institutes/mila",
        Some(&k),
        Some(&serde_json::json!({"city": "X"})),
        "application/merge-patch+json",
        Some("*"),
    )
    .insert_header((
        "If-Match",
        actix_web::http::header::HeaderValue::from_bytes(b"\"\xff\"").unwrap(),
    ));
    let r = send(&app, req).await;
    r.problem(400);
    assert_eq!(r.fields(), vec!["If-Match"]);
    let unknown = patch_json(
        &app,
        "/v1/institutes/mila",
        &k,
        serde_json::json!({"colour": "red"}),
        Some(&tag),
    )
    .await;
    assert_eq!(unknown.fields(), vec!["/colour"]);
    let admin = key(&pool, "a", "admin");
    let r = send(
        &app,
        write(
            actix_web::http::Method::PUT,
            "/v1/exchange-rates/USD/2024",
            Some(&admin),
            Some(&serde_json::json!({"units_per_usd": 2, "source": "s"})),
            "application/json",
            Some("*"),
        ),
    )
    .await;
    assert_eq!(r.fields(), vec!["currency"]);
}

#[actix_rt::test]
async fn problem_types_are_described_at_their_type_uri() {
    let (_db, _pool, app) = app().await;
    // A problem's type is a path on the server that describes it.
    let p = get(&app, "/v1/institutes?limit=0").await.problem(400);
    let uri = p["type"].as_str().unwrap().to_string();
    assert_eq!(uri, "/problems/invalid-request");
    let described = get_ok(&app, &uri).await;
    assert_eq!(described["code"], "invalid-request");
    assert_eq!(described["status"], 400);
    assert_eq!(described["title"], p["title"]);
    assert!(described["description"].as_str().unwrap().len() > 40);
    // A browser gets a page.
    let r = send(
        &app,
        TestRequest::get()
            .uri("/problems/precondition-required")
            .insert_header(("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")),
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    let page = String::from_utf8(r.body).unwrap();
    assert!(page.contains("If-Match") && page.contains("428"), "{page}");
    // Every kind, listed; every one the API answers with is there.
    let all = get_ok(&app, "/problems").await;
    let codes: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["code"].as_str().unwrap())
        .collect();
    for code in [
        "not-found",
        "rate-limited",
        "unavailable",
        "conflict",
        "gone",
    ] {
        assert!(codes.contains(&code), "{code}");
    }
    let p = get(&app, "/problems/no-such-kind").await.problem(404);
    assert!(
        p["detail"].as_str().unwrap().contains("GET /problems"),
        "{p}"
    );
}

#[actix_rt::test]
async fn mistakes_get_a_did_you_mean_and_empty_ranges_a_400() {
    let (_db, _pool, app) = app().await;
    for (uri, field, hint) in [
        ("/v1/institutes?country=UK", "country", "did you mean 'GB'?"),
        (
            "/v1/institutes?sector=health",
            "sector",
            "did you mean 'healthcare'?",
        ),
        (
            "/v1/institutes?sort=budgett",
            "sort",
            "did you mean 'budget'?",
        ),
        ("/v1/institutes?sort=-nmae", "sort", "did you mean 'name'?"),
    ] {
        let p = get(&app, uri).await.problem(400);
        assert_eq!(p["errors"][0]["field"], field, "{uri}");
        assert!(p["detail"].as_str().unwrap().contains(hint), "{uri}: {p}");
    }
    // Nothing close: no guess.
    let p = get(&app, "/v1/institutes?sector=zzzzzz").await.problem(400);
    assert!(
        !p["detail"].as_str().unwrap().contains("did you mean"),
        "{p}"
    );
    // An unknown slug: the institutes whose names match its words.
    let p = get(&app, "/v1/institutes/alan-turing").await.problem(404);
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("'alan-turing-institute'"),
        "{p}"
    );
    // `+` is a space in a query string: refused, with the reason.
    let p = get(&app, "/v1/institutes?sort=+budget").await.problem(400);
    assert!(p["detail"].as_str().unwrap().contains("'+'"), "{p}");
    // Ranges the wrong way round.
    for (uri, field) in [
        (
            "/v1/institutes?founded_from=2020&founded_to=2010",
            "founded_from",
        ),
        (
            "/v1/institutes?headcount_min=500&headcount_max=10",
            "headcount_min",
        ),
        (
            "/v1/institutes?budget_min=9000000&budget_max=10",
            "budget_min",
        ),
        (
            "/v1/stats?group_by=country&founded_from=2020&founded_to=2010",
            "founded_from",
        ),
    ] {
        let p = get(&app, uri).await.problem(400);
        assert_eq!(p["errors"][0]["field"], field, "{uri}");
    }
    assert_eq!(
        get(&app, "/v1/institutes?founded_from=2010&founded_to=2010")
            .await
            .status,
        200
    );
    // A read that answers JSON only: 406 when Accept rules JSON out.
    for uri in [
        "/v1/institutes/mila",
        "/v1/stats?group_by=country",
        "/v1/countries",
    ] {
        let r = send(
            &app,
            TestRequest::get()
                .uri(uri)
                .insert_header(("Accept", "text/csv")),
        )
        .await;
        r.problem(406);
        let r = send(
            &app,
            TestRequest::get()
                .uri(uri)
                .insert_header(("Accept", "text/csv, application/json;q=0.5")),
        )
        .await;
        assert_eq!(r.status, 200, "{uri}");
    }
}
