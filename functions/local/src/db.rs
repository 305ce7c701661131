//! One SQLite file holds jobs, results and the queue. rusqlite is synchronous,
//! so every call runs on a blocking thread; WAL lets readers run beside the writer.

use ferry_core::StoreError;
use rusqlite::Connection;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    task TEXT NOT NULL,
    status TEXT NOT NULL,
    total INTEGER NOT NULL,
    done INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    chunks INTEGER NOT NULL,
    error TEXT,
    metadata TEXT,
    idempotency_key TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS jobs_by_idempotency_key ON jobs(owner, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_by_owner ON jobs(owner, id);
CREATE TABLE IF NOT EXISTS chunks (
    job_id TEXT NOT NULL,
    chunk INTEGER NOT NULL,
    results TEXT NOT NULL,
    PRIMARY KEY (job_id, chunk)
);
CREATE TABLE IF NOT EXISTS queue (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    body TEXT NOT NULL,
    visible_at INTEGER NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    sent_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS queue_by_visibility ON queue(visible_at, id);
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY,
    body TEXT NOT NULL,
    receive_count INTEGER NOT NULL,
    reason TEXT NOT NULL,
    failed_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    scopes TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    hash TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS disabled_owners (
    owner TEXT PRIMARY KEY,
    disabled_at TEXT NOT NULL
);
"#;

/// Schema changes after the first release, applied in order once per file
/// (`PRAGMA user_version` counts how many ran), so a data directory from an
/// older `ferry` keeps working.
const MIGRATIONS: &[&str] = &[
    // 1: callbacks, deadlines, retention, documents, expiring idempotency keys.
    r#"
    ALTER TABLE jobs ADD COLUMN callback_url TEXT;
    ALTER TABLE jobs ADD COLUMN deadline TEXT;
    ALTER TABLE jobs ADD COLUMN expires_at INTEGER;
    ALTER TABLE jobs ADD COLUMN webhook TEXT;
    ALTER TABLE jobs ADD COLUMN webhook_status TEXT;
    ALTER TABLE jobs ADD COLUMN document TEXT;
    CREATE TABLE idempotency (
        owner TEXT NOT NULL,
        key TEXT NOT NULL,
        job_id TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (owner, key)
    );
    "#,
    // 2: work stored before it is queued (recovery), and queue lanes.
    r#"
    ALTER TABLE jobs ADD COLUMN dispatch TEXT;
    ALTER TABLE jobs ADD COLUMN recovery_due INTEGER;
    CREATE INDEX jobs_by_recovery ON jobs(recovery_due) WHERE recovery_due IS NOT NULL;
    ALTER TABLE queue ADD COLUMN lane TEXT NOT NULL DEFAULT 'jobs';
    CREATE INDEX queue_by_lane ON queue(lane, visible_at, id);
    ALTER TABLE dead_letters ADD COLUMN lane TEXT NOT NULL DEFAULT 'jobs';
    "#,
];

fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    let done: usize = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (n, sql) in MIGRATIONS.iter().enumerate().skip(done) {
        conn.execute_batch(&format!("BEGIN; {sql} PRAGMA user_version = {}; COMMIT;", n + 1))?;
    }
    Ok(())
}

/// A shared connection. One writer at a time is all SQLite allows anyway.
#[derive(Clone)]
pub struct Db {
    conn: Arc<Mutex<Connection>>,
}

impl Db {
    pub fn open(path: &Path) -> anyhow::Result<Db> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // NORMAL is durable across process crashes in WAL mode; only a power
        // loss can drop the last transactions.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.execute_batch(SCHEMA)?;
        migrate(&conn)?;
        Ok(Db { conn: Arc::new(Mutex::new(conn)) })
    }

    /// Runs `f` with the connection on a blocking thread.
    pub async fn call<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            f(&mut guard)
        })
        .await
        .map_err(|e| StoreError::Unavailable(format!("database task failed: {e}")))?
        .map_err(store_error)
    }
}

/// A string or blob over SQLite's length limit can never be written;
/// anything else may pass (a busy database, a full disk).
fn store_error(e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::TooBig) => StoreError::TooLarge(e.to_string()),
        _ => StoreError::Unavailable(e.to_string()),
    }
}

pub fn unix_millis() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}
