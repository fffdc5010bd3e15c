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
    // A small number per group while counting (slot 0 for the keyless group, each other
    // key one above its own small number), names only for the groups found; the row's
    // fields from the table's columns (its sectors alone from the row).
    type Values = (i64, Vec<f64>, Vec<f64>, Option<f64>);
    let mut groups: Vec<Values> = Vec::new();
    let table = &state.table;
    let columns = &table.columns;
    // Region names, numbered as met, and each interned country's region slot.
    let mut regions: Vec<&str> = Vec::new();
    let mut region_of: Vec<usize> = Vec::new();
    if by == GroupBy::Region {
        for code in &table.country_names.names {
            region_of.push(match state.reference.region_of(code) {
                "" => 0,
                r => match regions.iter().position(|n| *n == r) {
                    Some(i) => i + 1,
                    None => {
                        regions.push(r);
                        regions.len()
                    }
                },
            });
        }
    }
    let mut sectors: Vec<usize> = Vec::new();
    for ord in set {
        let mut add = |slot: usize| {
            if groups.len() <= slot {
                groups.resize_with(slot + 1, Values::default);
            }
            let g = &mut groups[slot];
            g.0 += 1;
            if let Some(h) = columns.headcount(ord) {
                g.1.push(f64::from(h));
            }
            let usd = columns.budget_usd(ord);
            if let Some(b) = if ppp { columns.budget_ppp(ord) } else { usd } {
                g.2.push(b);
            }
            if let Some(b) = usd {
                g.3 = Some(g.3.unwrap_or(0.0) + b);
            }
        };
        let country = || columns.country.get(ord as usize).copied().unwrap_or(0) as usize;
        match by {
            GroupBy::Country => add(country() + 1),
            GroupBy::Region => add(region_of.get(country()).copied().unwrap_or(0)),
            GroupBy::Kind => add(columns
                .kind
                .get(ord as usize)
                .map_or(0, |k| *k as usize + 1)),
            GroupBy::FoundedDecade => add(columns
                .founded(ord)
                .map_or(0, |y| y.div_euclid(10).clamp(0, 1_000) as usize + 1)),
            GroupBy::Sector => {
                sectors.clear();
                if let Some(row) = table.row(ord) {
                    sectors.extend(row.sectors.iter().map(|s| *s as usize + 1));
                }
                if sectors.is_empty() {
                    add(0);
                }
                for s in &sectors {
                    add(*s);
                }
            }
        }
    }
    let kinds = crate::model::institute::InstituteKind::ALL;
    let mut acc = Accumulator::default();
    for (slot, (count, heads, budgets, total_usd)) in groups.into_iter().enumerate() {
        if count == 0 {
            continue;
        }
        let key = slot.saturating_sub(1);
        let name = (slot != 0).then(|| match by {
            GroupBy::Country => table.country_names.name(key as u16).to_string(),
            GroupBy::Region => regions.get(key).copied().unwrap_or_default().to_string(),
            GroupBy::Sector => table.sector_names.name(key as u16).to_string(),
            GroupBy::Kind => kinds
                .iter()
                .find(|k| **k as usize == key)
                .map_or_else(String::new, |k| k.as_str().to_string()),
            GroupBy::FoundedDecade => (key * 10).to_string(),
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
