//! The local adapters over one data directory, wired in one place for
//! `ferry serve` and the tests: SQLite for jobs, keys and the queue, files
//! for blobs. The twin of `ferry_aws::Adapters`.

use crate::blobs::FileBlobs;
use crate::config::database_path;
use crate::db::Db;
use crate::keys::SqliteKeyStore;
use crate::queue::SqliteQueue;
use crate::store::SqliteStore;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub struct LocalAdapters {
    pub store: Arc<SqliteStore>,
    pub queue: SqliteQueue,
    pub keys: Arc<SqliteKeyStore>,
    pub blobs: FileBlobs,
}

impl LocalAdapters {
    /// `ferry.sqlite3` and `blobs/` in `data_dir`. As with SQS and its
    /// `maxReceiveCount`, a message is delivered at most `max_attempts`
    /// times (the worker's last attempt is the queue's last delivery), hidden
    /// for `visibility` after each receive. Jobs are kept for `retention`.
    pub fn open(
        data_dir: &Path,
        visibility: Duration,
        max_attempts: u32,
        retention: Duration,
    ) -> anyhow::Result<LocalAdapters> {
        let db = Db::open(&database_path(data_dir))?;
        Ok(LocalAdapters {
            store: Arc::new(SqliteStore::new(db.clone()).with_retention(retention)),
            keys: Arc::new(SqliteKeyStore::new(db.clone())),
            blobs: FileBlobs::new(data_dir.join("blobs")),
            queue: SqliteQueue::new(db, visibility, max_attempts),
        })
    }
}
