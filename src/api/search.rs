//! `/v1/institutes/suggest` (a search box's completions) and `/v1/institutes/match` (which
//! institute a free-text affiliation names).

use super::params::{check_names, parse_query, Checker};
use super::{db, AppState};
use crate::error::ApiError;
use crate::model::institute::{InstituteRef, InstituteStatus};
use crate::model::matching::{self, Affiliation, Candidate, CountryNames, MatchType};
use crate::store::institutes::{self as store, InstituteFilter, SortField, SortKey};
use crate::store::search::{self, Tier};
use actix_web::{get, web, HttpRequest};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// How a suggestion matched the typed text.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SearchMatch {
    /// The name or acronym is the text.
    Exact,
    /// The name starts with the text.
    Prefix,
    /// Every typed word starts a word of the name, acronym or an alias.
    Words,
    /// As `words`, once misspelled words are corrected.
    Fuzzy,
}

impl From<Tier> for SearchMatch {
    fn from(t: Tier) -> SearchMatch {
        match t {
            Tier::Exact => SearchMatch::Exact,
            Tier::Prefix => SearchMatch::Prefix,
            Tier::Words => SearchMatch::Words,
            Tier::Fuzzy => SearchMatch::Fuzzy,
        }
    }
}

/// One completion.
#[derive(Debug, Serialize, ToSchema)]
pub struct Suggestion {
    #[schema(example = "ins_3f0dy3k1zw9q8v2m")]
    pub id: String,
    #[schema(example = "alan-turing-institute")]
    pub slug: String,
    #[schema(example = "The Alan Turing Institute")]
    pub name: String,
    #[schema(example = "ATI")]
    pub acronym: Option<String>,
    /// ISO 3166-1 alpha-2 code.
    #[schema(example = "GB")]
    pub country: String,
    #[serde(rename = "match")]
    pub match_type: SearchMatch,
}

/// Completions, best first.
#[derive(Debug, Serialize, ToSchema)]
pub struct SuggestionList {
    pub items: Vec<Suggestion>,
}

/// What was typed.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SuggestParams {
    /// The text typed so far (the last word may be incomplete).
    #[param(required = true, example = "tur", min_length = 1, max_length = 100)]
    pub q: Option<String>,
    /// How many completions, 1 to 20 (default 10).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 20, example = 10)]
    pub limit: Option<String>,
}

fn required_text(check: &mut Checker, field: &str, raw: Option<&str>, max: usize) -> String {
    match raw {
        None => {
            check.fail(field, "required");
            String::new()
        }
        Some(t) if t.chars().count() > max => {
            check.fail(field, format!("at most {max} characters"));
            String::new()
        }
        Some(t) if t.chars().any(char::is_control) => {
            check.fail(field, "must not hold control characters");
            String::new()
        }
        Some(t) if crate::model::ids::fold(t).is_empty() => {
            check.fail(field, "must hold at least one letter or digit");
            String::new()
        }
        Some(t) => t.to_string(),
    }
}

/// Suggest institutes for a search box
///
/// The best-ranked active institutes for what a user has typed so far: exact name or acronym
/// first, then names starting with the text, then names, acronyms or aliases whose words start
/// with the typed words, then typo-tolerant matches. Case and accents are ignored.
#[utoipa::path(
    tag = "institutes",
    operation_id = "suggestInstitutes",
    params(SuggestParams),
    responses(
        (status = 200, description = "Completions, best first.", body = SuggestionList),
        (status = 400, response = super::problems::BadRequest),
        (status = 500, response = super::problems::InternalError),
        (status = 503, response = super::problems::Unavailable)
    )
)]
#[get("/v1/institutes/suggest")]
pub async fn suggest(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<web::Json<SuggestionList>, ApiError> {
    const NAMES: &[&str] = &["q", "limit"];
    check_names(req.query_string(), NAMES)?;
    let params: SuggestParams = parse_query(req.query_string(), NAMES)?;
    let mut check = Checker::default();
    let q = required_text(&mut check, "q", params.q.as_deref(), 100);
    let limit = check.int("limit", params.limit.as_deref(), 1, 20, 10);
    check.finish()?;
    let items = db(&state, move |conn| {
        let Some(plan) = search::plan(conn, &q)? else {
            return Ok(Vec::new());
        };
        let filter = InstituteFilter {
            statuses: vec![InstituteStatus::Active],
            search: Some(plan.clone()),
            ..InstituteFilter::default()
        };
        let keys = [
            SortKey {
                field: SortField::Relevance,
                descending: false,
            },
            SortKey {
                field: SortField::Name,
                descending: false,
            },
        ];
        let (rows, _) = store::page_rows(conn, &filter, &keys, None, limit, None)?;
        Ok(rows
            .into_iter()
            .map(|r| Suggestion {
                match_type: plan.tier_of(&r).into(),
                id: r.id,
                slug: r.slug,
                name: r.name,
                acronym: r.acronym,
                country: r.country,
            })
            .collect())
    })
    .await?;
    Ok(web::Json(SuggestionList { items }))
}

/// The affiliation to match.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MatchParams {
    /// An affiliation as a paper writes it.
    #[param(
        required = true,
        example = "Mila - Quebec AI Institute, Université de Montréal, Montréal, QC, Canada",
        min_length = 1,
        max_length = 1000
    )]
    pub affiliation: Option<String>,
    /// Only candidates scoring at least this, from 0 to 1 (default 0).
    #[param(value_type = Option<f64>, minimum = 0, maximum = 1, example = 0.5)]
    pub min_score: Option<String>,
    /// How many candidates, 1 to 20 (default 5).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 20, example = 5)]
    pub limit: Option<String>,
}

