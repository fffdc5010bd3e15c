//! Affiliation matching: the GET and batch forms, input as it comes, the index following
//! writes, and the evaluations on the tuning set and on held-out strings.

use crate::common::*;
use actix_web::http::Method;
use serde_json::{json, Value};
use std::collections::HashMap;

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn batch<S, B>(app: &S, body: Value) -> Reply
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    send(
        app,
        write(
            Method::POST,
            "/v1/institutes/match",
            None,
            Some(&body),
            "application/json",
            None,
        ),
    )
    .await
}

async fn match_one<S, B>(app: &S, affiliation: &str) -> Value
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    get_ok(
        app,
        &format!("/v1/institutes/match?affiliation={}", enc(affiliation)),
    )
    .await
}

/// One labelled affiliation of an evaluation.
struct Case {
    affiliation: String,
    /// What it names: registry slugs (tuning set) or ROR ids (held-out sets); empty when it
    /// names no organisation known to be in the registry.
    labels: Vec<String>,
    /// Which set and split it belongs to, for the report.
    group: String,
    /// Whether its misses may be printed (development splits), or only counted (held out).
    show: bool,
}

/// The held-out sets: S2AFF's annotations (splits train, val, test) and the hard cases from
/// ROR's public matching test data (splits dev, test). See tests/data/*/README.md.
fn held_out_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    let mut s2aff = csv::Reader::from_reader(
        include_str!("../data/match-dev/s2aff_gold_affiliation_annotations.csv").as_bytes(),
    );
    for row in s2aff.records() {
        let row = row.unwrap();
        let labels: Vec<String> = row[2]
            .split(['{', '}', ',', '\'', ' '])
            .filter(|l| l.starts_with("https://ror.org/"))
            .map(str::to_string)
            .collect();
        let split = row[3].to_string();
        cases.push(Case {
            affiliation: row[0].to_string(),
            labels,
            show: split != "test",
            group: format!("s2aff/{split}"),
        });
    }
    let mut ror =
        csv::Reader::from_reader(include_str!("../data/match-eval/ror-hard-cases.csv").as_bytes());
    for row in ror.records() {
        let row = row.unwrap();
        let split = row[3].to_string();
        // ROR's labels name one organisation of a string that names several; `also_names`
        // adds the registry institutes such a string names too (see the README).
        let labels = row[1]
            .split(' ')
            .chain(row[4].split(' '))
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect();
        cases.push(Case {
            affiliation: row[0].to_string(),
            labels,
            show: split != "test",
            group: format!("ror-hard/{split}"),
        });
    }
    cases
}

/// ROR id -> slug: the committed mapping, and the registry's own `external_ids.ror` (which
/// wins where present), so that the evaluation follows the registry as it grows.
async fn ror_slugs<S, B>(app: &S) -> HashMap<String, String>
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let mut map = HashMap::new();
    let mut committed =
        csv::Reader::from_reader(include_str!("../data/match-eval/registry-ror.csv").as_bytes());
    for row in committed.records() {
        let row = row.unwrap();
        map.insert(row[0].to_string(), row[1].to_string());
    }
    for item in walk(app, "/v1/institutes?status=all", 100).await {
        if let Some(ror) = item["external_ids"]["ror"].as_str() {
            let id = if ror.starts_with("https://") {
                ror.to_string()
            } else {
                format!("https://ror.org/{ror}")
            };
            map.insert(id, item["slug"].as_str().unwrap().to_string());
        }
    }
    map
}

#[derive(Default, Debug, Clone, Copy)]
struct Tally {
    tp: u32,
    fp: u32,
    fn_: u32,
    tn: u32,
    /// Strings naming another organisation chosen with a score of 0.9 or more.
    confident_fp: u32,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.tp += other.tp;
        self.fp += other.fp;
        self.fn_ += other.fn_;
        self.tn += other.tn;
        self.confident_fp += other.confident_fp;
    }
    fn precision(&self) -> f64 {
        if self.tp + self.fp == 0 {
            1.0
        } else {
            f64::from(self.tp) / f64::from(self.tp + self.fp)
        }
    }
    fn recall(&self) -> f64 {
        if self.tp + self.fn_ == 0 {
            1.0
        } else {
            f64::from(self.tp) / f64::from(self.tp + self.fn_)
        }
    }
    fn line(&self, name: &str) -> String {
        format!(
            "{name:<22} strings {:>5}  positives {:>3}  tp {:>3} fp {:>2} fn {:>2}  precision {:.3}  recall {:.3}  chosen wrongly at >= 0.9: {}",
            self.tp + self.fp.max(self.fn_) + self.tn + self.fp.min(self.fn_) - self.fp.min(self.fn_).min(self.tp + self.fn_),
            self.tp + self.fn_,
            self.tp,
            self.fp,
            self.fn_,
            self.precision(),
            self.recall(),
            self.confident_fp
        )
    }
}

