//! `Authorization: Bearer KEY`: who a request comes from, and whether it may write.
//!
//! Two checks, at two moments. Before anything else (the admission middleware,
//! [`super::limits::admit`]), the key is verified ([`KeyRing`] remembers keys it verified for a
//! few seconds): it decides who a request counts against (only a verified key identifies a
//! client) and refuses a write without a live key before its body is read. In the handler,
//! [`authorize`] checks the key against the database once more (so a revoked key stops writing
//! at once) and checks its role.

use super::AppState;
use crate::db::Pool;
use crate::error::ApiError;
use crate::model::access::{Actor, Role};
use crate::store::keys;
use actix_web::{web, HttpRequest};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The token of the request's `Authorization` header: `None` without the header; an error
/// naming the problem when the header is not `Bearer TOKEN` (the scheme in any case, RFC 9110).
pub fn bearer(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(value) = req.headers().get("authorization") else {
        return Ok(None);
    };
    let scheme_error =
        || ApiError::Unauthorized("use the Bearer scheme: Authorization: Bearer KEY".into());
    let value = value.to_str().map_err(|_| scheme_error())?;
    let (scheme, token) = value.split_once(' ').ok_or_else(scheme_error)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(scheme_error());
    }
    Ok(Some(token.trim().to_string()))
}

fn missing_key() -> ApiError {
    ApiError::Unauthorized("this operation needs an API key: Authorization: Bearer KEY".into())
}

fn unknown_key() -> ApiError {
    ApiError::Unauthorized("unknown or revoked API key".into())
}

/// The actor behind the request's key, if it holds `needed`; 401 without a live key,
/// 403 with a key whose role is too weak. Checked against the database.
pub async fn authorize(
    req: &HttpRequest,
    state: &AppState,
    needed: Role,
) -> Result<Actor, ApiError> {
    let secret = bearer(req)?.ok_or_else(missing_key)?;
    let pool = state.pool.clone();
    let actor = web::block(move || -> Result<Option<Actor>, ApiError> {
        let mut conn = pool.get()?;
        Ok(keys::authenticate(&mut conn, &secret)?)
    })
    .await??
    .ok_or_else(unknown_key)?;
    if actor.role.allows(needed) {
        Ok(actor)
    } else {
        Err(ApiError::Forbidden(format!(
            "the key '{}' has the role {}; this operation needs {}",
            actor.name,
            actor.role.as_str(),
            needed.as_str()
        )))
    }
}

/// A verified key: who it is, and the stored hash that identifies it.
#[derive(Debug, Clone)]
pub struct VerifiedKey {
    pub actor: Actor,
    pub hash: String,
}

/// The keys this process verified lately, by hash: while a key's check is fresh
/// ([`KeyRing::FRESH`]), recognising it costs a hash and a lookup, no query. A key it does not
/// hold is looked up in the database (one indexed query); the admission middleware charges
/// that request to the sending address first, so made-up keys are bounded by the address's
/// rate limit. Only live keys are held, so its size is bounded by the keys in use.
pub struct KeyRing {
    verified: parking_lot::RwLock<HashMap<String, (Actor, Instant)>>,
}

impl Default for KeyRing {
    fn default() -> KeyRing {
        KeyRing {
            verified: parking_lot::RwLock::new(HashMap::new()),
        }
    }
}

impl KeyRing {
    /// How long a key's check stands (a revoked key identifies a client at most this long;
    /// writes check the database anyway).
    pub const FRESH: Duration = Duration::from_secs(5);

    /// The key `secret` is, when this process verified it within [`KeyRing::FRESH`].
    pub fn recognise(&self, secret: &str) -> Option<VerifiedKey> {
        if !keys::looks_like_key(secret) {
            return None;
        }
        let hash = keys::hash(secret);
        let verified = self.verified.read();
        let (actor, at) = verified.get(&hash)?;
        (at.elapsed() < Self::FRESH).then(|| VerifiedKey {
            actor: actor.clone(),
            hash: hash.clone(),
        })
    }

    /// The live key `secret` is, if it is one, checked against the database.
    pub async fn verify(&self, pool: &Pool, secret: &str) -> Result<Option<VerifiedKey>, ApiError> {
        if !keys::looks_like_key(secret) {
            return Ok(None);
        }
        let hash = keys::hash(secret);
        let pool = pool.clone();
        let looked_up = hash.clone();
        let actor = web::block(move || -> Result<Option<Actor>, ApiError> {
            let mut conn = pool.get()?;
            Ok(keys::live_by_hash(&mut conn, &looked_up)?)
        })
        .await??;
        let mut verified = self.verified.write();
        match actor {
            Some(actor) => {
                verified.insert(hash.clone(), (actor.clone(), Instant::now()));
                Ok(Some(VerifiedKey { actor, hash }))
            }
            None => {
                verified.remove(&hash);
                Ok(None)
            }
        }
    }
}

/// Why a write that needs a key is refused before its body is read: no header, a malformed
/// one, or a key that is not live.
pub fn refusal(req: &HttpRequest) -> ApiError {
    match bearer(req) {
        Ok(None) => missing_key(),
        Ok(Some(_)) => unknown_key(),
        Err(e) => e,
    }
}
