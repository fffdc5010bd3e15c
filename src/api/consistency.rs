//! Reading one's writes through any replica: lists, search and aggregates come from this
//! process's read model, which states the change it reflects (`Registry-Sequence`); a request
//! with `min_sequence=N` waits, bounded, until the read model has applied change N.

use super::params::Checker;
use super::AppState;
use crate::error::ApiError;
use std::time::Duration;

/// How long a request waits for the read model to reach its `min_sequence`.
const WAIT: Duration = Duration::from_secs(2);

/// Reads `min_sequence`: a change number (0 or more).
pub fn parse(check: &mut Checker, raw: Option<&str>) -> Option<i64> {
    raw.map(|_| check.int("min_sequence", raw, 0, i64::MAX, 0))
}

/// Waits until the read model reflects change `min` (when given): a 400 naming
/// `min_sequence` at once when no such change has been committed (the number is beyond the
/// registry's head); a 503 when this process has not applied it within two seconds.
pub async fn reach(state: &AppState, min: Option<i64>) -> Result<(), ApiError> {
    let Some(min) = min else { return Ok(()) };
    if state.read.sequence() >= min {
        return Ok(());
    }
    let head = super::db(state, |conn| Ok(crate::store::write::sequence_head(conn)?)).await?;
    if min > head {
        return Err(ApiError::field(
            "min_sequence",
            format!(
                "no change {min} has been committed: the registry's last change is {head} \
                 (the Registry-Sequence of a write's answer, or of /v1/changes)"
            ),
        ));
    }
    if state.read.reached(min, WAIT).await {
        return Ok(());
    }
    Err(ApiError::Unavailable(format!(
        "this server reflects the registry up to change {} and did not reach change {min} \
         (min_sequence) within {} s; retry, or check the number (the head is in the \
         Registry-Sequence header of /v1/changes)",
        state.read.sequence(),
        WAIT.as_secs()
    )))
}
