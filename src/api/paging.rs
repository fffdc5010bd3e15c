//! Opaque keyset cursors and the `Link: rel="next"` header.

use crate::error::ApiError;
use crate::store::institutes::Keyset;
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

/// The cursor of a name-ordered institute page.
pub fn encode_cursor(k: &Keyset) -> String {
    encode_pair(&k.sort_name, &k.id)
}

pub fn decode_cursor(raw: &str) -> Result<Keyset, ApiError> {
    decode_pair(raw).map(|(sort_name, id)| Keyset { sort_name, id })
}

/// The URL of the next page: this request's path and query with `cursor` replaced.
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
            sort_name: "alan turing institute".into(),
            id: "ins_x".into(),
        };
        assert_eq!(decode_cursor(&encode_cursor(&k)).unwrap(), k);
        assert!(decode_cursor("garbage").is_err());
        assert!(decode_cursor("k1.!!!").is_err());
        assert!(decode_cursor(&format!("k1.{}", URL_SAFE_NO_PAD.encode("[1]"))).is_err());
    }
}
