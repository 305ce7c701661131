//! Jobs: what a client asked for, where it stands, and what it produced.

use crate::message::TaskMessage;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use time::OffsetDateTime;
use uuid::Uuid;

/// A job id: a UUIDv7, so ids sort by creation time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobId(pub Uuid);

impl JobId {
    pub fn new() -> Self {
        JobId(Uuid::now_v7())
    }
}

impl Default for JobId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for JobId {
    type Err = uuid::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(JobId)
    }
}

/// What a job does. New tasks are added here and nowhere else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Task {
    #[serde(rename = "sentiment")]
    Sentiment,
    /// A resume against a job description: contacts, skills, experience, score.
    #[serde(rename = "resume-match")]
    ResumeMatch,
}

impl Task {
    pub fn as_str(self) -> &'static str {
        match self {
            Task::Sentiment => "sentiment",
            Task::ResumeMatch => "resume-match",
        }
    }
}

impl FromStr for Task {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "sentiment" => Ok(Task::Sentiment),
            "resume-match" => Ok(Task::ResumeMatch),
            other => Err(format!("unknown task {other:?}; supported: \"sentiment\", \"resume-match\"")),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
    Canceled,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Failed => "failed",
            JobStatus::Canceled => "canceled",
        }
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, JobStatus::Succeeded | JobStatus::Failed | JobStatus::Canceled)
    }

    /// Statuses only move forward: queued → running → one terminal state.
    /// Stores use this to refuse a late or redelivered write that would regress.
    pub fn can_move_to(self, next: JobStatus) -> bool {
        match self {
            JobStatus::Queued => next != JobStatus::Queued,
            JobStatus::Running => next.is_terminal(),
            _ => false,
        }
    }
}

impl FromStr for JobStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "queued" => Ok(JobStatus::Queued),
            "running" => Ok(JobStatus::Running),
            "succeeded" => Ok(JobStatus::Succeeded),
            "failed" => Ok(JobStatus::Failed),
            "canceled" => Ok(JobStatus::Canceled),
            other => Err(format!("unknown status {other:?}")),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Progress {
    pub total: u32,
    pub done: u32,
    pub failed: u32,
}

impl Progress {
    /// Every item accounted for. A job with no items yet (a document not
    /// split) is not complete.
    pub fn is_complete(&self) -> bool {
        self.total > 0 && self.done + self.failed >= self.total
    }

    /// How a job with this progress ends, once every item is accounted for:
    /// it succeeds if any item did, and fails when every item failed. Both
    /// stores apply this rule (in the write that counts the last chunk, or
    /// when a redelivery finds the count complete).
    pub fn ending(&self) -> Option<Ending> {
        match self.is_complete() {
            false => None,
            true if self.done == 0 => Some(Ending { status: JobStatus::Failed, error: Some(EVERY_ITEM_FAILED) }),
            true => Some(Ending { status: JobStatus::Succeeded, error: None }),
        }
    }
}

/// The reason a job fails when none of its items succeeded.
pub const EVERY_ITEM_FAILED: &str = "every item failed";

/// The final status a complete job moves to, and its error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ending {
    pub status: JobStatus,
    pub error: Option<&'static str>,
}

/// The job record every store keeps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub id: JobId,
    pub owner: String,
    pub task: Task,
    pub status: JobStatus,
    pub progress: Progress,
    /// How many queue messages (chunks) carry the job's items.
    pub chunks: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Value>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// Where the terminal summary is POSTed (checked by [`crate::callback`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_url: Option<String>,
    /// Work not done by then is skipped and the job ends canceled.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "time::serde::rfc3339::option")]
    pub deadline: Option<OffsetDateTime>,
    /// After this the job reads as missing, whether or not the store has
    /// deleted it yet.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// Delivery of the callback, once the job is final.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<WebhookState>,
    /// A JSONL document holding the inputs (the worker splits it), instead of
    /// inputs carried in the messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<String>,
    /// The messages that start the job, stored with it until they are known
    /// to be queued: whoever creates a job stores these first, queues them
    /// second and marks them queued third, so a crash in between leaves a job
    /// the recovery sweep ([`crate::outbox`]) queues again, never one
    /// nobody will run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispatch: Option<Dispatch>,
    /// When the job's outstanding queue work was due: its dispatch (at
    /// creation) or its webhook's next attempt. The recovery sweep looks at
    /// jobs whose due time is older than its grace. `None`: nothing outstanding.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "time::serde::rfc3339::option")]
    pub recovery_due: Option<OffsetDateTime>,
}

/// How long records live unless configured otherwise.
pub const DEFAULT_RETENTION: std::time::Duration = std::time::Duration::from_secs(30 * 24 * 3600);

