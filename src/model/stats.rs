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
        values.sort_by(f64::total_cmp);
        let n = values.len();
        let median = if n % 2 == 1 {
            values[n / 2]
        } else {
            (values[n / 2 - 1] + values[n / 2]) / 2.0
        };
        Summary {
            known: n as i64,
            total: Some(values.iter().sum::<f64>().round() as i64),
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
}

/// Accumulates `(group, headcount, budget in USD)` rows, an institute possibly in several
/// groups.
#[derive(Default)]
pub struct Accumulator {
    groups: BTreeMap<Option<String>, (i64, Vec<f64>, Vec<f64>)>,
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
        }
    }

    /// Adds a whole group at once: its count and the values of those of its institutes that
    /// have them.
    pub fn add_group(
        &mut self,
        key: Option<String>,
        count: i64,
        headcounts: Vec<f64>,
        budgets_usd: Vec<f64>,
    ) {
        let g = self.groups.entry(key).or_default();
        g.0 += count;
        g.1.extend(headcounts);
        g.2.extend(budgets_usd);
    }

    /// The groups, largest first (then by key, the keyless group last), with budgets
    /// converted from USD at `units_per_usd` and labelled by `label`.
    pub fn finish(self, units_per_usd: f64, label: impl Fn(&str) -> Option<String>) -> Vec<Group> {
        let mut out: Vec<Group> = self
            .groups
            .into_iter()
            .map(|(key, (count, heads, budgets))| Group {
                label: key.as_deref().and_then(&label),
                key,
                count,
                headcount: Summary::of(heads),
                budget: Summary::of(budgets.into_iter().map(|b| b * units_per_usd).collect()),
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
        let groups = acc.finish(2.0, |k| Some(format!("<{k}>")));
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
}
