//! Budget and headcount figures, and how the comparable one is chosen.

use super::institute::InstituteRef;
use super::money::{Conversion, Converted, Rates};
use super::vocabulary;
use serde::Serialize;
use utoipa::ToSchema;

vocabulary! {
    /// What a budget figure measures. Real figures are rarely alike: only `annual` figures
    /// (and annualized `multi_year` commitments with a known period) are compared.
    BudgetKind {
        /// The yearly operating budget.
        Annual => "annual",
        /// Institutional base funding only: part of the yearly budget.
        BaseFunding => "base_funding",
        /// A commitment covering `year..=period_end`.
        MultiYear => "multi_year",
        /// A one-off or initial grant.
        OneOff => "one_off",
        /// A donation.
        Donation => "donation",
    }
}

vocabulary! {
    /// How `latest_budget` was derived from the budget series.
    BudgetBasis {
        /// An `annual` figure as reported.
        Annual => "annual",
        /// A `multi_year` commitment divided by the years of its period.
        Annualized => "annualized",
        /// No comparable figure exists; this is the latest figure of any kind, as reported.
        AsReported => "as_reported",
    }
}

/// One budget figure of an institute, with its source.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BudgetEntry {
    /// Stable id of this entry.
    #[schema(example = "bud_8k2m4n6p8q0r2s4t")]
    pub id: String,
    /// The year the figure is for (the first year of a multi-year commitment).
    #[schema(example = 2025)]
    pub year: i32,
    pub kind: BudgetKind,
    /// Amount in major units of `currency`.
    #[schema(example = 84000000000_i64)]
    pub amount: i64,
    /// ISO 4217 currency code.
    #[schema(example = "KRW")]
    pub currency: String,
    /// Last year covered by a multi-year commitment, when known.
    #[schema(example = json!(null))]
    pub period_end: Option<i32>,
    /// URL or citation of the figure's source.
    #[schema(
        example = "https://koreajoongangdaily.joins.com/news/2025-04-29/opinion/columns/Is-there-a-solution-for-Korea-in-the-era-of-AI-transformation/2295462"
    )]
    pub source: String,
    /// What the figure covers, and caveats.
    pub note: Option<String>,
    #[serde(flatten)]
    pub usd: Conversion,
    /// The amount in the currency asked for with `?currency=`; absent without it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub converted: Option<Converted>,
}

/// The budget figure used for comparisons, converted to USD.
#[derive(Debug, Clone, Serialize, ToSchema, serde::Deserialize)]
pub struct LatestBudget {
    /// The id of the budget entry this figure comes from (as `latest_headcount.id` is its
    /// entry's): `GET /v1/institutes/{ref}/budgets/{id}` reads it.
    #[schema(example = "bud_8k2m4n6p8q0r2s4t")]
    #[serde(alias = "entry_id")]
    pub id: String,
    /// The year of the figure.
    #[schema(example = 2025)]
    pub year: i32,
    /// The kind of the underlying entry.
    pub kind: BudgetKind,
    pub basis: BudgetBasis,
    /// Whether the figure is used in comparisons (`basis` is `annual` or `annualized`).
    pub comparable: bool,
    /// Amount in major units of `currency` (per year when `basis` is `annualized`).
    #[schema(example = 84000000000_i64)]
    pub amount: i64,
    /// ISO 4217 currency code.
    #[schema(example = "KRW")]
    pub currency: String,
    /// Last year of the underlying multi-year commitment, when known.
    pub period_end: Option<i32>,
    /// URL or citation of the figure's source.
    pub source: String,
    #[serde(flatten)]
    pub usd: Conversion,
    /// The amount in the currency asked for with `?currency=`; absent without it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub converted: Option<Converted>,
}

