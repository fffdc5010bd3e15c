//! Opaque keyset cursors and the `Link: rel="next"` header.

use crate::error::ApiError;
use crate::read::query::{Keyset, SortField, SortKey, SortValue};
use actix_web::HttpRequest;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

const PREFIX: &str = "k1.";

/// Encodes a keyset position (the last row's sort value and id) as an opaque, URL-safe string.
pub fn encode_pair(first: &str, id: &str) -> String {
    let json = serde_json::to_vec(&[first, id]).unwrap_or_default();
    format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(json))
}

/// Decodes a cursor made by `encode_pair`; anything else is a 400 naming `cursor`.
pub fn decode_pair(raw: &str) -> Result<(String, String), ApiError> {
    let bad = || {
        ApiError::field(
            "cursor",
            "not a cursor this API issued; pass the next_cursor of a previous page unchanged",
        )
    };
    let body = raw.strip_prefix(PREFIX).ok_or_else(bad)?;
    let bytes = URL_SAFE_NO_PAD.decode(body).map_err(|_| bad())?;
    let [first, id]: [String; 2] = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if first.contains('\0') || id.contains('\0') {
        return Err(bad());
    }
    Ok((first, id))
}

#[derive(serde::Serialize, serde::Deserialize)]
struct ListCursor {
    /// The sort the cursor was made for.
    s: String,
    v: Vec<SortValue>,
    id: String,
}

/// The cursor of an institute page under the sort `sort` (as the client wrote it).
pub fn encode_cursor(sort: &str, k: &Keyset) -> String {
    let json = serde_json::to_vec(&ListCursor {
        s: sort.to_string(),
        v: k.values.clone(),
        id: k.id.clone(),
    })
    .unwrap_or_default();
    format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(json))
}

/// Decodes an institute-page cursor, which must have been made for the same sort, with a value
/// of the right type for each key.
pub fn decode_cursor(raw: &str, sort: &str, keys: &[SortKey]) -> Result<Keyset, ApiError> {
    let bad = || {
        ApiError::field(
            "cursor",
            "not a cursor this API issued; pass the next_cursor of a previous page unchanged",
        )
    };
    let body = raw.strip_prefix(PREFIX).ok_or_else(bad)?;
    let bytes = URL_SAFE_NO_PAD.decode(body).map_err(|_| bad())?;
    let cursor: ListCursor = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if cursor.s != sort {
        return Err(ApiError::field(
            "cursor",
            format!(
                "this cursor belongs to sort={}; keep the sort while paging",
                cursor.s
            ),
        ));
    }
    let text_ok = |t: &str| !t.contains('\0') && t.len() <= 1000;
    let values_ok = cursor.v.len() == keys.len()
        && cursor.v.iter().zip(keys).all(|(v, k)| match (k.field, v) {
            (SortField::Name, SortValue::Text(t)) => text_ok(t),
            (SortField::Country | SortField::Kind, SortValue::Text(t)) => {
                t.len() <= 32 && text_ok(t)
            }
            (SortField::Relevance, SortValue::Float(r)) => r.is_finite(),
            (SortField::Founded | SortField::Headcount, SortValue::Int(_) | SortValue::Null) => {
                true
            }
            (SortField::Budget | SortField::BudgetPpp, SortValue::Float(f)) => f.is_finite(),
            (SortField::Budget | SortField::BudgetPpp, SortValue::Null) => true,
            (SortField::Updated | SortField::Created, SortValue::Time(_)) => true,
            _ => false,
        });
    if !values_ok || !text_ok(&cursor.id) {
        return Err(bad());
    }
    Ok(Keyset {
        values: cursor.v,
        id: cursor.id,
    })
}

/// The URL of the next page: this request's path and query with `cursor` replaced.
/// The page size of a reference list (countries, programmes, exchange rates) when `limit` is
/// not given, which is also its largest: these lists are short, so most clients take them whole.
pub const REFERENCE_PAGE: i64 = 1000;

/// One page of a list held whole in memory, ordered by `key` (byte order of the pair, which
/// both backends then agree on): the items after the cursor's key, at most `limit`; with the
/// next page's cursor, and how many items the list holds over all pages.
pub fn page_in_memory<T>(
    mut items: Vec<T>,
    key: impl Fn(&T) -> (String, String),
    cursor: Option<&str>,
    limit: usize,
) -> Result<(Vec<T>, Option<String>, usize), ApiError> {
    let after = cursor.map(decode_pair).transpose()?;
    items.sort_by_cached_key(&key);
    let total = items.len();
    let start = after.map_or(0, |a| items.partition_point(|i| key(i) <= a));
    let mut page: Vec<T> = items.into_iter().skip(start).take(limit + 1).collect();
    let next = if page.len() > limit {
        page.truncate(limit);
        page.last().map(|last| {
            let (first, id) = key(last);
            encode_pair(&first, &id)
        })
    } else {
        None
    };
    Ok((page, next, total))
}

/// The URL of the next page: this request's, with `cursor` replaced.
pub fn next_link(req: &HttpRequest, cursor: &str) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in url::form_urlencoded::parse(req.query_string().as_bytes()) {
        if k != "cursor" {
            query.append_pair(&k, &v);
        }
    }
    query.append_pair("cursor", cursor);
    format!("{}?{}", req.path(), query.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_forgeries() {
        let k = Keyset {
            values: vec![
                SortValue::Text("alan turing institute".into()),
                SortValue::Null,
            ],
            id: "ins_x".into(),
        };
        let name = SortKey {
            field: SortField::Name,
            descending: false,
        };
        let founded = SortKey {
            field: SortField::Founded,
            descending: true,
        };
        let both = [name, founded];
        let cursor = encode_cursor("name,-founded", &k);
        assert_eq!(decode_cursor(&cursor, "name,-founded", &both).unwrap(), k);
        assert!(decode_cursor(&cursor, "name", &[name]).is_err());
        // A value of the wrong type for its key is refused, not sent to the database.
        let swapped = encode_cursor("-founded,name", &k);
        assert!(decode_cursor(&swapped, "-founded,name", &[founded, name]).is_err());
        assert!(decode_cursor("garbage", "name", &[name]).is_err());
        assert!(decode_cursor("k1.!!!", "name", &[name]).is_err());
        let short = format!("k1.{}", URL_SAFE_NO_PAD.encode("[1]"));
        assert!(decode_cursor(&short, "name", &[name]).is_err());
    }
}
