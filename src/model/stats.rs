//! Aggregates per group: counts, totals and medians of the latest headcount and comparable
//! budget. Pure arithmetic over the values the store reads.

use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// Total and median of one figure over a group; only institutes that have the figure count.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct Summary {
    /// How many institutes of the group have this figure.
    #[schema(example = 12)]
    pub known: i64,
    /// Their sum; null when none has it.
    #[schema(example = 5400)]
    pub total: Option<i64>,
    /// Their median (the mean of the two middle values for an even count); null when none has it.
    #[schema(example = 310.5)]
    pub median: Option<f64>,
}

impl Summary {
    fn of(mut values: Vec<f64>) -> Summary {
        if values.is_empty() {
            return Summary {
                known: 0,
                total: None,
                median: None,
            };
        }
        let n = values.len();
        let total: f64 = values.iter().sum();
        // The middle value(s) by selection, not a sort of every value.
        let (below, middle, _) = values.select_nth_unstable_by(n / 2, f64::total_cmp);
        let upper = *middle;
        let median = if n % 2 == 1 {
            upper
        } else {
            let lower = below
                .iter()
                .copied()
                .max_by(f64::total_cmp)
                .unwrap_or(upper);
            (lower + upper) / 2.0
        };
        Summary {
            known: n as i64,
            total: Some(total.round() as i64),
            median: Some((median * 10.0).round() / 10.0),
        }
    }
}

/// One group.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct Group {
    /// The group's value: an ISO country code, a region, a sector slug, a kind, or a decade
    /// (`1990`); null for institutes without one (no sector, unknown founding year).
    #[schema(example = "CA")]
    pub key: Option<String>,
    /// A readable name for the key.
    #[schema(example = "Canada")]
    pub label: Option<String>,
    /// Institutes in the group.
    #[schema(example = 14)]
    pub count: i64,
    /// Latest headcount (researchers, else staff).
    pub headcount: Summary,
    /// Latest comparable budget (annual, else annualized), in the response's `currency`.
    pub budget: Summary,
    /// With `group_by=country` or `region`: the group's population and GDP, and its budget
    /// total per inhabitant and as a share of GDP; null for other groupings and the keyless
    /// group.
    pub indicators: Option<GroupIndicators>,
}

/// A country's or region's population and GDP, and its institutes' budget total measured
/// against them.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct GroupIndicators {
    /// Inhabitants: the country's latest population, or the sum of the latest populations of
    /// the region's countries (the European Union aggregate left out); null when none is known.
    #[schema(example = 69487000)]
    pub population: Option<i64>,
    /// GDP in current US dollars, likewise.
    #[schema(example = 4002587541846.01_f64)]
    pub gdp_current_usd: Option<f64>,
    /// The year of those figures: for a region, the latest year among its countries' latest
    /// values (a country the source has no recent figure for contributes its last one).
    #[schema(example = 2025)]
    pub year: Option<i32>,
    /// The group's budget total per inhabitant, in the response's `currency`, to four
    /// decimals; null without a total or a population.
    #[schema(example = 0.9527)]
    pub budget_per_inhabitant: Option<f64>,
    /// The group's budget total in US dollars (each figure at its own year's rate) as a share
    /// of GDP, in per cent to six decimals; null without a total or a GDP.
    #[schema(example = 0.001654)]
    pub budget_share_of_gdp_percent: Option<f64>,
}

impl GroupIndicators {
    /// Measures a budget total (in the response's currency, and in USD) against population
    /// and GDP.
    pub fn measure(
        population: Option<i64>,
        gdp_current_usd: Option<f64>,
        year: Option<i32>,
        total: Option<f64>,
        total_usd: Option<f64>,
    ) -> GroupIndicators {
        GroupIndicators {
            budget_per_inhabitant: match (total, population) {
                (Some(t), Some(p)) if p > 0 => Some((t / p as f64 * 1e4).round() / 1e4),
                _ => None,
            },
            budget_share_of_gdp_percent: match (total_usd, gdp_current_usd) {
                (Some(t), Some(g)) if g > 0.0 => Some((t / g * 100.0 * 1e6).round() / 1e6),
                _ => None,
            },
            population,
            gdp_current_usd,
            year,
        }
    }
}

/// One group's count, headcounts, budgets (in USD, or international dollars) and total of
/// budgets in USD.
type Values = (i64, Vec<f64>, Vec<f64>, Option<f64>);