/// One headcount figure of an institute: what was counted, when, and the source.
#[derive(Debug, Clone, Serialize, ToSchema, serde::Deserialize)]
pub struct HeadcountEntry {
    /// Stable id of this entry.
    #[schema(example = "hc_1a2b3c4d5e6f7g8h")]
    pub id: String,
    /// The year counted.
    #[schema(example = 2024)]
    pub year: i32,
    /// Researchers counted, if the figure counts researchers.
    #[schema(example = json!(null))]
    pub researchers: Option<i32>,
    /// Staff counted, if the figure counts staff.
    #[schema(example = 440)]
    pub staff: Option<i32>,
    /// What was counted, in the source's words.
    #[schema(example = "total staff (Guardian, Nov 2024, redundancy consultation)")]
    pub basis: String,
    /// URL or citation of the figure's source.
    #[schema(example = "https://computing.co.uk/news/2024/ai/redundancies-alan-turing-institute")]
    pub source: String,
}

/// The budget series of one institute, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct BudgetSeries {
    pub institute: InstituteRef,
    pub items: Vec<BudgetEntry>,
}

impl BudgetSeries {
    /// Adds every entry's amount in `currency` (`?currency=`; `PPP` for international dollars
    /// at the purchasing-power factor of `country`, the institute's).
    pub fn convert_money(&mut self, rates: &Rates, currency: &str, country: &str) {
        for e in &mut self.items {
            e.converted = Some(rates.show(e.amount, &e.currency, e.year, currency, country));
        }
    }
}

/// The headcount series of one institute, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct HeadcountSeries {
    pub institute: InstituteRef,
    pub items: Vec<HeadcountEntry>,
}

/// A budget figure as stored, before conversion.
#[derive(Debug, Clone)]
pub struct BudgetFigure {
    pub id: String,
    pub year: i32,
    pub kind: BudgetKind,
    pub amount: i64,
    pub currency: String,
    pub period_end: Option<i32>,
    pub source: String,
    pub note: Option<String>,
}

impl BudgetFigure {
    pub fn to_entry(&self, rates: &Rates) -> BudgetEntry {
        BudgetEntry {
            id: self.id.clone(),
            year: self.year,
            kind: self.kind,
            amount: self.amount,
            currency: self.currency.clone(),
            period_end: self.period_end,
            source: self.source.clone(),
            note: self.note.clone(),
            usd: rates.to_usd(self.amount, &self.currency, self.year),
            converted: None,
        }
    }

    /// Years covered by a multi-year commitment with a known, sane period.
    fn period_years(&self) -> Option<i64> {
        match (self.kind, self.period_end) {
            (BudgetKind::MultiYear, Some(end)) if end >= self.year => {
                Some(i64::from(end - self.year) + 1)
            }
            _ => None,
        }
    }
}

/// Picks the budget figure to compare: the latest `annual`; else the latest `multi_year`
/// with a known period, annualized; else the latest figure of any kind, as reported.
/// Ties within a year prefer the order of `BudgetKind::ALL`.
pub fn latest_budget(figures: &[BudgetFigure], rates: &Rates) -> Option<LatestBudget> {
    let latest = |pred: &dyn Fn(&BudgetFigure) -> bool| {
        figures
            .iter()
            .filter(|f| pred(f))
            .max_by_key(|f| (f.year, std::cmp::Reverse(kind_rank(f.kind))))
    };
    let (figure, basis, amount) =
        if let Some(f) = latest(&|f: &BudgetFigure| f.kind == BudgetKind::Annual) {
            (f, BudgetBasis::Annual, f.amount)
        } else if let Some(f) = latest(&|f: &BudgetFigure| f.period_years().is_some()) {
            let years = f.period_years().unwrap_or(1);
            (f, BudgetBasis::Annualized, (f.amount + years / 2) / years)
        } else {
            let f = latest(&|_| true)?;
            (f, BudgetBasis::AsReported, f.amount)
        };
    Some(LatestBudget {
        id: figure.id.clone(),
        year: figure.year,
        kind: figure.kind,
        basis,
        comparable: basis != BudgetBasis::AsReported,
        amount,
        currency: figure.currency.clone(),
        period_end: figure.period_end,
        source: figure.source.clone(),
        usd: rates.to_usd(amount, &figure.currency, figure.year),
        converted: None,
    })
}

