//! A durable queue in the same SQLite file, with SQS's semantics: a received
//! message is hidden for a visibility timeout and comes back unless deleted;
//! each delivery counts; past the limit it moves to a dead-letter table.

use crate::db::{Cached, Db, unix_millis};
use async_trait::async_trait;
use ferry_core::{DeadLetterQueue, QueueError, StoreError, TaskMessage, TaskQueue, WebhookMessage};
use ferry_inference::Received;
use rusqlite::params;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Most messages a send inserts on the calling thread (see `Db::call`); a
/// split document sends up to thousands of chunks at once, on a blocking one.
const INLINE_SEND: usize = 16;

#[derive(Clone)]
pub struct SqliteQueue {
    db: Db,
    visibility: Duration,
    max_receives: u32,
    /// Wakes a lane's poller as soon as something is sent to it, so an idle
    /// server answers in milliseconds without polling the file hot.
    sent: Arc<[Notify; 3]>,
    /// `false`: interactive work goes on the jobs lane (for comparisons).
    interactive: bool,
}

/// The queue's lanes, each with its own poller: webhook attempts wait on
/// other people's servers, so they never share a poller with inference;
/// work a client waits for ([`ferry_core::Lane::Interactive`]) has a lane
/// the jobs pollers take first and a poller of its own, so it never waits
/// behind a bulk job's chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    Jobs,
    Webhooks,
    Interactive,
}

impl Lane {
    fn as_str(self) -> &'static str {
        match self {
            Lane::Jobs => "jobs",
            Lane::Webhooks => "webhooks",
            Lane::Interactive => "interactive",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// A message that was delivered too often and has been set aside.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    pub body: String,
    pub receive_count: u32,
}

impl SqliteQueue {
    /// Inserts bodies into `lane`, each visible after its delay.
    async fn enqueue(&self, lane: Lane, bodies: Vec<(String, Duration)>) -> Result<(), QueueError> {
        let large = bodies.len() > INLINE_SEND;
        let insert = move |conn: &mut rusqlite::Connection| {
            let tx = conn.transaction()?;
            let now = unix_millis();
            for (body, delay) in &bodies {
                tx.run(
                    "INSERT INTO queue (body, visible_at, sent_at, lane) VALUES (?1, ?2, ?3, ?4)",
                    params![body, now + delay.as_millis() as i64, now, lane.as_str()],
                )?;
            }
            tx.commit()
        };
        let sent = if large { self.db.call_blocking(insert).await } else { self.db.call(insert).await };
        sent.map_err(|e| QueueError(e.to_string()))?;
        self.sent[lane.index()].notify_one();
        Ok(())
    }
}

impl SqliteQueue {
    pub fn new(db: Db, visibility: Duration, max_receives: u32) -> Self {
        SqliteQueue {
            db,
            visibility,
            max_receives,
            sent: Arc::new([Notify::new(), Notify::new(), Notify::new()]),
            interactive: true,
        }
    }

    /// Interactive work is queued with bulk work, as before the lane existed.
    pub fn without_interactive_lane(mut self) -> Self {
        self.interactive = false;
        self
    }

    /// Resolves when a message has been sent to `lane` since the last call.
    pub async fn sent(&self, lane: Lane) {
        self.sent[lane.index()].notified().await
    }

    /// At start-up nothing is in flight: messages hidden by a process that died
    /// become visible again at once instead of after the visibility timeout.
    pub async fn recover(&self) -> Result<usize, StoreError> {
        self.db.call(|conn| conn.run("UPDATE queue SET visible_at = 0 WHERE visible_at > 0", [])).await
    }

    /// Receives up to `max` visible messages of the jobs lane, hiding them
    /// for the visibility timeout. Messages already delivered `max_receives`
    /// times are moved to the dead-letter table instead and returned
    /// separately.
    pub async fn receive(&self, max: u32) -> Result<(Vec<Received>, Vec<DeadLetter>), StoreError> {
        self.receive_from(Lane::Jobs, max).await
    }

