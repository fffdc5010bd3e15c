//! `import` and `export` on the command line, checked through the HTTP surface.

use crate::common::*;
use actix_web::test;
use institute_registry::api::{build_app, AppState};
use serde_json::{json, Value};
use std::process::Command;

/// Runs the binary on a database; returns (success, stdout, stderr).
fn cli(url: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_institute-registry"))
        .arg("--database-url")
        .arg(url)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run the binary");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn temp(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!(
        "registry-bulk-{}-{}-{name}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ))
}

struct TempFile(std::path::PathBuf);

impl TempFile {
    fn new(name: &str, text: &str) -> TempFile {
        let path = temp(name);
        std::fs::write(&path, text).unwrap();
        TempFile(path)
    }
    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[actix_rt::test]
async fn export_then_import_into_an_empty_database_gives_identical_files() {
    let (db_a, pool_a, app_a) = app().await;
    // Beyond the seed: a child of a seed institute, a multi-year budget, a staff-only count.
    let k = key(&pool_a, "curator", "editor");
    let created = post_json(
        &app_a,
        "/v1/institutes",
        &k,
        json!({"slug": "turing-lab", "name": "Turing Lab", "kind": "university",
               "country": "GB", "parent": "alan-turing-institute", "sectors": ["healthcare"],
               "aliases": ["@TL", "TL"], "external_ids": {"wikidata": "Q99999999"},
               "description": "=HYPERLINK(\"http://example.org\")"}),
    )
    .await;
    assert_eq!(
        created.status,
        201,
        "{}",
        String::from_utf8_lossy(&created.body)
    );
    // In CSV, cells a spreadsheet would run as formulas are text: a leading apostrophe.
    let csv = send(
        &app_a,
        test::TestRequest::get()
            .uri("/v1/exports/institutes?country=GB")
            .insert_header(("Accept", "text/csv")),
    )
    .await;
    let text = String::from_utf8(csv.body).unwrap();
    let row = text
        .lines()
        .find(|l| l.contains("turing-lab"))
        .unwrap_or_else(|| panic!("the new institute's row: {text}"));
    assert!(row.contains(",'@TL|TL,"), "{row}");
    assert!(
        row.contains(r#","'=HYPERLINK(""http://example.org"")","#),
        "{row}"
    );
    assert!(
        !row.contains(",=") && !row.contains(",@") && !row.contains(",\"="),
        "{row}"
    );
    let budget = post_json(
        &app_a,
        "/v1/institutes/turing-lab/budgets",
        &k,
        json!({"year": 2023, "kind": "multi_year", "amount": 5_000_000, "currency": "GBP",
               "period_end": 2027, "source": "https://example.org/grant", "note": "five years"}),
    )
    .await;
    assert_eq!(
        budget.status,
        201,
        "{}",
        String::from_utf8_lossy(&budget.body)
    );
    let headcount = post_json(
        &app_a,
        "/v1/institutes/turing-lab/headcounts",
        &k,
        json!({"year": 2024, "staff": 12, "basis": "staff", "source": "https://example.org/team"}),
    )
    .await;
    assert_eq!(headcount.status, 201);

    for format in ["ndjson", "csv", "json"] {
        let first = temp(&format!("first.{format}"));
        let second = temp(&format!("second.{format}"));
        let (ok, _, err) = cli(&db_a.url, &["export", "-o", first.to_str().unwrap()]);
        assert!(ok, "export: {err}");
        let db_b = TestDb::new();
        let (ok, out, err) = cli(&db_b.url, &["import", first.to_str().unwrap()]);
        assert!(ok, "import {format}: {out} {err}");
        assert!(
            out.contains(&format!(
                "{} created, 0 updated, 0 unchanged, 0 rejected",
                institute_registry::store::seed::Dataset::embedded()
                    .unwrap()
                    .institutes
                    .len()
                    + 1
            )),
            "{out}"
        );
        let (ok, _, err) = cli(&db_b.url, &["export", "-o", second.to_str().unwrap()]);
        assert!(ok, "second export: {err}");
        let (a, b) = (
            std::fs::read(&first).unwrap(),
            std::fs::read(&second).unwrap(),
        );
        let _ = (std::fs::remove_file(&first), std::fs::remove_file(&second));
        assert!(a.len() > 50_000, "{format}: {} bytes", a.len());
        assert!(a == b, "{format}: the second export differs from the first");

        // The copy serves the same representations: same bodies, same ETags.
        let pool_b = db_b.pool(2);
        let app_b = test::init_service(build_app(
            AppState::new(pool_b.clone(), &db_b.url).expect("the app state"),
        ))
        .await;
        for path in [
            "/v1/institutes/turing-lab",
            "/v1/institutes/alan-turing-institute?include=descendants",
            "/v1/institutes/turing-lab/budgets",
        ] {
            let (ra, rb) = (get(&app_a, path).await, get(&app_b, path).await);
            assert_eq!(rb.status, 200, "{path}");
            assert_eq!(ra.body, rb.body, "{format}: {path}");
            assert_eq!(ra.header("etag"), rb.header("etag"), "{format}: {path}");
        }
        // Re-importing the same file changes nothing.
        let again = TempFile::new(&format!("again.{format}"), &String::from_utf8(a).unwrap());
        let (ok, out, _) = cli(&db_b.url, &["import", again.path()]);
        assert!(ok);
        let all = institute_registry::store::seed::Dataset::embedded()
            .unwrap()
            .institutes
            .len()
            + 1;
        assert!(
            out.contains(&format!("0 created, 0 updated, {all} unchanged")),
            "{out}"
        );
    }
}

fn line(v: Value) -> String {
    format!("{v}\n")
}

#[actix_rt::test]
async fn a_rejected_record_stops_the_import_and_is_reported_by_line_and_field() {
    let (db, _pool, app) = app().await;
    let good = |slug: &str| {
        json!({"slug": slug, "name": format!("Institute {slug}"), "kind": "non_profit",
               "country": "FR"})
    };
    let text = [
        line(good("bulk-one")),
        line(
            json!({"slug": "bulk-bad-country", "name": "Bad", "kind": "non_profit",
                    "country": "XX"}),
        ),
        line(good("bulk-two")),
        "{not json\n".to_string(),
        line(
            json!({"slug": "bulk-child", "name": "Child", "kind": "non_profit",
                    "country": "FR", "parent": "no-such-institute"}),
        ),
        line(good("bulk-one")),
        line(
            json!({"slug": "bulk-grandchild", "name": "Grandchild", "kind": "university",
                    "country": "FR", "parent": "bulk-two", "sectors": ["no-such-sector"]}),
        ),
    ]
    .concat();
    let file = TempFile::new("mixed.ndjson", &text);
    let report = temp("report.csv");
    let (ok, out, err) = cli(
        &db.url,
        &["import", file.path(), "--report", report.to_str().unwrap()],
    );
    assert!(!ok, "an import with rejected records must fail");
    assert!(out.contains("refused, nothing written"), "{out}");
    assert!(
        out.contains("0 created") || out.contains("2 created"),
        "{out}"
    );
    assert!(out.contains("5 rejected"), "{out}");
    for expected in [
        "line 2 (bulk-bad-country): /country:",
        "line 4 (?): record: not a JSON record",
        "line 5 (bulk-child): /parent: no institute has the id or slug 'no-such-institute'",
        "line 6 (bulk-one): /slug: 'bulk-one' is also the slug of line 1",
        "line 7 (bulk-grandchild): /sectors/0: unknown sector",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in:\n{err}");
    }
    let written = std::fs::read_to_string(&report).unwrap();
    let _ = std::fs::remove_file(&report);
    assert!(
        written.starts_with("line,record,field,reason\n"),
        "{written}"
    );
    assert!(
        written.contains("2,bulk-bad-country,/country,"),
        "{written}"
    );
    for slug in ["bulk-one", "bulk-two"] {
        assert_eq!(
            get(&app, &format!("/v1/institutes/{slug}")).await.status,
            404
        );
    }

    // A dry run with --partial says what would happen and writes nothing.
    let (ok, out, _) = cli(&db.url, &["import", file.path(), "--partial", "--dry-run"]);
    assert!(ok);
    assert!(out.contains("dry run, nothing written"), "{out}");
    assert!(
        out.contains("2 created, 0 updated, 0 unchanged, 5 rejected"),
        "{out}"
    );
    assert_eq!(get(&app, "/v1/institutes/bulk-one").await.status, 404);

    // --partial commits the valid records.
    let (ok, out, _) = cli(&db.url, &["import", file.path(), "--partial"]);
    assert!(ok, "{out}");
    assert!(out.contains("imported: 7 records"), "{out}");
    assert!(
        out.contains("2 created, 0 updated, 0 unchanged, 5 rejected"),
        "{out}"
    );
    let one = get_ok(&app, "/v1/institutes/bulk-one").await;
    assert_eq!(one["name"], "Institute bulk-one");
    let history = get_ok(&app, "/v1/institutes/bulk-one/history").await;
    assert_eq!(history["items"][0]["actor"], "import");
    assert_eq!(history["items"][0]["action"], "create");
}

#[actix_rt::test]
async fn records_update_the_institute_of_their_id_slug_or_external_id() {
    let (db, pool, app) = app().await;
    let k = key(&pool, "curator", "editor");
    let patched = patch_json(
        &app,
        "/v1/institutes/mila",
        &k,
        json!({"external_ids": {"ror": "05q0ncs32"}}),
        Some("*"),
    )
    .await;
    assert_eq!(patched.status, 200);
    let turing = get_ok(&app, "/v1/institutes/alan-turing-institute").await;
    let vector = get_ok(&app, "/v1/institutes/vector-institute").await;
    let mila = get_ok(&app, "/v1/institutes/mila").await;
    // By id: the record as exported, unchanged.
    let unchanged = turing.clone();
    // By slug: a new city.
    let mut by_slug = vector.clone();
    by_slug.as_object_mut().unwrap().remove("id");
    by_slug["city"] = json!("Toronto, Ontario");
    // By ROR id alone (no id, no slug): a new description.
    let mut by_ror = mila.clone();
    for k in ["id", "slug"] {
        by_ror.as_object_mut().unwrap().remove(k);
    }
    by_ror["description"] = json!("Quebec's AI institute.");
    let new = json!({"name": "Institut Nouveau", "kind": "public_research", "country": "FR",
                     "parent": {"id": turing["id"], "slug": "alan-turing-institute"}});
    let file = TempFile::new(
        "updates.json",
        &serde_json::to_string(&json!([unchanged, by_slug, by_ror, new])).unwrap(),
    );
    let (ok, out, err) = cli(&db.url, &["import", file.path()]);
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("1 created, 2 updated, 1 unchanged, 0 rejected"),
        "{out}"
    );
    let v = get_ok(&app, "/v1/institutes/vector-institute").await;
    assert_eq!(v["city"], "Toronto, Ontario");
    assert_eq!(v["version"], vector["version"].as_i64().unwrap() + 1);
    assert_eq!(v["id"], vector["id"]);
    let m = get_ok(&app, "/v1/institutes/mila").await;
    assert_eq!(m["description"], "Quebec's AI institute.");
    // Figures were not in the records as series: they stay.
    assert_eq!(m["latest_budget"], mila["latest_budget"]);
    let t = get_ok(&app, "/v1/institutes/alan-turing-institute").await;
    assert_eq!(t["version"], turing["version"]);
    let n = get_ok(&app, "/v1/institutes/institut-nouveau").await;
    assert_eq!(n["parent"]["slug"], "alan-turing-institute");
    let history = get_ok(&app, "/v1/institutes/vector-institute/history").await;
    assert_eq!(history["items"][0]["actor"], "import");
    assert_eq!(history["items"][0]["action"], "update");
    assert_eq!(history["items"][0]["after"]["city"], "Toronto, Ontario");

    // An id that is not in the registry but names a taken slug is refused, not guessed.
    let mut stray = vector.clone();
    stray["id"] = json!("ins_0000000000000000");
    let file = TempFile::new("stray.ndjson", &line(stray));
    let (ok, _, err) = cli(&db.url, &["import", file.path()]);
    assert!(!ok);
    assert!(
        err.contains("/id: ins_0000000000000000 is not in the registry, but the slug is that of"),
        "{err}"
    );
}

#[actix_rt::test]
async fn csv_imports_check_the_header_and_name_columns() {
    let (db, _pool, app) = app().await;
    let file = TempFile::new("bad-header.csv", "slug,name,colour\nx,X,red\n");
    let (ok, _, err) = cli(&db.url, &["import", file.path()]);
    assert!(!ok);
    assert!(err.contains("unknown column 'colour'"), "{err}");

    let text = "slug,name,kind,country,founded,ror,sectors,budgets\r\n\
                csv-one,CSV One,university,DE,1999,,robotics|healthcare,\r\n\
                csv-two,CSV Two,university,DE,nineteen,,,\r\n\
                csv-three,CSV Three,university,DE,,not-a-ror,,\r\n\
                csv-four,CSV Four,university,DE,,,,\"[{\"\"year\"\": 2024, \"\"kind\"\": \"\"annual\"\", \"\"amount\"\": -5, \"\"currency\"\": \"\"EUR\"\", \"\"source\"\": \"\"s\"\"}]\"\r\n";
    let file = TempFile::new("rows.csv", text);
    let (ok, out, err) = cli(&db.url, &["import", file.path(), "--partial"]);
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("1 created, 0 updated, 0 unchanged, 3 rejected"),
        "{out}"
    );
    for expected in [
        "line 3 (csv-two): founded: must be an integer",
        "line 4 (csv-three): ror: must be a ROR id",
        "line 5 (csv-four): budgets: must be an integer from 0 to",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in:\n{err}");
    }
    let one = get_ok(&app, "/v1/institutes/csv-one").await;
    assert_eq!(one["sectors"], json!(["healthcare", "robotics"]));
    assert_eq!(one["founded"], 1999);
}

