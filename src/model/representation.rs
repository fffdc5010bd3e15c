//! Representations as clients hold them: their ETags, and the preconditions a write states
//! about them (`If-Match`, parsed by the API).

use serde::Serialize;
use sha2::{Digest, Sha256};

/// The strong ETag of a representation: a digest of its JSON text, quoted.
pub fn etag(json: &[u8]) -> String {
    let digest = Sha256::digest(json);
    format!("\"{}\"", &hex::encode(digest)[..24])
}

/// The ETag of a value as the API serializes it.
pub fn etag_of<T: Serialize>(value: &T) -> String {
    etag(&serde_json::to_vec(value).unwrap_or_default())
}

/// What a write requires of the current representation (RFC 9110 `If-Match`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IfMatch {
    /// `*`: the resource exists, in any state.
    Any,
    /// One of these strong ETags (quoted, as sent).
    Tags(Vec<String>),
}

impl IfMatch {
    /// Whether the current ETag satisfies the precondition (strong comparison).
    pub fn admits(&self, current: &str) -> bool {
        match self {
            IfMatch::Any => true,
            IfMatch::Tags(tags) => tags.iter().any(|t| t == current),
        }
    }
}
