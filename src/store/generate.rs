//! A realistic synthetic registry for measuring speed at scale (ROR holds about 120,000
//! organizations): skewed countries, 1–4 sectors, about five years of budgets and headcounts
//! each. Synthetic records are plainly named as such and never mixed into the seed data.

use super::reference::{rates, sector_slugs};
use super::write::import::{import, Options};
use crate::db::DbConnection;
use crate::model::figures::BudgetKind;
use crate::model::ids::slugify;
use crate::model::input::{BudgetInput, ExternalIdsInput, HeadcountInput, InstituteInput};
use crate::model::institute::{InstituteKind, InstituteStatus};
use crate::model::interchange::ImportRecord;
use crate::model::money::Rates;
use diesel::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Countries by weight, with the currency their figures are reported in.
const COUNTRIES: &[(&str, u32, &str)] = &[
    ("US", 200, "USD"),
    ("CN", 140, "CNY"),
    ("GB", 70, "GBP"),
    ("DE", 70, "EUR"),
    ("JP", 60, "JPY"),
    ("FR", 50, "EUR"),
    ("IN", 50, "INR"),
    ("CA", 40, "CAD"),
    ("KR", 40, "KRW"),
    ("IT", 30, "EUR"),
    ("ES", 30, "EUR"),
    ("AU", 30, "AUD"),
    ("BR", 30, "USD"),
    ("NL", 20, "EUR"),
    ("CH", 20, "CHF"),
    ("SE", 20, "SEK"),
    ("SG", 10, "SGD"),
    ("IL", 10, "ILS"),
    ("AE", 10, "AED"),
    ("DK", 10, "DKK"),
    ("NO", 10, "NOK"),
    ("FI", 10, "EUR"),
    ("AT", 10, "EUR"),
    ("BE", 10, "EUR"),
    ("PL", 10, "USD"),
    ("MX", 10, "USD"),
    ("ZA", 10, "USD"),
    ("NG", 5, "USD"),
    ("KE", 5, "USD"),
    ("EG", 5, "USD"),
    ("AR", 5, "USD"),
    ("CL", 5, "USD"),
    ("TW", 10, "USD"),
    ("VN", 5, "USD"),
    ("ID", 5, "USD"),
    ("TR", 5, "USD"),
];

const SYLLABLES: &[&str] = &[
    "ka", "lo", "mi", "ran", "tu", "vel", "sor", "an", "bri", "cas", "del", "fen", "gor", "hal",
    "ist", "jor", "kel", "lun", "mar", "nor", "ost", "pra", "quin", "ros", "sil", "tor", "ul",
    "var", "wen", "xan", "yor", "zel",
];
const FIELDS: &[&str] = &[
    "Artificial Intelligence",
    "Machine Learning",
    "Data Science",
    "Robotics",
    "Language Technology",
    "Computer Vision",
    "Intelligent Systems",
    "Computational Biology",
    "AI Safety",
    "Digital Health",
    "Climate Informatics",
    "Autonomous Systems",
    "Trustworthy AI",
    "Quantum Computing",
];
const FORMS: &[&str] = &[
    "Institute for",
    "Centre for",
    "Laboratory for",
    "Research Center for",
    "Academy of",
    "School of",
];
const KINDS: &[(&str, u32)] = &[
    ("university", 45),
    ("public_research", 20),
    ("non_profit", 15),
    ("government", 8),
    ("consortium", 7),
    ("company", 5),
];

fn weighted<'a, T>(rng: &mut StdRng, items: &'a [T], weight: impl Fn(&T) -> u32) -> &'a T {
    let total: u32 = items.iter().map(&weight).sum();
    let mut pick = rng.random_range(0..total);
    for item in items {
        let w = weight(item);
        if pick < w {
            return item;
        }
        pick -= w;
    }
    &items[items.len() - 1]
}

fn place(rng: &mut StdRng) -> String {
    let n = rng.random_range(2..=3);
    let mut s: String = (0..n)
        .map(|_| SYLLABLES[rng.random_range(0..SYLLABLES.len())])
        .collect();
    if let Some(first) = s.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    s
}

/// What a generation added.
#[derive(Debug, Default)]
pub struct Generated {
    pub institutes: usize,
    pub budgets: usize,
    pub headcounts: usize,
}

/// The history's author of synthetic records.
pub const ACTOR: &str = "generate";

/// What a database holds besides the seed, which decides whether `generate` may write into it.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Occupancy {
    /// Synthetic institutes from an earlier generation.
    pub synthetic: i64,
    /// Changes recorded by anyone but the seed: curators, imports, generations.
    pub written: i64,
    /// API keys: someone uses this registry.
    pub keys: i64,
}

/// What the database holds besides the seed.
pub fn occupancy(conn: &mut DbConnection) -> QueryResult<Occupancy> {
    use crate::db::schema::{api_keys, history, institutes};
    Ok(Occupancy {
        synthetic: institutes::table
            .filter(institutes::id.like("ins_syn%"))
            .count()
            .get_result(conn)?,
        written: history::table
            .filter(history::actor.ne(super::seed::ACTOR))
            .count()
            .get_result(conn)?,
        keys: api_keys::table.count().get_result(conn)?,
    })
}