#[actix_rt::test]
async fn a_key_given_twice_in_a_json_array_file_rejects_that_record_only() {
    let (db, _pool, app) = app().await;
    let text = concat!(
        r#"[{"slug": "twice-one", "name": "Twice One", "name": "Other", "kind": "non_profit", "country": "FR"},"#,
        r#" {"slug": "twice-two", "name": "Twice Two", "kind": "non_profit", "country": "FR",
            "external_ids": {"ror": "00aaaaa00", "ror": "00bbbbb00"}},"#,
        r#" {"slug": "twice-three", "name": "Twice Three", "kind": "non_profit", "country": "FR"}]"#
    );
    let file = TempFile::new("twice.json", text);
    let (ok, out, err) = cli(&db.url, &["import", file.path(), "--partial"]);
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("1 created, 0 updated, 0 unchanged, 2 rejected"),
        "{out}"
    );
    for expected in [
        " 1 (?): /name: given more than once",
        " 2 (?): /external_ids/ror: given more than once",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in:\n{err}");
    }
    assert_eq!(get(&app, "/v1/institutes/twice-one").await.status, 404);
    assert_eq!(get(&app, "/v1/institutes/twice-two").await.status, 404);
    assert_eq!(
        get_ok(&app, "/v1/institutes/twice-three").await["name"],
        "Twice Three"
    );
}

