//! Aggregates from the read model, computed per request over the rows a filter matches:
//! per-group counts with each group's headcounts and budgets (for totals and medians), the
//! country summaries (kept up to date as rows change), and sector counts.

use super::query::GroupBy;
use super::State;
use crate::model::reference::{CountrySummary, LatestIndicators, LatestValue};
use crate::model::stats::Accumulator;
use roaring::RoaringBitmap;
use std::collections::HashMap;

/// Groups the rows of `set` by `by` into an accumulator (an institute counts in each of its
/// sectors; one without a sector or founding year falls in the keyless group).
/// With `ppp`, budgets are their international-dollar values; each group also adds up its
/// budgets in USD.
pub fn group(state: &State, set: &RoaringBitmap, by: GroupBy, ppp: bool) -> Accumulator {
    // Small integer keys while counting; names only for the groups found.
    type Values = (i64, Vec<f64>, Vec<f64>, Option<f64>);
    let mut groups: HashMap<i64, Values> = HashMap::new();
    const NONE: i64 = i64::MIN;
    let table = &state.table;
    // Region names, numbered as met, and each interned country's region number.
    let mut regions: Vec<&str> = Vec::new();
    let mut region_of: Vec<i64> = Vec::new();
    if by == GroupBy::Region {
        for code in &table.country_names.names {
            region_of.push(match state.reference.region_of(code) {
                "" => NONE,
                r => match regions.iter().position(|n| *n == r) {
                    Some(i) => i as i64,
                    None => {
                        regions.push(r);
                        (regions.len() - 1) as i64
                    }
                },
            });
        }
    }
    for ord in set {
        let Some(row) = table.row(ord) else { continue };
        let mut add = |key: i64| {
            let g = groups.entry(key).or_default();
            g.0 += 1;
            if let Some(h) = row.headcount {
                g.1.push(f64::from(h));
            }
            if let Some(b) = if ppp { row.budget_ppp } else { row.budget_usd } {
                g.2.push(b);
            }
            if let Some(b) = row.budget_usd {
                g.3 = Some(g.3.unwrap_or(0.0) + b);
            }
        };
        match by {
            GroupBy::Country => add(i64::from(row.country)),
            GroupBy::Region => add(region_of.get(row.country as usize).copied().unwrap_or(NONE)),
            GroupBy::Kind => add(row.kind as i64),
            GroupBy::FoundedDecade => add(row
                .founded
                .map_or(NONE, |y| i64::from(y.div_euclid(10) * 10))),
            GroupBy::Sector => {
                if row.sectors.is_empty() {
                    add(NONE);
                }
                for s in row.sectors.iter() {
                    add(i64::from(*s));
                }
            }
        }
    }
    let kinds = crate::model::institute::InstituteKind::ALL;
    let mut acc = Accumulator::default();
    for (key, (count, heads, budgets, total_usd)) in groups {
        let name = (key != NONE).then(|| match by {
            GroupBy::Country => table.country_names.name(key as u16).to_string(),
            GroupBy::Region => regions
                .get(key as usize)
                .copied()
                .unwrap_or_default()
                .to_string(),
            GroupBy::Sector => table.sector_names.name(key as u16).to_string(),
            GroupBy::Kind => kinds
                .iter()
                .find(|k| **k as i64 == key)
                .map_or_else(String::new, |k| k.as_str().to_string()),
            GroupBy::FoundedDecade => key.to_string(),
        });
        acc.add_group(name, count, heads, budgets, total_usd);
    }
    acc
}

/// A country's latest population and GDP with their year, or a region's (the sums of its
/// countries' latest, the European Union aggregate left out, with the latest year among them).
pub fn people_and_gdp(
    state: &State,
    by: GroupBy,
    key: &str,
) -> (Option<i64>, Option<f64>, Option<i32>) {
    let codes: Vec<&str> = match by {
        GroupBy::Country => vec![key],
        GroupBy::Region => state
            .reference
            .countries
            .values()
            .filter(|c| c.kind != "union" && c.region == key)
            .map(|c| c.code.as_str())
            .collect(),
        _ => return (None, None, None),
    };
    let (mut people, mut gdp, mut year): (Option<i64>, Option<f64>, Option<i32>) =
        (None, None, None);
    for code in codes {
        let Some(latest) = state.reference.indicators.get(code) else {
            continue;
        };
        if let Some(p) = &latest.population {
            people = Some(people.unwrap_or(0) + p.value as i64);
            year = Some(year.map_or(p.year, |y| y.max(p.year)));
        }
        if let Some(g) = &latest.gdp_current_usd {
            gdp = Some(gdp.unwrap_or(0.0) + g.value);
            year = Some(year.map_or(g.year, |y| y.max(g.year)));
        }
    }
    (people, gdp, year)
}

/// How many active institutes hold each sector of the vocabulary.
pub fn sector_counts(state: &State) -> HashMap<String, i64> {
    state
        .table
        .sector_counts()
        .into_iter()
        .map(|(s, n)| (s, n as i64))
        .collect()
}

/// One country's summary: its active institutes' totals and its programmes; None for a code
/// the registry does not know.
pub fn country_summary(state: &State, code: &str) -> Option<CountrySummary> {
    let country = state.reference.countries.get(code)?;
    let totals = state
        .table
        .country_names
        .get(code)
        .and_then(|i| {
            state
                .table
                .country_totals()
                .get(i as usize)
                .map(|(_, t)| *t)
        })
        .unwrap_or_default();
    let indicators = state
        .reference
        .indicators
        .get(code)
        .cloned()
        .unwrap_or_else(|| LatestIndicators::of(code, &[]));
    let budget = (totals.with_budget > 0).then_some(totals.budget_usd);
    let ratio = |value: &Option<LatestValue>| Some(budget? / value.as_ref()?.value);
    Some(CountrySummary {
        budget_usd_per_inhabitant: ratio(&indicators.population).map(|r| (r * 1e4).round() / 1e4),
        budget_share_of_gdp_percent: ratio(&indicators.gdp_current_usd)
            .map(|r| (r * 100.0 * 1e6).round() / 1e6),
        indicators,
        code: country.code.clone(),
        name: country.name.clone(),
        region: country.region.clone(),
        subregion: country.subregion.clone(),
        currency: country.currency.clone(),
        institutes: totals.institutes,
        total_researchers: totals.researchers,
        total_staff: totals.staff,
        institutes_with_headcount: totals.with_headcount,
        total_budget_usd: (totals.with_budget > 0).then(|| totals.budget_usd.round() as i64),
        total_budget: None,
        total_budget_ppp: (totals.with_budget_ppp > 0).then_some(totals.budget_ppp),
        institutes_with_budget: totals.with_budget,
        programs: state.reference.programs.get(code).copied().unwrap_or(0),
    })
}

/// Every country with at least one active institute or programme, by code.
pub fn country_summaries(state: &State) -> Vec<CountrySummary> {
    state
        .reference
        .countries
        .keys()
        .filter_map(|code| country_summary(state, code))
        .filter(|s| s.institutes > 0 || s.programs > 0)
        .collect()
}
