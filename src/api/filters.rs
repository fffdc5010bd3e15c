//! The institute filters shared by the list, its exports and `/v1/stats`: one set of query
//! parameters, read and checked in one place, all problems reported together.

use super::params::Checker;
use super::{db, AppState};
use crate::error::ApiError;
use crate::model::institute::{InstituteKind, InstituteStatus};
use crate::read::query::InstituteFilter;
use crate::read::Reference;
use serde::Deserialize;
use utoipa::IntoParams;

/// Which institutes: every filter of the list. Lists are comma-separated and mean "any of".
#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FilterParams {
    /// Search over names, acronyms and aliases, case- and accent-insensitive ("montreal" finds
    /// "Montréal"); every word must match as the start of a word, and a misspelled word is
    /// matched to the closest known words. Results are ranked: exact name or acronym, then
    /// names starting with `q`, then word matches, then typo-tolerant matches.
    #[param(example = "turing", max_length = 200)]
    pub q: Option<String>,
    /// ISO 3166-1 alpha-2 country codes, comma-separated (any of; case-insensitive).
    #[param(example = "CA,GB", pattern = r"^[A-Za-z]{2}(,[A-Za-z]{2}){0,49}$")]
    pub country: Option<String>,
    /// UN M49 regions or sub-regions, comma-separated (any of; case-insensitive): `Asia`,
    /// `Europe`, `Americas`, `Africa`, `Oceania`, `Eastern Asia`, `Northern America`, …
    #[param(example = "Asia")]
    pub region: Option<String>,
    /// Sector slugs from `/v1/sectors`, comma-separated (any of). An unknown slug is a 400.
    #[param(
        example = "healthcare",
        pattern = r"^[a-z0-9-]{1,100}(,[a-z0-9-]{1,100}){0,49}$"
    )]
    pub sector: Option<String>,
    /// Kinds, comma-separated (any of): government, public_research, university, non_profit,
    /// consortium, company.
    #[param(
        example = "non_profit,university",
        pattern = r"^(government|public_research|university|non_profit|consortium|company)(,(government|public_research|university|non_profit|consortium|company)){0,49}$"
    )]
    pub kind: Option<String>,
    /// Statuses, comma-separated (any of): active, inactive, withdrawn. Default `active`;
    /// `all` for every status.
    #[param(
        example = "active",
        pattern = r"^(all|(active|inactive|withdrawn)(,(active|inactive|withdrawn)){0,49})$"
    )]
    pub status: Option<String>,
    /// Founded in or after this year.
    #[param(value_type = Option<i32>, minimum = 1000, maximum = 3000, example = 2010)]
    pub founded_from: Option<String>,
    /// Founded in or before this year.
    #[param(value_type = Option<i32>, minimum = 1000, maximum = 3000, example = 2020)]
    pub founded_to: Option<String>,
    /// At least this latest headcount (researchers, or staff where no researchers are counted).
    #[param(value_type = Option<i32>, minimum = 0, example = 300)]
    pub headcount_min: Option<String>,
    /// At most this latest headcount.
    #[param(value_type = Option<i32>, minimum = 0, example = 5000)]
    pub headcount_max: Option<String>,
    /// At least this comparable budget (annual, or annualized multi-year), in `currency`.
    #[param(value_type = Option<i64>, minimum = 0, example = 10000000)]
    pub budget_min: Option<String>,
    /// At most this comparable budget, in `currency`.
    #[param(value_type = Option<i64>, minimum = 0, example = 1000000000)]
    pub budget_max: Option<String>,
    /// ISO 4217 code (default USD). Bounds `budget_min`/`budget_max` are in this currency,
    /// converted at its latest published yearly rate; money in the response is also shown in
    /// it (`converted`), at the yearly average rate of each figure's own year. `PPP`: budgets
    /// valued in international dollars at purchasing-power parity (each comparable budget at
    /// its country's World Bank PPP factor of the figure's year): the bounds are in
    /// international dollars, `sort=budget` orders by that value, `/v1/stats` adds it up,
    /// and money is shown converted to it; an institute whose country or year has no factor
    /// has no such value (it fails budget bounds and sorts last).
    #[param(example = "EUR", pattern = "^[A-Za-z]{3}$")]
    pub currency: Option<String>,
    /// Only children of this institute (id or slug).
    #[param(example = "cifar")]
    pub parent: Option<String>,
    /// Only these institutes: up to 100 ids or slugs, comma-separated. An unknown one is a 400.
    #[param(example = "mila,vector-institute,amii")]
    pub ids: Option<String>,
    /// Only institutes changed at or after this time (RFC 3339), a filter on `updated_at`.
    /// To keep a copy in sync, follow `/v1/changes` instead: it also reports deletions.
    #[param(example = "2026-01-01T00:00:00Z")]
    pub updated_since: Option<String>,
    /// Answer only once this server reflects this change of the registry's sequence (the
    /// `Registry-Sequence` of a write's answer): reads your writes through any replica. Waits
    /// up to 2 s, then 503; a number beyond the registry's last committed change is a 400.
    #[param(value_type = Option<i64>, minimum = 0, example = 1)]
    pub min_sequence: Option<String>,
}