/// Adds `count` synthetic institutes (slugs start with `synthetic-`), deterministic for a
/// seed, through the registry's write path (one import); `progress` is told each phase and
/// how many records it has done.
pub fn generate(
    conn: &mut DbConnection,
    count: usize,
    seed: u64,
    progress: &dyn Fn(&str, usize),
) -> QueryResult<Generated> {
    let sectors: Vec<String> = {
        let mut s: Vec<String> = sector_slugs(conn)?.into_iter().collect();
        s.sort();
        s
    };
    let rates = rates(conn)?;
    let mut rng = StdRng::seed_from_u64(seed);
    let report = std::cell::RefCell::new(Generated::default());
    let records = (0..count).map(|i| {
        let record = synthetic(&mut rng, i, &sectors, &rates);
        let mut r = report.borrow_mut();
        r.institutes += 1;
        r.budgets += record.budgets.as_ref().map_or(0, Vec::len);
        r.headcounts += record.headcounts.as_ref().map_or(0, Vec::len);
        Ok(Ok(record))
    });
    let outcome = import(
        conn,
        records,
        Options {
            expected: count,
            ..Options::default()
        },
        ACTOR,
        progress,
    )?;
    if let Some(r) = outcome.rejected.first() {
        return Err(diesel::result::Error::QueryBuilderError(
            format!(
                "synthetic record {} is refused ({:?}); is the database already holding a \
                 synthetic registry from the same seed?",
                r.record, r.errors
            )
            .into(),
        ));
    }
    if conn.backend() == crate::db::Backend::Postgres {
        // Fresh statistics, so that the planner sees the registry's real shape at once.
        diesel::sql_query("ANALYZE").execute(conn)?;
    }
    Ok(report.into_inner())
}

/// The `i`-th synthetic institute.
fn synthetic(rng: &mut StdRng, i: usize, sectors: &[String], rates: &Rates) -> ImportRecord {
    let (country, _, currency) = *weighted(rng, COUNTRIES, |c| c.1);
    let city = place(rng);
    let field = FIELDS[rng.random_range(0..FIELDS.len())];
    let form = FORMS[rng.random_range(0..FORMS.len())];
    let name = format!("{city} {form} {field}");
    let founded = 2025 - (rng.random_range(0.0f64..1.0).powi(2) * 75.0) as i32;
    let kind = weighted(rng, KINDS, |k| k.1).0;
    let mut chosen: Vec<String> = Vec::new();
    for _ in 0..rng.random_range(1..=4) {
        let s = &sectors[rng.random_range(0..sectors.len())];
        if !chosen.contains(s) {
            chosen.push(s.clone());
        }
    }
    const SOURCE: &str = "synthetic: generated for benchmarks";
    let mut budgets = Vec::new();
    if rng.random_range(0..10) < 8 {
        let usd = 10f64.powf(rng.random_range(6.0..9.0));
        let rate = rates.units_per_usd(currency, 2024).unwrap_or(1.0);
        let multi = rng.random_range(0..5) == 0;
        for year in 2020..=2024 {
            let grown = usd * (1.0 + 0.05 * f64::from(year - 2020));
            let (kind, amount, period_end) = if multi {
                if year != 2020 {
                    continue;
                }
                (
                    BudgetKind::MultiYear,
                    (grown * rate * 5.0) as i64,
                    Some(2024),
                )
            } else {
                (BudgetKind::Annual, (grown * rate) as i64, None)
            };
            budgets.push((
                Some(format!("bud_syn{i:011}{year}")),
                BudgetInput {
                    year,
                    kind,
                    amount,
                    currency: currency.into(),
                    period_end,
                    source: SOURCE.into(),
                    note: None,
                },
            ));
        }
    }
    let mut headcounts = Vec::new();
    if rng.random_range(0..10) < 7 {
        let base = 10f64.powf(rng.random_range(1.0..3.8));
        let staff_only = rng.random_range(0..4) == 0;
        for year in 2020..=2024 {
            let n = (base * (1.0 + 0.04 * f64::from(year - 2020))) as i32;
            let (researchers, staff) = if staff_only {
                (None, Some(n))
            } else {
                (Some(n), Some(n + n / 3))
            };
            headcounts.push((
                Some(format!("hc_syn{i:012}{year}")),
                HeadcountInput {
                    year,
                    researchers,
                    staff,
                    basis: if staff_only {
                        "staff"
                    } else {
                        "researchers and staff"
                    }
                    .into(),
                    source: SOURCE.into(),
                },
            ));
        }
    }
    let status = if rng.random_range(0..20) == 0 {
        InstituteStatus::Inactive
    } else {
        InstituteStatus::Active
    };
    ImportRecord {
        line: i + 1,
        id: Some(format!("ins_syn{i:013}")),
        created_at: None,
        updated_at: None,
        version: None,
        input: InstituteInput {
            slug: Some(format!("synthetic-{}-{i}", slugify(&name))),
            name,
            acronym: None,
            aliases: Vec::new(),
            kind: InstituteKind::parse(kind).unwrap_or(InstituteKind::University),
            status,
            country: country.into(),
            city: Some(city),
            founded: Some(founded),
            website: None,
            description: Some("Synthetic record generated for benchmarks.".into()),
            sectors: chosen,
            parent: None,
            external_ids: ExternalIdsInput::default(),
            unverified_fields: Vec::new(),
        },
        budgets: Some(budgets),
        headcounts: Some(headcounts),
    }
}