fn kind_rank(kind: BudgetKind) -> usize {
    BudgetKind::ALL
        .iter()
        .position(|k| *k == kind)
        .unwrap_or(usize::MAX)
}

/// The latest headcount entry (by year).
pub fn latest_headcount(entries: &[HeadcountEntry]) -> Option<HeadcountEntry> {
    entries.iter().max_by_key(|e| e.year).cloned()
}

/// What lists filter and sort on and summaries add up, derived from an institute's series:
/// the latest researchers and staff, the headcount compared (researchers, else staff), and the
/// comparable budget in USD (see [`latest_budget`]).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Derived {
    pub researchers: Option<i32>,
    pub staff: Option<i32>,
    pub headcount: Option<i32>,
    pub budget_usd: Option<f64>,
    /// The comparable budget's year (what its purchasing-power value depends on).
    pub budget_year: Option<i32>,
}

impl Derived {
    pub fn of(budgets: &[BudgetFigure], headcounts: &[HeadcountEntry], rates: &Rates) -> Derived {
        let latest = headcounts.iter().max_by_key(|e| e.year);
        let researchers = latest.and_then(|h| h.researchers);
        let staff = latest.and_then(|h| h.staff);
        let comparable = latest_budget(budgets, rates)
            .filter(|b| b.comparable)
            .and_then(|b| b.usd.amount_usd.map(|usd| (usd as f64, b.year)));
        Derived {
            researchers,
            staff,
            headcount: researchers.or(staff),
            budget_usd: comparable.map(|(usd, _)| usd),
            budget_year: comparable.map(|(_, year)| year),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figure(year: i32, kind: BudgetKind, amount: i64, end: Option<i32>) -> BudgetFigure {
        BudgetFigure {
            id: format!("bud_{year}_{}", kind.as_str()),
            year,
            kind,
            amount,
            currency: "EUR".into(),
            period_end: end,
            source: "s".into(),
            note: None,
        }
    }

    #[test]
    fn annual_beats_newer_multi_year() {
        let rates = Rates::from_rows(vec![("EUR".into(), 2020, 0.5)]);
        let figures = vec![
            figure(2020, BudgetKind::Annual, 100, None),
            figure(2023, BudgetKind::MultiYear, 1000, Some(2027)),
        ];
        let b = latest_budget(&figures, &rates).unwrap();
        assert_eq!(
            (b.basis, b.amount, b.year),
            (BudgetBasis::Annual, 100, 2020)
        );
        assert_eq!(b.usd.amount_usd, Some(200));
    }

    #[test]
    fn multi_year_with_period_is_annualized() {
        let rates = Rates::default();
        let figures = vec![
            figure(2023, BudgetKind::MultiYear, 1000, Some(2027)),
            figure(2024, BudgetKind::MultiYear, 9000, None),
        ];
        let b = latest_budget(&figures, &rates).unwrap();
        assert_eq!((b.basis, b.amount), (BudgetBasis::Annualized, 200));
        assert!(b.comparable);
        assert_eq!(b.usd.amount_usd, None);
        assert!(b.usd.usd_note.as_deref().unwrap().contains("EUR"));
    }

    #[test]
    fn otherwise_latest_as_reported() {
        let rates = Rates::default();
        let figures = vec![
            figure(2020, BudgetKind::Donation, 5, None),
            figure(2024, BudgetKind::MultiYear, 9000, None),
        ];
        let b = latest_budget(&figures, &rates).unwrap();
        assert_eq!(
            (b.basis, b.amount, b.comparable),
            (BudgetBasis::AsReported, 9000, false)
        );
        assert!(latest_budget(&[], &rates).is_none());
    }
}
