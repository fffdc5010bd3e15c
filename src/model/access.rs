//! API keys and what each role may do.

use super::vocabulary;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

vocabulary! {
    /// What a key may change.
    Role {
        /// Institutes, their figures, and programmes.
        Editor => "editor",
        /// Everything an editor may, plus sectors and exchange rates.
        Admin => "admin",
    }
}

impl Role {
    /// Whether this role includes `needed`.
    pub fn allows(self, needed: Role) -> bool {
        self == Role::Admin || needed == Role::Editor
    }
}

/// Who is making a write: the key's name and role.
#[derive(Debug, Clone, PartialEq)]
pub struct Actor {
    pub name: String,
    pub role: Role,
}

/// A key as listed: never its secret.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KeyInfo {
    pub name: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}
