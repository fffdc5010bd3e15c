//! The registry's change sequence: what changed, in commit order.

use super::vocabulary;

vocabulary! {
    /// The kind of record a change was made to.
    Resource {
        /// An institute (its record, sectors or figures).
        Institute => "institute",
        /// A national programme.
        Program => "program",
        /// A sector of the vocabulary.
        Sector => "sector",
        /// A yearly exchange rate (its id is `CUR/YEAR`).
        ExchangeRate => "exchange_rate",
        /// A country's indicators of one year (its id is `CC/YEAR`).
        CountryIndicator => "country_indicator",
    }
}

vocabulary! {
    /// What a change did to its record.
    ChangeOp {
        /// The record was created.
        Created => "created",
        /// The record changed: its fields, figures, or something its representation shows (a
        /// parent's name, a child, an exchange rate).
        Updated => "updated",
        /// The record was deleted.
        Deleted => "deleted",
        /// The record was deleted and merged into another (`successor`).
        Merged => "merged",
    }
}

impl ChangeOp {
    /// Whether the record is gone after this change.
    pub fn removes(self) -> bool {
        matches!(self, ChangeOp::Deleted | ChangeOp::Merged)
    }
}
