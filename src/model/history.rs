//! The audit trail.

use super::vocabulary;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

vocabulary! {
    /// What a change did.
    Action {
        /// The subject was created.
        Create => "create",
        /// The subject was changed.
        Update => "update",
        /// The subject was deleted.
        Delete => "delete",
    }
}

vocabulary! {
    /// What a change was made to.
    Subject {
        /// An institute record.
        Institute => "institute",
        /// One budget figure of an institute.
        Budget => "budget",
        /// One headcount figure of an institute.
        Headcount => "headcount",
        /// A national programme.
        Program => "program",
        /// A sector of the vocabulary.
        Sector => "sector",
        /// A yearly exchange rate.
        ExchangeRate => "exchange_rate",
        /// A country's indicators of one year (population, GDP, PPP factor).
        CountryIndicator => "country_indicator",
    }
}

/// One recorded change: who made it, when, and the subject before and after.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HistoryEntry {
    /// Id of this history entry.
    #[schema(example = "chg_0a1b2c3d4e5f6g7h")]
    pub id: String,
    /// When the change was committed (RFC 3339, UTC).
    pub at: DateTime<Utc>,
    /// The name of the API key that made the change (`seed` or `import` for bulk loads).
    #[schema(example = "alice")]
    pub actor: String,
    pub action: Action,
    pub subject: Subject,
    /// Id of the changed subject (the institute, or the figure entry).
    #[schema(example = "ins_3f0dy3k1zw9q8v2m")]
    pub subject_id: String,
    /// The subject before the change; null for a creation.
    #[schema(value_type = Option<Object>)]
    pub before: Option<Value>,
    /// The subject after the change; null for a deletion.
    #[schema(value_type = Option<Object>)]
    pub after: Option<Value>,
}
