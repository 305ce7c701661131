//! `KeyStore` on SQLite: the `api_keys` and `disabled_owners` tables of the
//! same file as the jobs (see `db.rs`). Only the key's hash is stored.

use crate::db::{Cached, Db};
use async_trait::async_trait;
use ferry_core::{ApiKeyRecord, KeyStore, StoreError};
use rusqlite::{OptionalExtension, Row, params};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub struct SqliteKeyStore {
    db: Db,
}

impl SqliteKeyStore {
    pub fn new(db: Db) -> Self {
        SqliteKeyStore { db }
    }
}

const KEY_COLUMNS: &str = "id, owner, scopes, enabled, hash, created_at";

fn conversion(e: impl std::error::Error + Send + Sync + 'static) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).expect("UTC timestamps always format")
}

fn key_from_row(row: &Row<'_>) -> rusqlite::Result<ApiKeyRecord> {
    let scopes: String = row.get(2)?;
    let created_at: String = row.get(5)?;
    Ok(ApiKeyRecord {
        id: row.get(0)?,
        owner: row.get(1)?,
        scopes: serde_json::from_str(&scopes).map_err(conversion)?,
        enabled: row.get(3)?,
        hash: row.get(4)?,
        created_at: OffsetDateTime::parse(&created_at, &Rfc3339).map_err(conversion)?,
    })
}

#[async_trait]
impl KeyStore for SqliteKeyStore {
    async fn put_key(&self, record: &ApiKeyRecord) -> Result<(), StoreError> {
        let scopes = serde_json::to_string(&record.scopes).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let record = record.clone();
        let id = record.id.clone();
        let inserted = self
            .db
            .call(move |conn| {
                conn.run(
                    "INSERT INTO api_keys (id, owner, scopes, enabled, hash, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT DO NOTHING",
                    params![record.id, record.owner, scopes, record.enabled, record.hash, rfc3339(record.created_at)],
                )
            })
            .await?;
        if inserted == 0 {
            return Err(StoreError::Unavailable(format!("API key id {id} is taken")));
        }
        Ok(())
    }

    async fn get_key(&self, id: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        let id = id.to_owned();
        self.db
            .call(move |conn| {
                conn.row(&format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE id = ?1"), [id], key_from_row).optional()
            })
            .await
    }

    async fn list_keys(&self) -> Result<Vec<ApiKeyRecord>, StoreError> {
        let mut keys: Vec<ApiKeyRecord> = self
            .db
            .call(|conn| {
                let mut stmt = conn.prepare_cached(&format!("SELECT {KEY_COLUMNS} FROM api_keys"))?;
                let rows = stmt.query_map([], key_from_row)?;
                rows.collect()
            })
            .await?;
        // Sorted here rather than in SQL: RFC 3339 text with a varying number
        // of fraction digits does not sort as time does.
        keys.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(keys)
    }

    async fn set_key_enabled(&self, id: &str, enabled: bool) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.db
            .call(move |conn| conn.run("UPDATE api_keys SET enabled = ?2 WHERE id = ?1", params![id, enabled]))
            .await
            .map(|changed| changed == 1)
    }

    async fn set_owner_enabled(&self, owner: &str, enabled: bool) -> Result<(), StoreError> {
        let owner = owner.to_owned();
        self.db
            .call(move |conn| {
                if enabled {
                    conn.run("DELETE FROM disabled_owners WHERE owner = ?1", [owner])
                } else {
                    // Disabling twice keeps the first time.
                    conn.run(
                        "INSERT INTO disabled_owners (owner, disabled_at) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                        params![owner, rfc3339(ferry_core::job::now())],
                    )
                }
            })
            .await
            .map(drop)
    }

    async fn owner_enabled(&self, owner: &str) -> Result<bool, StoreError> {
        let owner = owner.to_owned();
        self.db
            .call(move |conn| {
                conn.row("SELECT 1 FROM disabled_owners WHERE owner = ?1", [owner], |_| Ok(()))
                    .optional()
                    .map(|disabled| disabled.is_none())
            })
            .await
    }
}
