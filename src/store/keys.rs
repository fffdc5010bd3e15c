//! API keys: created with a random secret shown once; only its SHA-256 hash is stored.

use super::{now, utc};
use crate::db::schema::api_keys;
use crate::db::DbConnection;
use crate::model::access::{Actor, KeyInfo, Role};
use crate::model::ids::new_id;
use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;
use sha2::{Digest, Sha256};

const SECRET_PREFIX: &str = "irk_";

/// The stored form of a secret: its SHA-256, in hex.
pub fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Whether `secret` has the shape of a key (`irk_` and at most 200 characters): anything else
/// is not looked up.
pub fn looks_like_key(secret: &str) -> bool {
    secret.starts_with(SECRET_PREFIX) && secret.len() <= 200
}

/// Who the live (not revoked) key with this hash is, if there is one.
pub fn live_by_hash(conn: &mut DbConnection, hash: &str) -> QueryResult<Option<Actor>> {
    let found = api_keys::table
        .filter(api_keys::key_hash.eq(hash))
        .filter(api_keys::revoked_at.is_null())
        .select((api_keys::name, api_keys::role))
        .first::<(String, String)>(conn)
        .optional()?;
    Ok(found.and_then(|(name, role)| Role::parse(&role).map(|role| Actor { name, role })))
}

/// Why a key could not be created.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("a key named '{0}' already exists")]
    NameTaken(String),
    #[error("a key name is 1 to 100 letters, digits, '.', '_' or '-'")]
    BadName,
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// Creates a key and returns its secret, which is not stored and cannot be shown again.
pub fn create(conn: &mut DbConnection, name: &str, role: Role) -> Result<String, KeyError> {
    let valid = !name.is_empty()
        && name.len() <= 100
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if !valid {
        return Err(KeyError::BadName);
    }
    let bytes: [u8; 32] = rand::random();
    let secret = format!("{SECRET_PREFIX}{}", hex::encode(bytes));
    conn.transaction(|conn| {
        // Write first: a transaction that reads, then writes, cannot wait for another writer.
        super::write::lock(conn)?;
        let taken = api_keys::table
            .filter(api_keys::name.eq(name))
            .count()
            .get_result::<i64>(conn)?;
        if taken > 0 {
            return Err(KeyError::NameTaken(name.to_string()));
        }
        diesel::insert_into(api_keys::table)
            .values((
                api_keys::id.eq(new_id("key")),
                api_keys::name.eq(name),
                api_keys::role.eq(role.as_str()),
                api_keys::key_hash.eq(hash(&secret)),
                api_keys::created_at.eq(now()),
            ))
            .execute(conn)?;
        Ok(secret.clone())
    })
}

/// Every key, by name; never a secret.
pub fn list(conn: &mut DbConnection) -> QueryResult<Vec<KeyInfo>> {
    type Row = (
        String,
        String,
        NaiveDateTime,
        Option<NaiveDateTime>,
        Option<NaiveDateTime>,
    );
    Ok(api_keys::table
        .select((
            api_keys::name,
            api_keys::role,
            api_keys::created_at,
            api_keys::last_used_at,
            api_keys::revoked_at,
        ))
        .order(api_keys::name)
        .load::<Row>(conn)?
        .into_iter()
        .map(|(name, role, created, used, revoked)| KeyInfo {
            name,
            role: Role::parse(&role).unwrap_or(Role::Editor),
            created_at: utc(created),
            last_used_at: used.map(utc),
            revoked_at: revoked.map(utc),
        })
        .collect())
}

/// Revokes a key by name; false when no active key has that name.
pub fn revoke(conn: &mut DbConnection, name: &str) -> QueryResult<bool> {
    let n = diesel::update(
        api_keys::table
            .filter(api_keys::name.eq(name))
            .filter(api_keys::revoked_at.is_null()),
    )
    .set(api_keys::revoked_at.eq(now()))
    .execute(conn)?;
    Ok(n > 0)
}

/// The actor a secret belongs to, if it is a live key. Notes the use (at most once a minute,
/// so reads of the key table do not turn every request into a write).
pub fn authenticate(conn: &mut DbConnection, secret: &str) -> QueryResult<Option<Actor>> {
    if !looks_like_key(secret) {
        return Ok(None);
    }
    let found = api_keys::table
        .filter(api_keys::key_hash.eq(hash(secret)))
        .filter(api_keys::revoked_at.is_null())
        .select((
            api_keys::id,
            api_keys::name,
            api_keys::role,
            api_keys::last_used_at,
        ))
        .first::<(String, String, String, Option<NaiveDateTime>)>(conn)
        .optional()?;
    let Some((id, name, role, last_used)) = found else {
        return Ok(None);
    };
    let stamp = now();
    if last_used.is_none_or(|t| stamp - t > TimeDelta::minutes(1)) {
        diesel::update(api_keys::table.find(&id))
            .set(api_keys::last_used_at.eq(stamp))
            .execute(conn)?;
    }
    Ok(Role::parse(&role).map(|role| Actor { name, role }))
}