/// The names of `FilterParams`, for the unknown-parameter check.
pub const FILTER_NAMES: &[&str] = &[
    "q",
    "country",
    "region",
    "sector",
    "kind",
    "status",
    "founded_from",
    "founded_to",
    "headcount_min",
    "headcount_max",
    "budget_min",
    "budget_max",
    "currency",
    "parent",
    "ids",
    "updated_since",
    "min_sequence",
];

const MAX_LIST_VALUES: usize = 50;
const MAX_Q: usize = 200;

/// Filters read from the query string, before the database has checked names and codes.
#[derive(Debug, Clone)]
pub struct RawFilter {
    q: Option<String>,
    countries: Vec<String>,
    regions: Vec<String>,
    sectors: Vec<String>,
    filter: InstituteFilter,
    budget_min: Option<i64>,
    budget_max: Option<i64>,
    /// The requested display currency (checked to be a known code by `resolve`).
    pub currency: Option<String>,
    ids: Vec<String>,
    parent: Option<String>,
    /// The change the answer must reflect.
    pub min_sequence: Option<i64>,
}

impl RawFilter {
    /// Whether a search was asked for.
    pub fn has_search(&self) -> bool {
        self.q.is_some()
    }
}

/// Reads every filter, recording problems in `check`.
pub fn parse(params: &FilterParams, check: &mut Checker) -> RawFilter {
    let kinds = check.list_of(
        "kind",
        params.kind.as_deref(),
        MAX_LIST_VALUES,
        &InstituteKind::names(),
        InstituteKind::parse,
    );
    let statuses = match params.status.as_deref() {
        Some("all") => Vec::new(),
        None => vec![InstituteStatus::Active],
        raw => check.list_of(
            "status",
            raw,
            MAX_LIST_VALUES,
            &format!("{} or all", InstituteStatus::names()),
            InstituteStatus::parse,
        ),
    };
    let countries: Vec<String> = check
        .list("country", params.country.as_deref(), MAX_LIST_VALUES)
        .into_iter()
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let regions = check.list("region", params.region.as_deref(), MAX_LIST_VALUES);
    let sectors = check.list("sector", params.sector.as_deref(), MAX_LIST_VALUES);
    let year = |check: &mut Checker, name: &str, raw: Option<&str>| {
        raw.map(|_| check.int(name, raw, 1000, 3000, 0) as i32)
    };
    let count = |check: &mut Checker, name: &str, raw: Option<&str>| {
        raw.map(|_| check.int(name, raw, 0, i64::from(i32::MAX), 0) as i32)
    };
    let money = |check: &mut Checker, name: &str, raw: Option<&str>| {
        raw.map(|_| check.int(name, raw, 0, crate::model::input::MAX_AMOUNT, 0))
    };
    let currency = params
        .currency
        .as_deref()
        .map(|c| c.trim().to_ascii_uppercase());
    if let Some(c) = &currency {
        if c.len() != 3 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
            check.fail(
                "currency",
                "must be an ISO 4217 code such as EUR, or PPP for international dollars",
            );
        }
    }
    let updated_since = check.time("updated_since", params.updated_since.as_deref());
    let q = params.q.clone();
    if let Some(q) = &q {
        if q.chars().count() > MAX_Q {
            check.fail("q", format!("at most {MAX_Q} characters"));
        } else if q.chars().any(char::is_control) {
            check.fail("q", "must not hold control characters");
        } else if crate::model::ids::fold(q).is_empty() {
            check.fail("q", "must hold at least one letter or digit");
        }
    }
    let raw = RawFilter {
        q,
        filter: InstituteFilter {
            kinds,
            statuses,
            founded_from: year(check, "founded_from", params.founded_from.as_deref()),
            founded_to: year(check, "founded_to", params.founded_to.as_deref()),
            headcount_min: count(check, "headcount_min", params.headcount_min.as_deref()),
            headcount_max: count(check, "headcount_max", params.headcount_max.as_deref()),
            updated_since,
            ..InstituteFilter::default()
        },
        countries,
        regions,
        sectors,
        budget_min: money(check, "budget_min", params.budget_min.as_deref()),
        budget_max: money(check, "budget_max", params.budget_max.as_deref()),
        currency,
        ids: check.list("ids", params.ids.as_deref(), 100),
        parent: params.parent.clone(),
        min_sequence: super::consistency::parse(check, params.min_sequence.as_deref()),
    };
    // A range whose bounds are the wrong way round matches nothing: say so rather than answer
    // an empty list.
    let f = &raw.filter;
    for (low, high, from, to) in [
        (
            "founded_from",
            "founded_to",
            f.founded_from.map(i64::from),
            f.founded_to.map(i64::from),
        ),
        (
            "headcount_min",
            "headcount_max",
            f.headcount_min.map(i64::from),
            f.headcount_max.map(i64::from),
        ),
        ("budget_min", "budget_max", raw.budget_min, raw.budget_max),
    ] {
        if let (Some(from), Some(to)) = (from, to) {
            if from > to {
                check.fail(
                    low,
                    format!("{from} is greater than {high} ({to}): the range is empty"),
                );
            }
        }
    }
    raw
}

