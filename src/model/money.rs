//! Currency conversion with the yearly average rates of `/v1/exchange-rates`.

use serde::Serialize;
use std::collections::HashMap;
use utoipa::ToSchema;

/// The rate a conversion used.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, serde::Deserialize)]
pub struct RateUsed {
    /// ISO 4217 code of the converted currency.
    #[schema(example = "KRW")]
    pub currency: String,
    /// The year whose average rate was used.
    #[schema(example = 2025)]
    pub year: i32,
    /// Units of `currency` per 1 USD, the year's average.
    #[schema(example = 1422.44083333333)]
    pub units_per_usd: f64,
}

/// A conversion to US dollars: the amount, the rate used, or why there is none.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, serde::Deserialize)]
pub struct Conversion {
    /// The amount in US dollars (rounded to whole dollars), or null when no rate is known.
    #[schema(example = 59053441)]
    pub amount_usd: Option<i64>,
    /// The rate used; null when none is known.
    pub usd_rate: Option<RateUsed>,
    /// Why `amount_usd` is null; null when it is not.
    #[schema(example = json!(null))]
    pub usd_note: Option<String>,
}

/// An amount shown in a currency a client asked for (`?currency=`), converted through USD
/// with both currencies' average rates of the figure's own year.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, serde::Deserialize)]
pub struct Converted {
    /// ISO 4217 code asked for.
    #[schema(example = "EUR")]
    pub currency: String,
    /// The amount in `currency`, rounded to whole units; null when a rate is missing.
    #[schema(example = 52259633)]
    pub amount: Option<i64>,
    /// The year whose average rates were used (the figure's own year).
    #[schema(example = 2025)]
    pub year: i32,
    /// Units of `currency` per unit of the figure's currency; null when a rate is missing.
    #[schema(example = 0.000622)]
    pub rate: Option<f64>,
    /// Why `amount` is null; null when it is not.
    #[schema(example = json!(null))]
    pub note: Option<String>,
}

/// The yearly average rates, keyed by currency and year.
#[derive(Debug, Clone, Default)]
pub struct Rates {
    by_key: HashMap<(String, i32), f64>,
}

impl Rates {
    pub fn from_rows(rows: Vec<(String, i32, f64)>) -> Rates {
        Rates {
            by_key: rows.into_iter().map(|(c, y, r)| ((c, y), r)).collect(),
        }
    }

    pub fn units_per_usd(&self, currency: &str, year: i32) -> Option<f64> {
        if currency == "USD" {
            return Some(1.0);
        }
        self.by_key.get(&(currency.to_string(), year)).copied()
    }

    /// The rate of the latest year published for a currency.
    pub fn latest_units_per_usd(&self, currency: &str) -> Option<f64> {
        if currency == "USD" {
            return Some(1.0);
        }
        self.by_key
            .iter()
            .filter(|((c, _), _)| c == currency)
            .max_by_key(|((_, y), _)| *y)
            .map(|(_, r)| *r)
    }

    /// The latest published yearly rate of a currency, with its year (USD: 1, this year).
    pub fn latest_rate(&self, currency: &str) -> Option<RateUsed> {
        if currency == "USD" {
            return Some(RateUsed {
                currency: "USD".into(),
                year: chrono::Datelike::year(&chrono::Utc::now()),
                units_per_usd: 1.0,
            });
        }
        self.by_key
            .iter()
            .filter(|((c, _), _)| c == currency)
            .max_by_key(|((_, y), _)| *y)
            .map(|((c, y), r)| RateUsed {
                currency: c.clone(),
                year: *y,
                units_per_usd: *r,
            })
    }

    /// Converts an amount of `from` in `year` into `to`, with both currencies' average rates
    /// of that year; a missing rate gives no amount and says which.
    pub fn convert(&self, amount: i64, from: &str, year: i32, to: &str) -> Converted {
        let missing = |code: &str| {
            format!("no {year} average rate is known for {code}; see /v1/exchange-rates")
        };
        let rate = match (self.units_per_usd(from, year), self.units_per_usd(to, year)) {
            (Some(f), Some(t)) => Ok(t / f),
            (None, _) => Err(missing(from)),
            (_, None) => Err(missing(to)),
        };
        let rate = if from == to { Ok(1.0) } else { rate };
        match rate {
            Ok(r) => Converted {
                currency: to.to_string(),
                amount: Some((amount as f64 * r).round() as i64),
                year,
                rate: Some(r),
                note: None,
            },
            Err(note) => Converted {
                currency: to.to_string(),
                amount: None,
                year,
                rate: None,
                note: Some(note),
            },
        }
    }

    /// Converts with the average rate of the figure's own year; never guesses another year's.
    pub fn to_usd(&self, amount: i64, currency: &str, year: i32) -> Conversion {
        match self.units_per_usd(currency, year) {
            Some(rate) => Conversion {
                amount_usd: Some((amount as f64 / rate).round() as i64),
                usd_rate: Some(RateUsed {
                    currency: currency.to_string(),
                    year,
                    units_per_usd: rate,
                }),
                usd_note: None,
            },
            None => Conversion {
                amount_usd: None,
                usd_rate: None,
                usd_note: Some(format!(
                    "no yearly average rate for {currency} in {year} in /v1/exchange-rates"
                )),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_with_the_years_rate_only() {
        let rates = Rates::from_rows(vec![("KRW".into(), 2025, 1400.0)]);
        assert_eq!(rates.to_usd(1_400_000, "KRW", 2025).amount_usd, Some(1000));
        let missing = rates.to_usd(1_400_000, "KRW", 2024);
        assert_eq!(missing.amount_usd, None);
        assert!(missing.usd_note.unwrap().contains("2024"));
        assert_eq!(rates.to_usd(5, "USD", 1999).amount_usd, Some(5));
    }
}
