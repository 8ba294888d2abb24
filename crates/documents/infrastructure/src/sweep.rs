//! The orphan sweep: removes objects of the store that no document row
//! references. They come from an upload whose row could not be written
//! (crash between the two), or a delete whose object removal failed after
//! the commit. A grace period spares objects whose row may still be on its
//! way (an upload writes the object, then its row).

use std::collections::HashSet;

use async_trait::async_trait;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use hub_documents_application::ports::BlobStore;
use hub_platform_postgres::Database;
use hub_platform_postgres::jobs::{JobError, ScheduledJob};
use time::{Duration, OffsetDateTime};

use crate::ObjectBlobStore;
use crate::schema::documents;

/// Keys looked up in the database per query.
const BATCH: usize = 500;

/// The sweep, as a scheduled job of the platform (one instance at a time).
#[derive(Debug, Clone)]
pub struct OrphanSweep {
    store: ObjectBlobStore,
    grace: Duration,
}

impl OrphanSweep {
    /// Objects younger than `grace` are left alone.
    pub fn new(store: ObjectBlobStore, grace: Duration) -> Self {
        Self { store, grace }
    }
}

#[async_trait]
impl ScheduledJob for OrphanSweep {
    fn name(&self) -> &'static str {
        "documents.orphan_sweep"
    }

    /// Deletes the orphans older than the grace period; returns how many.
    async fn run(&self, db: &Database, now: OffsetDateTime) -> Result<usize, JobError> {
        let candidates = self
            .store
            .keys_older_than(now - self.grace)
            .await
            .map_err(JobError::new)?;
        let mut removed = 0;
        for batch in candidates.chunks(BATCH) {
            let keys: Vec<&str> = batch.iter().map(|key| key.as_str()).collect();
            let mut conn = db.connection().await?;
            let known: HashSet<String> = documents::table
                .filter(documents::chemin_stockage.eq_any(&keys))
                .select(documents::chemin_stockage)
                .load::<String>(&mut conn)
                .await?
                .into_iter()
                .collect();
            drop(conn);
            for key in batch.iter().filter(|key| !known.contains(key.as_str())) {
                self.store.delete(key).await.map_err(JobError::new)?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}
