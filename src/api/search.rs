//! `/v1/institutes/suggest`: a search box's completions.

use super::params::{check_names, parse_query, Checker};
use super::{db, AppState};
use crate::error::ApiError;
use crate::model::institute::InstituteStatus;
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
