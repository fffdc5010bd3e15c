//! The matcher's index as this process holds it until the read model owns it: built from the
//! database, and built again when the registry's generation has moved on. All of the glue
//! between the store and [`MatchIndex`] is here.

use crate::db::DbConnection;
use crate::error::ApiError;
use crate::model::matching::{CountryNames, MatchIndex};
use crate::store;
use std::sync::{Arc, Mutex, RwLock};

/// An index and the generation of the registry it reflects.
pub struct Built {
    pub generation: i64,
    pub index: MatchIndex,
}

/// The current index, shared by every worker.
#[derive(Default)]
pub struct SharedMatchIndex {
    current: RwLock<Option<Arc<Built>>>,
    /// Held while one worker builds, so that the others keep answering from the last index
    /// instead of all building the same one.
    building: Mutex<()>,
}

impl SharedMatchIndex {
    /// The index for the registry's current generation (or, while another worker builds
    /// that one, the previous index).
    pub fn get(&self, conn: &mut DbConnection) -> Result<Arc<Built>, ApiError> {
        let generation = store::write::sequence_head(conn)?;
        let current = self.current.read().ok().and_then(|c| c.clone());
        if let Some(built) = &current {
            if built.generation == generation {
                return Ok(built.clone());
            }
        }
        let _guard = match (self.building.try_lock(), &current) {
            (Ok(guard), _) => guard,
            (Err(_), Some(stale)) => return Ok(stale.clone()),
            (Err(_), None) => self
                .building
                .lock()
                .map_err(|_| ApiError::Internal("match index lock poisoned".into()))?,
        };
        // Another worker may have built it while this one waited.
        if let Some(built) = self.current.read().ok().and_then(|c| c.clone()) {
            if built.generation == generation {
                return Ok(built);
            }
        }
        let countries = CountryNames::new(store::reference::country_names(conn)?);
        let index = MatchIndex::build(countries, store::matching::entries(conn)?);
        let built = Arc::new(Built { generation, index });
        if let Ok(mut slot) = self.current.write() {
            *slot = Some(built.clone());
        }
        Ok(built)
    }
}
