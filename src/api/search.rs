//! `/v1/institutes/suggest`: a search box's completions.

use super::params::{check_names, parse_query, Checker};
use super::AppState;
use crate::error::ApiError;
use crate::model::institute::InstituteStatus;
use crate::read::query::{InstituteFilter, SortField, SortKey};
use crate::read::Tier;
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
    let read = state.read.read()?;
    let Some(found) = state.read.search(&read, &q)? else {
        return Ok(web::Json(SuggestionList { items: Vec::new() }));
    };
    let filter = InstituteFilter {
        statuses: vec![InstituteStatus::Active],
        ..InstituteFilter::default()
    };
    let set = read.table.matching(&filter, Some(&found.hits));
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
    let ords = read
        .table
        .ordered(&set, &keys, None, Some(limit as usize), &found.ranks);
    let items = ords
        .into_iter()
        .filter_map(|o| {
            let r = read.table.row(o)?;
            Some(Suggestion {
                match_type: found.tier(o).unwrap_or(Tier::Words).into(),
                id: r.id.to_string(),
                slug: r.slug.to_string(),
                name: r.name.to_string(),
                acronym: r.acronym.as_deref().map(str::to_string),
                country: read.table.country_names.name(r.country).to_string(),
            })
        })
        .collect();
    Ok(web::Json(SuggestionList { items }))
}
