//! Currency conversion with the yearly average rates of `/v1/exchange-rates`.

use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;
use utoipa::ToSchema;

/// The display "currency" that asks for international dollars: amounts converted at
/// purchasing-power parity (`?currency=PPP`).
pub const PPP: &str = "PPP";

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
    /// With `currency=PPP`: the purchasing-power factor used (or, when `amount` is null
    /// because a market rate is missing, the one that would have been); null otherwise.
    pub ppp: Option<PppFactor>,
}

/// The purchasing-power parity factor a conversion to international dollars used: the
/// figure's amount, in the local currency of `country` (at the year's average market rate when
/// the figure is in another currency), divided by `lcu_per_intl_dollar`.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, serde::Deserialize)]
pub struct PppFactor {
    /// The country whose price level was used: the institute's country, the programme's
    /// jurisdiction, the country summarised.
    #[schema(example = "GB")]
    pub country: String,
    /// The factor's year: the figure's own year (never another year's).
    #[schema(example = 2025)]
    pub year: i32,
    /// Local currency units per international dollar (World Bank `PA.NUS.PPP`, PPP
    /// conversion factor for GDP).
    #[schema(example = 0.677133)]
    pub lcu_per_intl_dollar: f64,
    /// ISO 4217 code of the country's currency, the factor's local currency unit.
    #[schema(example = "GBP")]
    pub local_currency: String,
    /// Units of `local_currency` per unit of the figure's currency, the year's average
    /// market rate (1 when the figure is in the local currency).
    #[schema(example = 0.000517)]
    pub market_rate: Option<f64>,
    /// Where the factor comes from.
    #[schema(example = "World Bank, World Development Indicators (PA.NUS.PPP), CC BY 4.0")]
    pub source: String,
}

/// Purchasing-power parity factors by country and year, with each country's currency.
#[derive(Debug, Clone, Default)]
pub struct Parities {
    /// (country, year) -> (local currency units per international dollar, source).
    pub factors: HashMap<(String, i32), (f64, String)>,
    /// Country -> ISO 4217 code of its currency.
    pub currency_of: HashMap<String, String>,
}

/// The yearly average rates, keyed by currency and year, and the purchasing-power factors
/// (cheap to clone: both are shared).
#[derive(Debug, Clone, Default)]
pub struct Rates {
    by_key: Arc<HashMap<(String, i32), f64>>,
    parities: Arc<Parities>,
}

impl Rates {
    pub fn from_rows(rows: Vec<(String, i32, f64)>) -> Rates {
        Rates {
            by_key: Arc::new(rows.into_iter().map(|(c, y, r)| ((c, y), r)).collect()),
            parities: Arc::default(),
        }
    }

    /// These rates with purchasing-power factors.
    pub fn with_parities(mut self, parities: Parities) -> Rates {
        self.parities = Arc::new(parities);
        self
    }

    /// An amount in USD of `year` in international dollars of that year at the purchasing-power
    /// factor of `country` (taken into its currency at the year's average rate); none without
    /// the country's currency, its rate or its factor.
    pub fn usd_to_ppp(&self, usd: f64, year: i32, country: &str) -> Option<f64> {
        let local = self.parities.currency_of.get(country)?;
        let (factor, _) = self.parities.factors.get(&(country.to_string(), year))?;
        Some(usd * self.units_per_usd(local, year)? / factor)
    }

    /// The latest year with a purchasing-power factor for `country`.
    pub fn latest_ppp_year(&self, country: &str) -> Option<i32> {
        self.parities
            .factors
            .keys()
            .filter(|(c, _)| c == country)
            .map(|(_, y)| *y)
            .max()
    }

    /// Shows an amount of `from` in `year`, of a figure about `country`, in `to`: a currency at
    /// market rates, or international dollars when `to` is [`PPP`].
    pub fn show(&self, amount: i64, from: &str, year: i32, to: &str, country: &str) -> Converted {
        if to == PPP {
            self.to_ppp(amount, from, year, country)
        } else {
            self.convert(amount, from, year, to)
        }
    }

    /// Converts an amount of `from` in `year` into international dollars of that year with
    /// the purchasing-power factor of `country` (the amount first taken into the country's
    /// currency at the year's average market rates when it is in another).
    pub fn to_ppp(&self, amount: i64, from: &str, year: i32, country: &str) -> Converted {
        let fail = |note: String, ppp: Option<PppFactor>| Converted {
            currency: PPP.to_string(),
            amount: None,
            year,
            rate: None,
            note: Some(note),
            ppp,
        };
        let Some(local) = self.parities.currency_of.get(country) else {
            return fail(
                format!(
                    "no currency is known for {country}, so no purchasing-power factor applies"
                ),
                None,
            );
        };
        let Some((factor, source)) = self.parities.factors.get(&(country.to_string(), year)) else {
            return fail(
                format!(
                    "no {year} purchasing-power factor is known for {country} (World Bank \
                     PA.NUS.PPP); see /v1/countries/{country}/indicators"
                ),
                None,
            );
        };
        let market = if from == local {
            Some(1.0)
        } else {
            match (
                self.units_per_usd(from, year),
                self.units_per_usd(local, year),
            ) {
                (Some(f), Some(l)) => Some(l / f),
                _ => None,
            }
        };
        let factor_used = PppFactor {
            country: country.to_string(),
            year,
            lcu_per_intl_dollar: *factor,
            local_currency: local.clone(),
            market_rate: market,
            source: source.clone(),
        };
        match market {
            Some(m) => {
                let rate = m / factor;
                Converted {
                    currency: PPP.to_string(),
                    amount: Some((amount as f64 * rate).round() as i64),
                    year,
                    rate: Some(rate),
                    note: None,
                    ppp: Some(factor_used),
                }
            }
            None => {
                let code = if self.units_per_usd(from, year).is_none() {
                    from
                } else {
                    local
                };
                fail(
                    format!(
                        "no {year} average rate is known for {code} to take the amount into \
                         {local}; see /v1/exchange-rates"
                    ),
                    Some(factor_used),
                )
            }
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
                ppp: None,
            },
            Err(note) => Converted {
                currency: to.to_string(),
                amount: None,
                year,
                rate: None,
                note: Some(note),
                ppp: None,
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
