//! One SQLite file holds jobs, results and the queue. rusqlite is synchronous;
//! its short statements run on the caller's thread (see [`Db::call`]).

use ferry_core::StoreError;
use rusqlite::{Connection, Params, Row};
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

/// Statements kept parsed: the store and the queue use about 40 distinct ones.
const STATEMENT_CACHE: usize = 64;

/// Statements run from the connection's cache. `Connection::execute` and
/// `query_row` parse their SQL on every call, and under load parsing cost as
/// much as running (perf on `ferry serve`: `sqlite3_prepare` 4.7% of the
/// process, `sqlite3_step` 4.3%).
pub trait Cached {
    fn run<P: Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize>;
    fn row<T, P: Params>(
        &self,
        sql: &str,
        params: P,
        f: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T>;
}

impl Cached for Connection {
    fn run<P: Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }

    fn row<T, P: Params>(
        &self,
        sql: &str,
        params: P,
        f: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        self.prepare_cached(sql)?.query_row(params, f)
    }
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
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(Db { conn: Arc::new(Mutex::new(conn)) })
    }

    /// Runs `f` with the connection, on the calling thread. The store's and
    /// the queue's statements touch a few rows by key and take tens of
    /// microseconds, less than handing them to a blocking thread and back:
    /// under load that handoff cost ~35 context switches a request, and
    /// running them here served 12–15% more `/v1/sentiment` requests a second
    /// on 2 cores (serve under wrk, 3 runs each way). Work that may touch many
    /// rows goes through [`Db::call_blocking`].
    pub async fn call<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&mut Connection) -> rusqlite::Result<T>,
    {
        let mut guard = self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut guard).map_err(store_error)
    }

    /// Runs `f` with the connection on a blocking thread, for work whose size
    /// has no small bound (sweeping expired jobs, large sends).
    pub async fn call_blocking<T, F>(&self, f: F) -> Result<T, StoreError>
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