    /// [`SqliteQueue::receive`] from one lane.
    pub async fn receive_from(&self, lane: Lane, max: u32) -> Result<(Vec<Received>, Vec<DeadLetter>), StoreError> {
        let (visibility, max_receives) = (self.visibility.as_millis() as i64, self.max_receives);
        self.db
            .call(move |conn| {
                let tx = conn.transaction()?;
                let now = unix_millis();
                let lane = lane.as_str();
                let dead: Vec<DeadLetter> = {
                    let mut stmt = tx.prepare_cached(
                        "DELETE FROM queue WHERE lane = ?3 AND visible_at <= ?1 AND receive_count >= ?2
                         RETURNING body, receive_count",
                    )?;
                    let rows = stmt.query_map(params![now, max_receives, lane], |r| {
                        Ok(DeadLetter { body: r.get(0)?, receive_count: r.get(1)? })
                    })?;
                    rows.collect::<Result<_, _>>()?
                };
                for d in &dead {
                    tx.run(
                        "INSERT INTO dead_letters (body, receive_count, reason, failed_at, lane)
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                        params![d.body, d.receive_count, "maximum receives exceeded", now, lane],
                    )?;
                }
                let received: Vec<Received> = {
                    let mut stmt = tx.prepare_cached(
                        "UPDATE queue SET visible_at = ?1 + ?2, receive_count = receive_count + 1
                         WHERE id IN (SELECT id FROM queue WHERE lane = ?4 AND visible_at <= ?1 ORDER BY id LIMIT ?3)
                         RETURNING id, body, receive_count",
                    )?;
                    let rows = stmt.query_map(params![now, visibility, max, lane], |r| {
                        Ok(Received { id: r.get::<_, i64>(0)?.to_string(), body: r.get(1)?, receive_count: r.get(2)? })
                    })?;
                    rows.collect::<Result<_, _>>()?
                };
                tx.commit()?;
                let mut received = received;
                received.sort_by_key(|r| r.id.parse::<i64>().unwrap_or(i64::MAX));
                Ok((received, dead))
            })
            .await
    }

    pub async fn delete(&self, ids: Vec<String>) -> Result<(), StoreError> {
        self.db
            .call(move |conn| {
                let tx = conn.transaction()?;
                for id in &ids {
                    tx.run("DELETE FROM queue WHERE id = ?1", [id])?;
                }
                tx.commit()
            })
            .await
    }

    /// Makes messages visible again after `delay` (a retry back-off, or at
    /// shutdown so the next start picks them up at once).
    pub async fn release(&self, ids: Vec<String>, delay: Duration) -> Result<(), StoreError> {
        let delay = delay.as_millis() as i64;
        self.db
            .call(move |conn| {
                let tx = conn.transaction()?;
                for id in &ids {
                    tx.run("UPDATE queue SET visible_at = ?2 WHERE id = ?1", params![id, unix_millis() + delay])?;
                }
                tx.commit()
            })
            .await
    }

    /// Messages waiting or in flight (for tests and `/healthz` details).
    pub async fn depth(&self) -> Result<u64, StoreError> {
        self.db.call(|conn| conn.row("SELECT COUNT(*) FROM queue", [], |r| r.get(0))).await
    }
}

#[async_trait]
impl TaskQueue for SqliteQueue {
    async fn send(&self, messages: &[TaskMessage]) -> Result<(), QueueError> {
        self.send_on(ferry_core::Lane::Bulk, messages).await
    }

    async fn send_on(&self, lane: ferry_core::Lane, messages: &[TaskMessage]) -> Result<(), QueueError> {
        let lane = match lane {
            ferry_core::Lane::Bulk => Lane::Jobs,
            ferry_core::Lane::Interactive if self.interactive => Lane::Interactive,
            ferry_core::Lane::Interactive => Lane::Jobs,
        };
        self.enqueue(lane, messages.iter().map(|m| (m.to_json(), Duration::ZERO)).collect()).await
    }

    async fn send_webhook(&self, message: &WebhookMessage, delay: Duration) -> Result<(), QueueError> {
        self.enqueue(Lane::Webhooks, vec![(message.to_json(), delay)]).await
    }
}

#[async_trait]
impl DeadLetterQueue for SqliteQueue {
    async fn list(&self, max: u32) -> Result<Vec<ferry_core::DeadLetter>, QueueError> {
        self.db
            .call(move |conn| {
                let mut stmt =
                    conn.prepare_cached("SELECT id, body, receive_count FROM dead_letters ORDER BY id LIMIT ?1")?;
                let rows = stmt.query_map([max], |r| {
                    let id: i64 = r.get(0)?;
                    Ok(ferry_core::DeadLetter {
                        handle: id.to_string(),
                        message_id: id.to_string(),
                        body: r.get(1)?,
                        receive_count: r.get(2)?,
                    })
                })?;
                rows.collect()
            })
            .await
            .map_err(|e| QueueError(e.to_string()))
    }

    async fn redrive(&self, letter: &ferry_core::DeadLetter) -> Result<(), QueueError> {
        let id = letter.handle.clone();
        self.db
            .call(move |conn| {
                let tx = conn.transaction()?;
                let now = unix_millis();
                let moved = tx.run(
                    "INSERT INTO queue (body, visible_at, sent_at, lane)
                     SELECT body, ?2, ?2, lane FROM dead_letters WHERE id = ?1",
                    params![id, now],
                )?;
                tx.run("DELETE FROM dead_letters WHERE id = ?1", [&id])?;
                tx.commit()?;
                Ok(moved)
            })
            .await
            .map_err(|e| QueueError(e.to_string()))?;
        self.sent.iter().for_each(Notify::notify_one);
        Ok(())
    }
}