/// The country code meant by an unknown one: the usual aliases (UK, EL), a country's name
/// given in its place, or a name close to it.
fn country_meant<'a>(reference: &'a crate::read::Reference, given: &str) -> Option<&'a str> {
    let alias = match given {
        "UK" => Some("GB"),
        "EL" => Some("GR"),
        _ => None,
    };
    if let Some(code) = alias.and_then(|a| reference.countries.get_key_value(a)) {
        return Some(code.0.as_str());
    }
    let name = crate::model::spelling::closest(
        given,
        reference.countries.values().map(|c| c.name.as_str()),
    )?;
    reference
        .countries
        .values()
        .find(|c| c.name == name)
        .map(|c| c.code.as_str())
}

/// Checks names and codes against the reference data and builds the read model's filter;
/// `ids` and `parent` are looked up by id or slug in the read model, and, failing that, in the
/// database (former slugs, external ids). Problems are added to the returned checker; the
/// caller finishes it.
pub async fn resolve(
    state: &AppState,
    raw: RawFilter,
    mut check: Checker,
) -> Result<(InstituteFilter, Checker), ApiError> {
    let mut filter = raw.filter.clone();
    let mut pending: Vec<(&'static str, String)> = Vec::new();
    {
        let read = state.read.read()?;
        let reference = &read.reference;
        for c in raw
            .countries
            .iter()
            .filter(|c| !reference.countries.contains_key(*c))
        {
            check.fail(
                "country",
                format!(
                    "unknown ISO 3166-1 alpha-2 code '{c}'{}",
                    crate::model::spelling::hint(country_meant(reference, c))
                ),
            );
        }
        filter.countries = raw.countries.clone();
        let (min, max) = budget_bounds(reference, &raw, &mut check);
        filter.ppp = raw.currency.as_deref() == Some(crate::model::money::PPP);
        if !raw.regions.is_empty() {
            let known = &reference.regions;
            let mut names = Vec::new();
            for r in &raw.regions {
                match known.iter().find(|k| k.eq_ignore_ascii_case(r)) {
                    Some(k) => names.push(k.clone()),
                    None => check.fail(
                        "region",
                        format!("unknown region '{r}'; one of {}", known.join(", ")),
                    ),
                }
            }
            filter.region_countries = Some(reference.countries_in_regions(&names));
        }
        for s in raw
            .sectors
            .iter()
            .filter(|s| !reference.sectors.contains_key(*s))
        {
            check.fail(
                "sector",
                format!(
                    "unknown sector '{s}'{}; see /v1/sectors",
                    crate::model::spelling::hint(crate::model::spelling::closest(
                        s,
                        reference.sectors.keys().map(String::as_str)
                    ))
                ),
            );
        }
        filter.sectors = raw.sectors.clone();
        filter.budget_min_usd = min;
        filter.budget_max_usd = max;
        let mut known = |field: &'static str, r: &str| -> Option<String> {
            let found = crate::store::plausible_ref(r)
                .then(|| read.table.ord_of(r))
                .flatten()
                .and_then(|o| read.table.row(o))
                .map(|row| row.id.to_string());
            if found.is_none() {
                pending.push((field, r.to_string()));
            }
            found
        };
        filter.ids = raw.ids.iter().filter_map(|r| known("ids", r)).collect();
        filter.parent = raw.parent.as_deref().and_then(|p| known("parent", p));
    }
    if !pending.is_empty() {
        let found = db(state, move |conn| {
            let mut found = Vec::new();
            for (field, r) in pending {
                let id = crate::store::institutes::resolve_live(conn, &r)?;
                found.push((field, r, id));
            }
            Ok(found)
        })
        .await?;
        for (field, r, id) in found {
            match (field, id) {
                ("ids", Some(id)) => filter.ids.push(id),
                (_, Some(id)) => filter.parent = Some(id),
                (field, None) => check.fail(
                    field,
                    format!("no institute has the id or slug '{}'", r.escape_debug()),
                ),
            }
        }
    }
    if check.errors.is_empty() {
        filter.search = raw.q;
    }
    Ok((filter, check))
}