/// Sends every case through the batch endpoint and tallies `chosen` per group. `expected`
/// turns a case's labels into the slugs that would be right.
async fn evaluate<S, B>(
    app: &S,
    cases: &[Case],
    expected: impl Fn(&Case) -> Vec<String>,
) -> (Vec<(String, Tally)>, Vec<String>)
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let mut groups: Vec<(String, Tally)> = Vec::new();
    let mut misses = Vec::new();
    for chunk in cases.chunks(100) {
        let body = json!({
            "affiliations": chunk.iter().map(|c| c.affiliation.as_str()).collect::<Vec<_>>(),
            "limit": 2,
        });
        let r = batch(app, body).await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        let items = r.json()["items"].as_array().unwrap().clone();
        assert_eq!(items.len(), chunk.len());
        for (case, item) in chunk.iter().zip(&items) {
            let want = expected(case);
            let chosen = item["chosen"]["slug"].as_str();
            let score = item["candidates"][0]["score"].as_f64().unwrap_or(0.0);
            let mut t = Tally::default();
            match chosen {
                None if want.is_empty() => t.tn += 1,
                None => t.fn_ += 1,
                Some(c) if want.iter().any(|w| w == c) => t.tp += 1,
                Some(_) => {
                    t.fp += 1;
                    if !want.is_empty() {
                        t.fn_ += 1;
                    }
                    if score >= 0.9 {
                        t.confident_fp += 1;
                    }
                }
            }
            if case.show && (t.fp > 0 || t.fn_ > 0) {
                misses.push(format!(
                    "[{}] {:?} -> {} (expected {:?}; best {})",
                    case.group,
                    case.affiliation,
                    chosen.unwrap_or("-"),
                    want,
                    item["candidates"][0]
                ));
            }
            match groups.iter_mut().find(|(g, _)| *g == case.group) {
                Some((_, g)) => g.add(t),
                None => groups.push((case.group.clone(), t)),
            }
        }
    }
    (groups, misses)
}

fn report(title: &str, groups: &[(String, Tally)], misses: &[String]) -> Tally {
    let mut all = Tally::default();
    let mut lines = vec![title.to_string()];
    for (g, t) in groups {
        all.add(*t);
        lines.push(format!("  {}", t.line(g)));
    }
    lines.push(format!("  {}", all.line("all")));
    println!("{}", lines.join("\n"));
    if !misses.is_empty() {
        println!(
            "  misses on development splits:\n    {}",
            misses.join("\n    ")
        );
    }
    all
}

/// Held-out strings: precision of `chosen` at least 0.98 with recall at least 0.95, and no
/// string that names another organisation chosen with a score of 0.9 or more.
#[actix_rt::test]
async fn match_holds_on_held_out_strings() {
    let (_db, _pool, app) = app().await;
    let slugs = ror_slugs(&app).await;
    let cases = held_out_cases();
    assert!(cases.len() > 5000, "{} cases", cases.len());
    let (groups, misses) = evaluate(&app, &cases, |c| {
        c.labels
            .iter()
            .filter_map(|l| match l.strip_prefix("https://ror.org/") {
                Some(_) => slugs.get(l).cloned(),
                None => Some(l.clone()),
            })
            .collect()
    })
    .await;
    let all = report("held-out affiliation strings", &groups, &misses);
    assert!(all.tp + all.fn_ >= 20, "the held-out sets hold positives");
    assert_eq!(
        all.confident_fp, 0,
        "strings naming another organisation chosen at >= 0.9"
    );
    assert!(all.precision() >= 0.98, "precision {:.3}", all.precision());
    assert!(all.recall() >= 0.95, "recall {:.3}", all.recall());
}

/// The tuning set (tests/data/affiliations.tsv, labelled with slugs).
#[actix_rt::test]
async fn match_chooses_institutes_for_the_tuning_set() {
    let (_db, _pool, app) = app().await;
    let mut cases = Vec::new();
    for line in include_str!("../data/affiliations.tsv").lines().skip(1) {
        let mut cols = line.split('\t');
        let (affiliation, expected) = (cols.next().unwrap(), cols.next().unwrap());
        cases.push(Case {
            affiliation: affiliation.to_string(),
            labels: if expected == "-" {
                vec![]
            } else {
                vec![expected.to_string()]
            },
            group: "tuning".into(),
            show: true,
        });
    }
    let (groups, misses) = evaluate(&app, &cases, |c| c.labels.clone()).await;
    let all = report("tuning set", &groups, &misses);
    assert!(all.tp + all.fn_ >= 100, "the set holds positives");
    assert_eq!(all.confident_fp, 0);
    assert!(all.precision() >= 0.98, "precision {:.3}", all.precision());
    assert!(all.recall() >= 0.9, "recall {:.3}", all.recall());
}