/// Accumulates `(group, headcount, budget)` rows, an institute possibly in several groups.
#[derive(Default)]
pub struct Accumulator {
    groups: BTreeMap<Option<String>, Values>,
}

impl Accumulator {
    pub fn add(&mut self, key: Option<String>, headcount: Option<i32>, budget_usd: Option<f64>) {
        let g = self.groups.entry(key).or_default();
        g.0 += 1;
        if let Some(h) = headcount {
            g.1.push(f64::from(h));
        }
        if let Some(b) = budget_usd {
            g.2.push(b);
            g.3 = Some(g.3.unwrap_or(0.0) + b);
        }
    }

    /// Adds a whole group at once: its count and the values of those of its institutes that
    /// have them.
    pub fn add_group(
        &mut self,
        key: Option<String>,
        count: i64,
        headcounts: Vec<f64>,
        budgets: Vec<f64>,
        total_usd: Option<f64>,
    ) {
        let g = self.groups.entry(key).or_default();
        g.0 += count;
        g.1.extend(headcounts);
        g.2.extend(budgets);
        if let Some(t) = total_usd {
            g.3 = Some(g.3.unwrap_or(0.0) + t);
        }
    }

    /// The groups, largest first (then by key, the keyless group last), with budgets
    /// multiplied by `units_per_usd` (1 for budgets in international dollars), labelled by
    /// `label` and measured by `indicators` (given the key, the budget total as shown and the
    /// total in USD).
    pub fn finish(
        self,
        units_per_usd: f64,
        label: impl Fn(&str) -> Option<String>,
        indicators: impl Fn(&str, Option<f64>, Option<f64>) -> Option<GroupIndicators>,
    ) -> Vec<Group> {
        let mut out: Vec<Group> = self
            .groups
            .into_iter()
            .map(|(key, (count, heads, budgets, total_usd))| {
                let budget = Summary::of(budgets.into_iter().map(|b| b * units_per_usd).collect());
                Group {
                    label: key.as_deref().and_then(&label),
                    indicators: key
                        .as_deref()
                        .and_then(|k| indicators(k, budget.total.map(|t| t as f64), total_usd)),
                    key,
                    count,
                    headcount: Summary::of(heads),
                    budget,
                }
            })
            .collect();
        out.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| a.key.is_none().cmp(&b.key.is_none()))
                .then_with(|| a.key.cmp(&b.key))
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_totals_and_order() {
        let mut acc = Accumulator::default();
        acc.add(Some("GB".into()), Some(10), Some(100.0));
        acc.add(Some("GB".into()), Some(30), None);
        acc.add(Some("GB".into()), None, Some(300.0));
        acc.add(Some("CA".into()), Some(5), Some(50.0));
        acc.add(None, None, None);
        acc.add(None, None, None);
        let groups = acc.finish(2.0, |k| Some(format!("<{k}>")), |_, _, _| None);
        assert_eq!(groups[0].key.as_deref(), Some("GB"));
        assert_eq!(groups[0].label.as_deref(), Some("<GB>"));
        assert_eq!(groups[0].count, 3);
        assert_eq!(groups[0].headcount.total, Some(40));
        assert_eq!(groups[0].headcount.median, Some(20.0));
        assert_eq!(groups[0].budget.known, 2);
        assert_eq!(groups[0].budget.total, Some(800));
        assert_eq!(groups[0].budget.median, Some(400.0));
        assert_eq!(groups[1].key, None);
        assert_eq!(groups[1].headcount.total, None);
        assert_eq!(groups[2].key.as_deref(), Some("CA"));
    }

    #[test]
    fn medians_of_unordered_values_match_a_sort() {
        for n in 1..40 {
            // A scrambled order with repeated values.
            let values: Vec<f64> = (0..n).map(|i| f64::from((i * 7919 + 13) % 17)).collect();
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            let m = sorted.len();
            let expected = if m % 2 == 1 {
                sorted[m / 2]
            } else {
                (sorted[m / 2 - 1] + sorted[m / 2]) / 2.0
            };
            let s = Summary::of(values.clone());
            assert_eq!(
                s.median,
                Some((expected * 10.0).round() / 10.0),
                "{values:?}"
            );
            assert_eq!(s.total, Some(sorted.iter().sum::<f64>().round() as i64));
            assert_eq!(s.known, m as i64);
        }
    }
}