/// `budget_min`/`budget_max` in USD: converted from `currency` at its latest published rate
/// (with `PPP`, in international dollars as given).
fn budget_bounds(
    reference: &Reference,
    raw: &RawFilter,
    check: &mut Checker,
) -> (Option<f64>, Option<f64>) {
    if raw.currency.as_deref() == Some(crate::model::money::PPP) {
        return (
            raw.budget_min.map(|a| a as f64),
            raw.budget_max.map(|a| a as f64),
        );
    }
    let mut currency_ok = true;
    if let Some(c) = &raw.currency {
        currency_ok = c.len() == 3 && reference.currencies.contains(c);
        if c.len() == 3 && !currency_ok {
            check.fail("currency", format!("unknown ISO 4217 code '{c}'"));
        }
    }
    let mut to_usd = |field: &str, amount: Option<i64>| -> Option<f64> {
        let amount = amount.filter(|_| currency_ok)?;
        let code = raw.currency.clone().unwrap_or_else(|| "USD".into());
        match reference.rates.latest_units_per_usd(&code) {
            Some(rate) => Some(amount as f64 / rate),
            None => {
                check.fail(
                    if raw.currency.is_some() {
                        "currency"
                    } else {
                        field
                    },
                    format!("no exchange rate is known for '{code}'; see /v1/exchange-rates"),
                );
                None
            }
        }
    };
    (
        to_usd("budget_min", raw.budget_min),
        to_usd("budget_max", raw.budget_max),
    )
}

/// `?currency=` on a read that shows money.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CurrencyParams {
    /// ISO 4217 code: every amount is also shown in this currency (`converted`), through USD
    /// at the yearly average rates of the figure's own year; a missing rate gives a null amount
    /// and a note, never another year's rate. `PPP`: in international dollars of the figure's
    /// year, at purchasing-power parity: the amount (taken into the local currency at the
    /// year's market rate when it is in another) divided by the World Bank's PPP conversion
    /// factor (`PA.NUS.PPP`) of the figure's country and year, shown in `converted.ppp`; a
    /// country or year without a factor gives a null amount and a note.
    #[param(example = "EUR", pattern = "^[A-Za-z]{3}$")]
    pub currency: Option<String>,
}

/// Checks a display currency: an ISO 4217 code the registry knows (upper-cased).
pub fn display_currency(state: &AppState, raw: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(raw) = raw else { return Ok(None) };
    let code = raw.trim().to_ascii_uppercase();
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(ApiError::field(
            "currency",
            "must be an ISO 4217 code such as EUR, or PPP for international dollars",
        ));
    }
    if code == crate::model::money::PPP {
        return Ok(Some(code));
    }
    if !state.read.read()?.reference.currencies.contains(&code) {
        return Err(ApiError::field(
            "currency",
            format!("unknown ISO 4217 code '{code}'"),
        ));
    }
    Ok(Some(code))
}
