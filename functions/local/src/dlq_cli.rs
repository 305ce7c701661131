//! `ferry dlq`: what the queue set aside after too many deliveries, and
//! putting it back. Redrive is tied to the job record: a chunk the worker gave
//! up on was counted as failed items; it is reopened (uncounted) before its
//! message goes back, so when it succeeds the job's counters stay exact.
//!
//! Output: one JSON line per dead letter (`list`) or per redriven letter
//! (`redrive`) on stdout; a summary on stderr.

use crate::config::database_path;
use crate::db::Db;
use crate::queue::SqliteQueue;
use crate::store::SqliteStore;
use anyhow::Context;
use clap::{Args, Subcommand};
use ferry_core::{DeadLetter, DeadLetterQueue, JobId, JobStore, TaskMessage, WebhookMessage, Work};
use serde_json::{Value, json};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Most letters one command looks at.
const MAX_LETTERS: u32 = 10_000;

#[derive(Args, Debug, Clone)]
pub struct DlqArgs {
    /// Where the SQLite file lives (`--backend sqlite`).
    #[arg(long, env = "FERRY_DATA_DIR", default_value = ".ferry")]
    pub data_dir: PathBuf,
    /// `sqlite` (default) or `aws` (FERRY_DLQ_URL, FERRY_QUEUE_URL, FERRY_TABLE, FERRY_BUCKET).
    #[arg(long, env = "FERRY_BACKEND", default_value = "sqlite", value_parser = ["sqlite", "aws"])]
    pub backend: String,
    #[arg(long, env = "FERRY_DLQ_URL", required_if_eq("backend", "aws"))]
    pub dlq_url: Option<String>,
    #[arg(long, env = "FERRY_QUEUE_URL", required_if_eq("backend", "aws"))]
    pub queue_url: Option<String>,
    #[arg(long, env = "FERRY_TABLE", required_if_eq("backend", "aws"))]
    pub table: Option<String>,
    #[arg(long, env = "FERRY_BUCKET", required_if_eq("backend", "aws"))]
    pub bucket: Option<String>,
    /// Only the letters of this job.
    #[arg(long)]
    pub job: Option<JobId>,
}

#[derive(Subcommand, Debug, Clone)]
pub enum DlqCommand {
    /// Print the dead letters: message id, deliveries, job, chunk, items.
    List {
        #[command(flatten)]
        args: DlqArgs,
    },
    /// Put dead letters back on the jobs queue, reopening the chunks their
    /// failed items were recorded for.
    Redrive {
        #[command(flatten)]
        args: DlqArgs,
    },
}

pub async fn run(command: DlqCommand) -> anyhow::Result<()> {
    let (args, redrive) = match &command {
        DlqCommand::List { args } => (args, false),
        DlqCommand::Redrive { args } => (args, true),
    };
    let (dlq, store) = open(args).await?;
    let letters: Vec<DeadLetter> = dlq
        .list(MAX_LETTERS)
        .await?
        .into_iter()
        .filter(|l| args.job.is_none() || describe(l)["job_id"] == json!(args.job.map(|j| j.to_string())))
        .collect();
    let mut out = std::io::stdout().lock();
    let mut moved = 0;
    for letter in &letters {
        let mut line = describe(letter);
        if redrive {
            line["reopened"] = json!(redrive_one(dlq.as_ref(), store.as_ref(), letter).await?);
            moved += 1;
        }
        writeln!(out, "{line}")?;
    }
    if redrive {
        eprintln!("{moved} message(s) redriven");
    } else {
        eprintln!("{} dead letter(s)", letters.len());
    }
    Ok(())
}

/// Reopens the letter's chunk (when it holds only the worker's give-up
/// failures) and moves the letter back. Returns whether a chunk was reopened.
pub async fn redrive_one(dlq: &dyn DeadLetterQueue, store: &dyn JobStore, letter: &DeadLetter) -> anyhow::Result<bool> {
    let reopened = match TaskMessage::parse(&letter.body) {
        Ok(message) if matches!(message.work, Work::Texts(_)) => {
            store.reopen_chunk(message.job_id, message.chunk).await?
        }
        _ => false,
    };
    dlq.redrive(letter).await?;
    Ok(reopened)
}

/// What a letter is about, for people: never its texts.
pub fn describe(letter: &DeadLetter) -> Value {
    let mut line = json!({ "message_id": letter.message_id, "deliveries": letter.receive_count });
    match (TaskMessage::parse(&letter.body), WebhookMessage::parse(&letter.body)) {
        (Ok(m), _) => {
            line["job_id"] = json!(m.job_id.to_string());
            line["chunk"] = json!(m.chunk);
            line["items"] = json!(m.items().len());
            line["kind"] = json!(if matches!(m.work, Work::Texts(_)) { "task" } else { "document" });
        }
        (_, Some(Ok(w))) => {
            line["job_id"] = json!(w.job_id.to_string());
            line["kind"] = json!("webhook");
            line["attempt"] = json!(w.attempt);
        }
        (Err(poison), _) => {
            line["job_id"] = json!(poison.job_id.map(|j| j.to_string()));
            line["kind"] = json!("unreadable");
            line["reason"] = json!(poison.reason);
        }
    }
    line
}

async fn open(args: &DlqArgs) -> anyhow::Result<(Box<dyn DeadLetterQueue>, Arc<dyn JobStore>)> {
    if args.backend == "aws" {
        #[cfg(not(feature = "aws"))]
        return Err(crate::without_aws());
        #[cfg(feature = "aws")]
        return Ok(aws(args).await);
    }
    let path = database_path(&args.data_dir);
    anyhow::ensure!(path.exists(), "no Ferry data in {} (run ferry serve first)", args.data_dir.display());
    let db = Db::open(&path).with_context(|| format!("opening {}", path.display()))?;
    // Visibility and delivery limit do not matter for redrive: nothing is received here.
    let queue = SqliteQueue::new(db.clone(), Duration::from_secs(60), 1);
    Ok((Box::new(queue), Arc::new(SqliteStore::new(db))))
}

#[cfg(feature = "aws")]
async fn aws(args: &DlqArgs) -> (Box<dyn DeadLetterQueue>, Arc<dyn JobStore>) {
    let sdk = ferry_aws::config().await;
    let dlq = ferry_aws::SqsDeadLetters::new(
        &sdk,
        args.dlq_url.clone().unwrap_or_default(),
        args.queue_url.clone().unwrap_or_default(),
    );
    let store = ferry_aws::DynamoStore::new(
        &sdk,
        args.table.clone().unwrap_or_default(),
        args.bucket.clone().unwrap_or_default(),
    );
    (Box::new(dlq), Arc::new(store))
}
