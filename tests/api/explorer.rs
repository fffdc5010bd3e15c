//! The explorer page: served at `/` and at every view's address, with its own files only, under
//! a policy that keeps it to this origin. (Its behaviour in a browser: scripts/explorer.sh.)

use crate::common::*;
use actix_web::test;

const VIEWS: [&str; 7] = [
    "/",
    "/explore",
    "/explore/",
    "/explore/countries?group_by=region&currency=PPP",
    "/explore/programs?measure=per_inhabitant",
    "/explore/institutes/alan-turing-institute?currency=EUR",
    "/?q=turing&country=GB&sort=-budget",
];

#[actix_web::test]
async fn the_explorer_is_served_at_each_view_with_its_own_files_only() {
    let (_db, _pool, app) = app().await;
    let home = get(&app, "/").await;
    assert_eq!(home.status.as_u16(), 200);
    assert_eq!(
        home.header("content-type").as_deref(),
        Some("text/html; charset=utf-8")
    );
    let csp = home.header("content-security-policy").expect("a policy");
    for part in [
        "default-src 'none'",
        "script-src 'self'",
        "connect-src 'self'",
    ] {
        assert!(csp.contains(part), "{part} in {csp}");
    }
    let html = String::from_utf8(home.body.clone()).unwrap();
    // Every file the page names is on this server, under /explore/assets/.
    let named: Vec<&str> = html
        .split(['"', '\''])
        .filter(|s| s.starts_with("/explore/assets/"))
        .collect();
    assert_eq!(
        named,
        [
            "/explore/assets/explorer.css",
            "/explore/assets/explorer.js"
        ]
    );
    assert!(!html.contains("//"), "no address on another origin: {html}");

    for view in VIEWS {
        let r = get(&app, view).await;
        assert_eq!(r.status.as_u16(), 200, "{view}");
        assert_eq!(r.body, home.body, "{view} is the same page");
    }
    let mut compressed = 0;
    for (asset, kind) in [
        (
            "/explore/assets/explorer.js",
            "text/javascript; charset=utf-8",
        ),
        ("/explore/assets/explorer.css", "text/css; charset=utf-8"),
    ] {
        let plain = get(&app, asset).await;
        assert_eq!(plain.status.as_u16(), 200, "{asset}");
        assert_eq!(plain.header("content-type").as_deref(), Some(kind));
        assert_eq!(
            plain.header("x-content-type-options").as_deref(),
            Some("nosniff")
        );
        let text = String::from_utf8(plain.body.clone()).unwrap();
        assert!(
            !text.contains("http://") && !text.contains("https://"),
            "{asset} names no other origin"
        );
        let br = send(
            &app,
            test::TestRequest::get()
                .uri(asset)
                .insert_header(("Accept-Encoding", "br")),
        )
        .await;
        assert_eq!(
            br.header("content-encoding").as_deref(),
            Some("br"),
            "{asset}"
        );
        compressed += br.body.len();
        // Revalidated with its tag, like every read.
        let tag = plain.header("etag").expect("an ETag");
        let again = send(
            &app,
            test::TestRequest::get()
                .uri(asset)
                .insert_header(("If-None-Match", tag)),
        )
        .await;
        assert_eq!(again.status.as_u16(), 304, "{asset}");
    }
    compressed += home.body.len();
    assert!(
        compressed < 300 * 1024,
        "page and files {compressed} bytes compressed"
    );
}

#[actix_web::test]
async fn addresses_the_explorer_does_not_show_are_problems() {
    let (_db, _pool, app) = app().await;
    for path in [
        "/explore/nothing",
        "/explore/institutes/a/b",
        "/explore/assets/other.js",
    ] {
        let p = get(&app, path).await.problem(404);
        assert!(p["detail"].as_str().unwrap().contains(path), "{p}");
    }
    let r = send(&app, test::TestRequest::post().uri("/")).await;
    r.problem(405);
    assert_eq!(r.header("allow").as_deref(), Some("GET, HEAD"));
}