/// One candidate institute for an affiliation.
#[derive(Debug, Serialize, ToSchema)]
pub struct MatchCandidate {
    pub institute: InstituteRef,
    /// ISO 3166-1 alpha-2 code.
    #[schema(example = "CA")]
    pub country: String,
    pub status: InstituteStatus,
    /// How sure the match is, from 0 to 1.
    #[schema(example = 0.95)]
    pub score: f64,
    pub match_type: MatchType,
    /// The name, alias or acronym that matched.
    #[schema(example = "Mila")]
    pub matched: String,
    /// Whether the affiliation names the institute's country or city.
    pub country_hint: bool,
}

/// Candidates for an affiliation, best first.
#[derive(Debug, Serialize, ToSchema)]
pub struct MatchResult {
    /// The affiliation as given.
    pub affiliation: String,
    /// The best candidate when it is unambiguous: it scores at least 0.75 (and `min_score`)
    /// and leads the next candidate by at least 0.05. Null otherwise.
    pub chosen: Option<InstituteRef>,
    pub candidates: Vec<MatchCandidate>,
}

/// Match an affiliation to institutes
///
/// Which institutes a free-text affiliation (as written on papers) names, with a score in
/// [0, 1] and how each matched: the official name (`exact`), an `acronym`, an `alias` (other,
/// former or translated names), the name among other words (`partial`), or most of its words
/// within a typo (`fuzzy`). A country or city named in the affiliation raises candidates there
/// (`country_hint`) and lowers the others. `chosen` is set when the best is unambiguous.
#[utoipa::path(
    tag = "institutes",
    operation_id = "matchAffiliation",
    params(MatchParams),
    responses(
        (status = 200, description = "Candidates, best first, and the choice if unambiguous.", body = MatchResult),
        (status = 400, response = super::problems::BadRequest),
        (status = 500, response = super::problems::InternalError),
        (status = 503, response = super::problems::Unavailable)
    )
)]
#[get("/v1/institutes/match")]
pub async fn match_affiliation(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<web::Json<MatchResult>, ApiError> {
    const NAMES: &[&str] = &["affiliation", "min_score", "limit"];
    check_names(req.query_string(), NAMES)?;
    let params: MatchParams = parse_query(req.query_string(), NAMES)?;
    let mut check = Checker::default();
    let affiliation = required_text(
        &mut check,
        "affiliation",
        params.affiliation.as_deref(),
        1000,
    );
    let limit = check.int("limit", params.limit.as_deref(), 1, 20, 5) as usize;
    let min_score = match params.min_score.as_deref() {
        None => 0.0,
        Some(raw) => match raw.trim().parse::<f64>() {
            Ok(v) if (0.0..=1.0).contains(&v) => v,
            _ => {
                check.fail("min_score", "must be a number from 0 to 1");
                0.0
            }
        },
    };
    check.finish()?;
    let result = db(&state, move |conn| {
        let countries = CountryNames::new(crate::store::reference::country_names(conn)?);
        let aff = Affiliation::parse(&affiliation, &countries);
        let rows = crate::store::matching::candidates(conn, &aff)?;
        let mut scored: Vec<(matching::Scored, MatchCandidate)> = Vec::new();
        for row in rows {
            let aliases: Vec<String> = serde_json::from_str(&row.aliases).unwrap_or_default();
            let candidate = Candidate {
                name: &row.name,
                acronym: row.acronym.as_deref(),
                aliases: &aliases,
                country: &row.country,
                city: row.city.as_deref(),
            };
            if let Some(s) = matching::score(&aff, &candidate) {
                let status = InstituteStatus::parse(&row.status).unwrap_or(InstituteStatus::Active);
                let out = MatchCandidate {
                    institute: InstituteRef {
                        id: row.id,
                        slug: row.slug,
                        name: row.name,
                    },
                    country: row.country,
                    status,
                    score: (s.score * 1000.0).round() / 1000.0,
                    match_type: s.match_type,
                    matched: s.matched.clone(),
                    country_hint: s.country_hint,
                };
                scored.push((s, out));
            }
        }
        scored.sort_by(|a, b| {
            b.0.score
                .total_cmp(&a.0.score)
                .then_with(|| a.1.institute.name.cmp(&b.1.institute.name))
        });
        let scores: Vec<f64> = scored.iter().map(|(s, _)| s.score).collect();
        let chosen = if matching::is_unambiguous(&scores) && scores[0] >= min_score {
            scored.first().map(|(_, c)| c.institute.clone())
        } else {
            None
        };
        let candidates = scored
            .into_iter()
            .map(|(_, c)| c)
            .filter(|c| c.score >= min_score)
            .take(limit)
            .collect();
        Ok(MatchResult {
            affiliation,
            chosen,
            candidates,
        })
    })
    .await?;
    Ok(web::Json(result))
}