#[actix_rt::test]
async fn lineage_is_bounded_and_says_when_it_is_cut() {
    let (db, _pool, app) = app().await;
    let record = |slug: &str, parent: Option<&str>| {
        let mut r = json!({"slug": slug, "name": format!("Lineage {slug}"),
                           "kind": "non_profit", "country": "FR"});
        if let Some(p) = parent {
            r["parent"] = json!(p);
        }
        line(r)
    };
    // A root with 150 children, ten of which have 100 children each (1,150 below the root),
    // and a chain 120 levels deep.
    let mut text = record("lin-root", None);
    for i in 0..150 {
        text += &record(&format!("lin-c{i:03}"), Some("lin-root"));
    }
    for i in 0..10 {
        for j in 0..100 {
            text += &record(
                &format!("lin-g{i:03}-{j:03}"),
                Some(&format!("lin-c{i:03}")),
            );
        }
    }
    text += &record("lin-chain-000", None);
    for i in 1..120 {
        text += &record(
            &format!("lin-chain-{i:03}"),
            Some(&format!("lin-chain-{:03}", i - 1)),
        );
    }
    let file = TempFile::new("lineage.ndjson", &text);
    let (ok, out, err) = cli(&db.url, &["import", file.path()]);
    assert!(ok, "{out}{err}");
    settle(&app).await;

    // The record lists the first 100 children by name and says how many there are.
    let root = get_ok(&app, "/v1/institutes/lin-root").await;
    let children = root["children"].as_array().unwrap();
    assert_eq!(children.len(), 100);
    assert_eq!(root["children_total"], 150);
    assert_eq!(children[0]["slug"], "lin-c000");
    assert_eq!(children[99]["slug"], "lin-c099");
    // All of them, paged, from the list.
    let listed = get_ok(&app, "/v1/institutes?parent=lin-root&limit=1").await;
    assert_eq!(listed["total"], 150);
    let leaf = get_ok(&app, "/v1/institutes/lin-g000-000").await;
    assert_eq!(leaf["children_total"], 0);
    assert_eq!(leaf["children"], json!([]));

    // Descendants: at most 1,000, breadth first, and a flag when there are more.
    let r = get_ok(&app, "/v1/institutes/lin-root?include=descendants").await;
    let below = r["descendants"].as_array().unwrap();
    assert_eq!(below.len(), 1000);
    assert_eq!(r["descendants_truncated"], true);
    assert_eq!(below[0]["depth"], 1);
    assert_eq!(below[150]["depth"], 2);
    assert!(
        r.get("ancestors_truncated").is_none(),
        "{}",
        r["ancestors_truncated"]
    );
    let r = get_ok(
        &app,
        "/v1/institutes/lin-c001?include=descendants,ancestors",
    )
    .await;
    assert_eq!(r["descendants"].as_array().unwrap().len(), 100);
    assert_eq!(r["descendants_truncated"], false);
    assert_eq!(r["ancestors"][0]["slug"], "lin-root");
    assert_eq!(r["ancestors_truncated"], false);

    // Depth is not a limit: the whole chain below its top (119 levels).
    let r = get_ok(&app, "/v1/institutes/lin-chain-000?include=descendants").await;
    let chain = r["descendants"].as_array().unwrap();
    assert_eq!(chain.len(), 119);
    assert_eq!(chain[118]["depth"], 119);
    assert_eq!(chain[118]["slug"], "lin-chain-119");
    assert_eq!(r["descendants_truncated"], false);
    // Ancestors: at most 100 levels, nearest first, and a flag when there are more.
    let r = get_ok(&app, "/v1/institutes/lin-chain-119?include=ancestors").await;
    let up = r["ancestors"].as_array().unwrap();
    assert_eq!(up.len(), 100);
    assert_eq!(up[0]["slug"], "lin-chain-118");
    assert_eq!(r["ancestors_truncated"], true);
}

