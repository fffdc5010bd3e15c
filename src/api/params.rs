//! Query strings: parsed strictly (an unknown or repeated parameter is a 400 naming it) and
//! validated value by value, collecting every problem of a request before answering.

use crate::error::{ApiError, FieldError};
use serde::de::DeserializeOwned;

/// Deserializes a query string into `T` (whose fields are all `Option<String>` and which
/// denies unknown fields), turning serde's complaints into errors that name the parameter.
pub fn parse_query<T: DeserializeOwned>(query: &str, accepted: &[&str]) -> Result<T, ApiError> {
    check_encoding(query)?;
    serde_urlencoded::from_str::<T>(query).map_err(|e| {
        let text = e.to_string();
        let name = text.split('`').nth(1).unwrap_or("query").to_string();
        let message = if text.starts_with("unknown field") {
            format!("unknown query parameter; accepted: {}", accepted.join(", "))
        } else if text.starts_with("duplicate field") {
            "given more than once; separate several values with commas".to_string()
        } else {
            format!("malformed query string: {text}")
        };
        ApiError::field(name, message)
    })
}

/// Refuses a query string whose percent-encoding is broken (`%` not followed by two hex
/// digits) or decodes to something other than UTF-8, naming the parameter: such text is not
/// taken literally or with replacement characters.
pub fn check_encoding(query: &str) -> Result<(), ApiError> {
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let name = pair.split('=').next().unwrap_or_default();
        let mut bytes = Vec::with_capacity(pair.len());
        let raw = pair.as_bytes();
        let mut i = 0;
        while i < raw.len() {
            if raw[i] == b'%' {
                let hex = raw
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                let Some(b) = hex else {
                    return Err(ApiError::field(
                        name,
                        "malformed percent-encoding: '%' must be followed by two hex digits \
                         (send '%' itself as %25)",
                    ));
                };
                bytes.push(b);
                i += 3;
            } else {
                bytes.push(raw[i]);
                i += 1;
            }
        }
        if String::from_utf8(bytes).is_err() {
            return Err(ApiError::field(
                name,
                "percent-encoded bytes that are not UTF-8",
            ));
        }
    }
    Ok(())
}

/// Checks a query string's parameter names: each must be accepted and given once. All
/// problems are reported together. Values are then read by `parse_query` into structs that
/// take a part of the parameters each.
pub fn check_names(query: &str, accepted: &[&str]) -> Result<(), ApiError> {
    let mut check = Checker::default();
    check_names_into(query, accepted, &mut check)?;
    check.finish()
}

/// Like `check_names`, but unknown names are only recorded in `check`, so that the values of
/// the known parameters are checked too and every problem is reported at once. Fails at once
/// on a repeated parameter or a malformed query string, which stop values from being read.
pub fn check_names_into(
    query: &str,
    accepted: &[&str],
    check: &mut Checker,
) -> Result<(), ApiError> {
    check_encoding(query)?;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
        .map_err(|e| ApiError::field("query", format!("malformed query string: {e}")))?;
    let mut errors = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for (name, _) in &pairs {
        if !accepted.contains(&name.as_str()) {
            errors.push(FieldError::new(
                name,
                format!("unknown query parameter; accepted: {}", accepted.join(", ")),
            ));
        } else if seen.contains(&name.as_str()) {
            if !errors.iter().any(|e: &FieldError| e.field == *name) {
                errors.push(FieldError::new(
                    name,
                    "given more than once; separate several values with commas",
                ));
            }
        } else {
            seen.push(name);
        }
    }
    let repeated = errors
        .iter()
        .any(|e| e.message.starts_with("given more than once"));
    if repeated {
        return Err(ApiError::fields(errors));
    }
    check.errors.extend(errors);
    Ok(())
}

/// Collects field errors while values are checked one after another.
#[derive(Default)]
pub struct Checker {
    pub errors: Vec<FieldError>,
}

impl Checker {
    pub fn fail(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, message));
    }

    /// Fails with every problem found, or succeeds when there were none.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::fields(self.errors))
        }
    }

    /// A comma-separated list: each value trimmed, none empty, at most `max` values.
    pub fn list(&mut self, field: &str, raw: Option<&str>, max: usize) -> Vec<String> {
        let Some(raw) = raw else { return Vec::new() };
        let values: Vec<String> = raw.split(',').map(|v| v.trim().to_string()).collect();
        if values.iter().any(|v| v.is_empty()) {
            self.fail(
                field,
                "empty value; give one or more values separated by commas",
            );
            return Vec::new();
        }
        if values.len() > max {
            self.fail(field, format!("at most {max} values"));
            return Vec::new();
        }
        values
    }

    /// A list whose values must each pass `parse`; `what` names the accepted values.
    pub fn list_of<T>(
        &mut self,
        field: &str,
        raw: Option<&str>,
        max: usize,
        what: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Vec<T> {
        let mut out = Vec::new();
        for value in self.list(field, raw, max) {
            match parse(&value) {
                Some(v) => out.push(v),
                None => self.fail(field, format!("unknown value '{value}'; expected {what}")),
            }
        }
        out
    }

    /// An RFC 3339 time (any offset), as UTC; its UTC year must be 1 to 9999, as both backends
    /// store it.
    pub fn time(&mut self, field: &str, raw: Option<&str>) -> Option<chrono::NaiveDateTime> {
        let raw = raw?;
        match chrono::DateTime::parse_from_rfc3339(raw.trim()).map(|t| t.naive_utc()) {
            Ok(t) if (1..=9999).contains(&chrono::Datelike::year(&t)) => Some(t),
            Ok(_) => {
                self.fail(field, "must be a time from year 1 to 9999 (in UTC)");
                None
            }
            Err(_) => {
                self.fail(
                    field,
                    "must be an RFC 3339 time such as 2026-01-01T00:00:00Z",
                );
                None
            }
        }
    }

    /// An integer within `min..=max`, or `default` when absent.
    pub fn int(&mut self, field: &str, raw: Option<&str>, min: i64, max: i64, default: i64) -> i64 {
        let Some(raw) = raw else { return default };
        match raw.trim().parse::<i64>() {
            Ok(v) if (min..=max).contains(&v) => v,
            _ => {
                self.fail(field, format!("must be an integer from {min} to {max}"));
                default
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    struct Q {
        limit: Option<String>,
    }

    #[test]
    fn names_unknown_and_repeated_parameters() {
        let err = parse_query::<Q>("limt=5", &["limit"]).unwrap_err();
        assert_eq!(err.to_problem().errors[0].field, "limt");
        let err = parse_query::<Q>("limit=5&limit=6", &["limit"]).unwrap_err();
        assert_eq!(err.to_problem().errors[0].field, "limit");
        assert_eq!(
            parse_query::<Q>("limit=5", &["limit"])
                .unwrap()
                .limit
                .as_deref(),
            Some("5")
        );
    }

    #[test]
    fn checks_lists_and_integers() {
        let mut c = Checker::default();
        assert_eq!(c.list("country", Some("GB, FR"), 5), vec!["GB", "FR"]);
        assert_eq!(c.int("limit", Some("500"), 1, 100, 20), 20);
        c.list("sector", Some("a,,b"), 5);
        let fields: Vec<_> = c.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["limit", "sector"]);
    }
}