/// The queue work a job was created with (see [`Job::dispatch`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dispatch {
    /// One small message, kept inline.
    Message(TaskMessage),
    /// The messages as JSON lines in the blob store (many, or a large one).
    Staged { key: String, messages: u32 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WebhookStatus {
    /// Queued or being retried.
    Pending,
    Delivered,
    /// Given up after the last attempt.
    Failed,
}

impl WebhookStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookStatus::Pending => "pending",
            WebhookStatus::Delivered => "delivered",
            WebhookStatus::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookState {
    pub status: WebhookStatus,
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// When the next attempt is due (pending only).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "time::serde::rfc3339::option")]
    pub next_attempt_at: Option<OffsetDateTime>,
}

impl WebhookState {
    /// Queued or being retried, the next attempt due at `at`.
    pub fn pending(attempts: u32, last_error: Option<String>, at: OffsetDateTime) -> Self {
        WebhookState { status: WebhookStatus::Pending, attempts, last_error, next_attempt_at: Some(whole_millis(at)) }
    }

    /// Delivered or given up: nothing more is due.
    pub fn finished(status: WebhookStatus, attempts: u32, last_error: Option<String>) -> Self {
        WebhookState { status, attempts, last_error, next_attempt_at: None }
    }

    /// When the recovery sweep should consider this state's next attempt
    /// overdue (plus its grace): only a pending webhook has one.
    pub fn recovery_due(&self) -> Option<OffsetDateTime> {
        (self.status == WebhookStatus::Pending).then(|| self.next_attempt_at.unwrap_or_else(now))
    }
}

impl Job {
    pub fn new(owner: &str, task: Task, total: u32, chunks: u32) -> Self {
        let now = now();
        Job {
            id: JobId::new(),
            owner: owner.to_owned(),
            task,
            status: JobStatus::Queued,
            progress: Progress { total, done: 0, failed: 0 },
            chunks,
            error: None,
            metadata: None,
            created_at: now,
            updated_at: now,
            callback_url: None,
            deadline: None,
            expires_at: whole_seconds(now + DEFAULT_RETENTION),
            webhook: None,
            document: None,
            dispatch: None,
            recovery_due: None,
        }
    }

    /// Stores `dispatch` with the job as the work to queue once it exists
    /// (see [`Job::dispatch`]).
    pub fn dispatching(mut self, dispatch: Dispatch) -> Self {
        self.dispatch = Some(dispatch);
        self.recovery_due = Some(self.created_at);
        self
    }

    /// Keeps the job for `retention` from its creation (to the second, as
    /// stores keep expiry times).
    pub fn retain_for(&mut self, retention: std::time::Duration) {
        self.expires_at = whole_seconds(self.created_at + retention);
    }

    /// Past its retention: reads as missing.
    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        now >= self.expires_at
    }

    /// Past its deadline without having finished.
    pub fn is_overdue(&self, now: OffsetDateTime) -> bool {
        !self.status.is_terminal() && self.deadline.is_some_and(|d| now >= d)
    }

    /// What clients see of a job (the API's view and the webhook's payload),
    /// without results.
    pub fn summary(&self) -> serde_json::Value {
        let rfc3339 = |t: OffsetDateTime| t.format(&time::format_description::well_known::Rfc3339).ok();
        let mut v = serde_json::json!({
            "id": self.id,
            "task": self.task,
            "status": self.status,
            "progress": self.progress,
            "created_at": rfc3339(self.created_at),
            "updated_at": rfc3339(self.updated_at),
            "expires_at": rfc3339(self.expires_at),
            "results_url": format!("/v1/jobs/{}/results", self.id),
        });
        if let Some(error) = &self.error {
            v["error"] = serde_json::json!(error);
        }
        if let Some(metadata) = &self.metadata {
            v["metadata"] = metadata.clone();
        }
        if let Some(deadline) = self.deadline {
            v["deadline"] = serde_json::json!(rfc3339(deadline));
        }
        if let Some(url) = &self.callback_url {
            v["callback_url"] = serde_json::json!(url);
        }
        if let Some(webhook) = &self.webhook {
            v["webhook"] = serde_json::json!(webhook);
        }
        v
    }
}

fn whole_seconds(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(0).unwrap_or(t)
}

/// Wall-clock now, truncated to milliseconds so it survives every store's
/// round trip unchanged.
pub fn now() -> OffsetDateTime {
    whole_millis(OffsetDateTime::now_utc())
}

fn whole_millis(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(t.millisecond() as u32 * 1_000_000).unwrap_or(t)
}

/// One item's result inside a chunk: either the task's output or an error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemResult {
    /// The item's index in the job's inputs.
    pub i: u32,
    #[serde(flatten)]
    pub outcome: ItemOutcome,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ItemOutcome {
    Failed { error: String },
    Ok(serde_json::Value),
}

impl ItemResult {
    pub fn ok(i: u32, value: serde_json::Value) -> Self {
        ItemResult { i, outcome: ItemOutcome::Ok(value) }
    }

    pub fn failed(i: u32, error: impl Into<String>) -> Self {
        ItemResult { i, outcome: ItemOutcome::Failed { error: error.into() } }
    }

    pub fn is_ok(&self) -> bool {
        matches!(self.outcome, ItemOutcome::Ok(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_never_moves_backwards() {
        use JobStatus::*;
        assert!(Queued.can_move_to(Running));
        assert!(Running.can_move_to(Succeeded));
        assert!(!Running.can_move_to(Queued));
        assert!(!Succeeded.can_move_to(Running));
        assert!(!Failed.can_move_to(Succeeded));
        assert!(!Canceled.can_move_to(Running));
    }

    #[test]
    fn item_results_serialise_flat() {
        let ok = ItemResult::ok(3, serde_json::json!({"sentiment": "positive"}));
        assert_eq!(serde_json::to_value(&ok).unwrap(), serde_json::json!({"i": 3, "sentiment": "positive"}));
        let bad = ItemResult::failed(4, "empty text");
        let v = serde_json::to_value(&bad).unwrap();
        assert_eq!(v, serde_json::json!({"i": 4, "error": "empty text"}));
        let back: ItemResult = serde_json::from_value(v).unwrap();
        assert_eq!(back, bad);
    }

    #[test]
    fn unknown_task_is_an_error() {
        assert_eq!("sentiment".parse::<Task>(), Ok(Task::Sentiment));
        assert_eq!("resume-match".parse::<Task>(), Ok(Task::ResumeMatch));
        assert_eq!(serde_json::to_value(Task::ResumeMatch).unwrap(), "resume-match");
        assert!("summarise".parse::<Task>().is_err());
    }
}