#[actix_rt::test]
async fn command_line_details() {
    use std::io::Read;
    // `openapi | head`: a reader that stops early is not a failure.
    let mut child = Command::new(env!("CARGO_BIN_EXE_institute-registry"))
        .arg("openapi")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 10];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert_eq!(&first[..1], b"{");
    // A boolean setting that is not a boolean is refused, not taken as true.
    let out = Command::new(env!("CARGO_BIN_EXE_institute-registry"))
        .args(["--database-url", "/nonexistent/never.db", "serve"])
        .env("NO_SEED", "nope")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("invalid value 'nope'"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The help names RUST_LOG.
    let out = Command::new(env!("CARGO_BIN_EXE_institute-registry"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("RUST_LOG"));
}

/// `generate` writes only into a database of its own, says so, and shows progress; a dry-run
/// import creates no database; serve's flags given before another command are refused.
#[actix_rt::test]
async fn command_line_guards() {
    let db = TestDb::new();
    let (ok, _, err) = cli(&db.url, &["generate", "--institutes", "200"]);
    assert!(ok, "{err}");
    assert!(
        err.contains("generate: adding 200 synthetic institutes"),
        "{err}"
    );
    assert!(err.contains("generate: importing"), "progress: {err}");
    // A second generation is refused in plain words, before anything is written.
    let (ok, _, err) = cli(&db.url, &["generate", "--institutes", "200"]);
    assert!(!ok);
    assert!(
        err.contains("already holds 200 synthetic institutes"),
        "{err}"
    );
    assert!(!err.to_lowercase().contains("unique"), "{err}");
    // A registry in use (it has a key) is not a benchmark's.
    let used = TestDb::new();
    let (ok, _, err) = cli(
        &used.url,
        &["keys", "create", "--name", "k", "--role", "editor"],
    );
    assert!(ok, "{err}");
    let (ok, _, err) = cli(&used.url, &["generate", "--institutes", "10"]);
    assert!(!ok);
    assert!(err.contains("a registry in use"), "{err}");
    // Export shows progress too.
    let file = temp("generated.ndjson");
    let (ok, _, err) = cli(&db.url, &["export", "-o", file.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(err.contains("export: exported"), "{err}");
    // A dry run against a SQLite file that does not exist leaves it so.
    let missing = temp("never.db");
    let (ok, out, err) = cli(
        missing.to_str().unwrap(),
        &["import", "--dry-run", file.to_str().unwrap()],
    );
    assert!(ok, "{err}");
    assert!(out.starts_with("dry run, nothing written"), "{out}");
    assert!(
        !missing.exists(),
        "the dry run created {}",
        missing.display()
    );
    // Serve's flags before another command would be ignored: refused instead.
    let (ok, _, err) = cli(&db.url, &["--pool-size", "3", "keys", "list"]);
    assert!(!ok);
    assert!(err.contains("--pool-size given before `keys`"), "{err}");
    let _ = std::fs::remove_file(&file);
    let _ = std::fs::remove_file(format!("{}.sequence", file.display()));
}
