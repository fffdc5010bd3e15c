//! `/v1/stats`: counts, totals and medians per group, over the list's filters.

use super::consistency;
use super::filters::{self, FilterParams, FILTER_NAMES};
use super::params::{check_names_into, parse_query, Checker};
use super::preconditions::SEQUENCE;
use super::AppState;
use crate::error::ApiError;
use crate::model::money::RateUsed;
use crate::model::stats::{Group, GroupIndicators};
use crate::read::aggregates;
use crate::read::query::GroupBy;
use actix_web::{get, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// How to group.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsParams {
    /// The grouping: country, region (UN M49), sector (an institute counts in each of its
    /// sectors), kind, or founded_decade.
    #[param(
        required = true,
        example = "country",
        pattern = "^(country|region|sector|kind|founded_decade)$"
    )]
    pub group_by: Option<String>,
}

/// Aggregates per group.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatsReport {
    /// The grouping asked for.
    #[schema(example = "country")]
    pub group_by: String,
    /// ISO 4217 code that budgets are given in, or `PPP` (international dollars).
    #[schema(example = "USD")]
    pub currency: String,
    /// The rate budgets were converted with from their comparable USD values: the latest
    /// published yearly average of `currency` (1 for USD); null with `currency=PPP`, where
    /// each budget is valued at its own country's and year's PPP factor instead.
    pub rate: Option<RateUsed>,
    /// Institutes matching the filters.
    #[schema(example = 100)]
    pub count: i64,
    /// Every group, largest first; the group of institutes without a value (null key) last
    /// among equals.
    pub groups: Vec<Group>,
}

/// Aggregate institutes by group
///
/// For every group of the institutes matching the filters (the list's filters, `q` included):
/// the number of institutes, and the total and median of their latest headcount and of their
/// latest comparable budget (annual, else annualized multi-year), in `currency`. No group is
/// left out. Budgets are compared in USD at each figure's own year's rate, then shown in
/// `currency` at its latest yearly rate (`rate`); with `currency=PPP`, in international
/// dollars, each at its country's PPP factor of its year. Grouped by country or region, each
/// group also has its population and GDP and its budget total per inhabitant and as a share
/// of GDP (`indicators`).
#[utoipa::path(
    tag = "institutes",
    operation_id = "getStats",
    params(StatsParams, FilterParams),
    responses(
        (status = 200, description = "Aggregates per group.", body = StatsReport),
        (status = 400, response = super::problems::BadRequest),
        (status = 500, response = super::problems::InternalError),
        (status = 503, response = super::problems::Unavailable)
    )
)]
#[get("/v1/stats")]
pub async fn get_stats(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let accepted = [FILTER_NAMES, &["group_by"]].concat();
    let mut check = Checker::default();
    check_names_into(req.query_string(), &accepted, &mut check)?;
    let params: FilterParams = parse_query(req.query_string(), &accepted)?;
    let grouping: StatsParams = parse_query(req.query_string(), &accepted)?;
    let raw = filters::parse(&params, &mut check);
    let group_by = match grouping.group_by.as_deref().map(str::trim) {
        None => {
            check.fail("group_by", format!("required: one of {}", GroupBy::NAMES));
            None
        }
        Some(g) => match GroupBy::parse(g) {
            Some(by) => Some((by, g.to_string())),
            None => {
                check.fail(
                    "group_by",
                    format!("unknown grouping '{g}'; one of {}", GroupBy::NAMES),
                );
                None
            }
        },
    };
    let currency = raw.currency.clone().unwrap_or_else(|| "USD".into());
    let min_sequence = raw.min_sequence;
    let (filter, mut check) = filters::resolve(&state, raw, check).await?;
    let ppp = currency == crate::model::money::PPP;
    let rate = if ppp {
        None
    } else {
        state.read.read()?.reference.rates.latest_rate(&currency)
    };
    if !ppp && rate.is_none() && check.errors.iter().all(|e| e.field != "currency") {
        check.fail(
            "currency",
            format!("no exchange rate is known for '{currency}'; see /v1/exchange-rates"),
        );
    }
    check.finish()?;
    consistency::reach(&state, min_sequence).await?;
    let (Some((by, name)), true) = (group_by, ppp || rate.is_some()) else {
        return Err(ApiError::Internal(
            "stats checked without a grouping".into(),
        ));
    };
    let (report, sequence) = {
        let read = state.read.read()?;
        let sequence = state.read.sequence();
        let (set, _) = state.read.matching(&read, &filter)?;
        let acc = aggregates::group(&read, &set, by, ppp);
        let units = rate.as_ref().map_or(1.0, |r| r.units_per_usd);
        let measure = |k: &str, total: Option<f64>, usd: Option<f64>| match by {
            GroupBy::Country | GroupBy::Region => {
                let (people, gdp, year) = aggregates::people_and_gdp(&read, by, k);
                Some(GroupIndicators::measure(people, gdp, year, total, usd))
            }
            _ => None,
        };
        let groups = acc.finish(
            units,
            |k| match by {
                GroupBy::FoundedDecade => Some(format!("{k}s")),
                GroupBy::Country => read.reference.countries.get(k).map(|c| c.name.clone()),
                GroupBy::Sector => read.reference.sectors.get(k).map(|s| s.name.clone()),
                _ => Some(k.to_string()),
            },
            measure,
        );
        let report = StatsReport {
            group_by: name,
            currency,
            rate,
            count: set.len() as i64,
            groups,
        };
        (report, sequence)
    };
    Ok(HttpResponse::Ok()
        .insert_header((SEQUENCE, sequence.to_string()))
        .json(report))
}
