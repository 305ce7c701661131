//! The queue message: the one format the API, upstream systems and the worker
//! agree on. Versioned, JSON, at most 256 KiB (SQS's limit).

use crate::job::{Job, JobId, Task};
use serde::{Deserialize, Serialize};
use sha2::Digest;

pub const MESSAGE_VERSION: u32 = 1;
/// SQS refuses bodies over 256 KiB; stay well below it to leave room for
/// attributes and JSON escaping.
pub const MAX_MESSAGE_BYTES: usize = 200 * 1024;
/// Items per message: large enough to amortise a model run, small enough that
/// one message finishes in seconds and a big batch fans out across workers.
pub const MAX_ITEMS_PER_MESSAGE: usize = 64;

/// One message of a job's work, as the worker handles it: parsed once, at
/// the edge, into what it asks for. On the wire it is the flat, versioned
/// JSON of `schemas/queue-message.schema.json` ([`WireMessage`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "WireMessage", into = "WireMessage")]
pub struct TaskMessage {
    pub job_id: JobId,
    pub owner: String,
    pub chunk: u32,
    pub work: Work,
    /// Item count of the whole job. Only needed when an upstream system puts a
    /// message on the queue for a job the API never created.
    pub total: Option<u32>,
}

/// What a message asks the worker to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Work {
    /// Sentiment of these texts (1 to [`MAX_ITEMS_PER_MESSAGE`]).
    Texts(Vec<Item>),
    /// Sentiment of every line of a JSONL document, which the worker splits
    /// into chunk messages of its own.
    Document(DocumentRef),
    /// A resume matched against a job description.
    Resume { resume: DocumentRef, job_description: JobDescription },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    pub i: u32,
    pub text: String,
}

/// What a resume is matched against: its text, or an uploaded document's key.
#[derive(Debug, Clone, PartialEq)]
pub enum JobDescription {
    Text(String),
    Key(String),
}

/// Where a document job's inputs are: a key in the blob store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentRef {
    pub key: String,
}

/// The message as JSON: every kind in one flat object of optional fields,
/// which [`TaskMessage`]'s `TryFrom` checks once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireMessage {
    pub v: u32,
    pub job_id: JobId,
    pub owner: String,
    pub task: Task,
    pub chunk: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<Item>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<DocumentRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_description: Option<WireJobDescription>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireJobDescription {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

/// Why a well-formed JSON message is not a task Ferry can run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    #[error("unsupported message version {0}; expected {MESSAGE_VERSION}")]
    Version(u32),
    #[error("a resume-match message needs a job_description with text or key")]
    NoJobDescription,
    #[error("a resume-match message names one document (the resume) and no items")]
    NotOneResume,
    #[error("only resume-match messages carry a job_description")]
    StrayJobDescription,
    #[error("message has no items")]
    NoItems,
    #[error("a message has items or a document, not both")]
    ItemsAndDocument,
    #[error("message has {0} items; at most {MAX_ITEMS_PER_MESSAGE}")]
    TooManyItems(usize),
}

impl TryFrom<WireMessage> for TaskMessage {
    type Error = MessageError;

    fn try_from(wire: WireMessage) -> Result<TaskMessage, MessageError> {
        if wire.v != MESSAGE_VERSION {
            return Err(MessageError::Version(wire.v));
        }
        let work = match (wire.task, wire.items.len(), wire.document, wire.job_description) {
            (Task::ResumeMatch, 0, Some(resume), Some(jd)) => match (jd.text, jd.key) {
                (Some(text), None) => Work::Resume { resume, job_description: JobDescription::Text(text) },
                (None, Some(key)) => Work::Resume { resume, job_description: JobDescription::Key(key) },
                _ => return Err(MessageError::NoJobDescription),
            },
            (Task::ResumeMatch, 0, Some(_), None) => return Err(MessageError::NoJobDescription),
            (Task::ResumeMatch, ..) => return Err(MessageError::NotOneResume),
            (Task::Sentiment, _, _, Some(_)) => return Err(MessageError::StrayJobDescription),
            (Task::Sentiment, 0, None, None) => return Err(MessageError::NoItems),
            (Task::Sentiment, 0, Some(document), None) => Work::Document(document),
            (Task::Sentiment, _, Some(_), None) => return Err(MessageError::ItemsAndDocument),
            (Task::Sentiment, n, None, None) if n > MAX_ITEMS_PER_MESSAGE => {
                return Err(MessageError::TooManyItems(n));
            }
            (Task::Sentiment, _, None, None) => Work::Texts(wire.items),
        };
        Ok(TaskMessage { job_id: wire.job_id, owner: wire.owner, chunk: wire.chunk, work, total: wire.total })
    }
}

impl From<TaskMessage> for WireMessage {
    fn from(message: TaskMessage) -> WireMessage {
        let task = message.task();
        let (items, document, job_description) = match message.work {
            Work::Texts(items) => (items, None, None),
            Work::Document(document) => (Vec::new(), Some(document), None),
            Work::Resume { resume, job_description } => {
                let jd = match job_description {
                    JobDescription::Text(text) => WireJobDescription { text: Some(text), key: None },
                    JobDescription::Key(key) => WireJobDescription { text: None, key: Some(key) },
                };
                (Vec::new(), Some(resume), Some(jd))
            }
        };
        WireMessage {
            v: MESSAGE_VERSION,
            job_id: message.job_id,
            owner: message.owner,
            task,
            chunk: message.chunk,
            items,
            document,
            job_description,
            total: message.total,
        }
    }
}

/// A message that can never succeed: acknowledge it and fail its job.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{reason}")]
pub struct Poison {
    /// The job to fail, when the message names one we can read.
    pub job_id: Option<JobId>,
    /// The owner the message names, when it names one: only that owner's
    /// job is failed, so a malformed message cannot fail someone else's.
    pub owner: Option<String>,
    pub reason: String,
}

impl TaskMessage {
    /// Parses and validates a body. Anything wrong is permanent, so it is
    /// reported as [`Poison`], with the job id when it can be recovered.
    pub fn parse(body: &str) -> Result<TaskMessage, Poison> {
        let value: serde_json::Value = serde_json::from_str(body).map_err(|e| Poison {
            job_id: None,
            owner: None,
            reason: format!("message is not JSON: {e}"),
        })?;
        TaskMessage::from_value(value)
    }

    /// [`TaskMessage::parse`] of a body already read as JSON.
    pub fn from_value(value: serde_json::Value) -> Result<TaskMessage, Poison> {
        let job_id = value.get("job_id").and_then(|v| v.as_str()).and_then(|s| s.parse().ok());
        let owner = value.get("owner").and_then(|v| v.as_str()).map(str::to_owned);
        let poison = |reason: String| Poison { job_id, owner: owner.clone(), reason };
        // The two checks that name what is wrong better than serde would.
        if let Some(task) = value.get("task").and_then(|t| t.as_str()) {
            task.parse::<Task>().map_err(poison)?;
        }
        match value.get("v").and_then(|v| v.as_u64()) {
            Some(v) if v == MESSAGE_VERSION as u64 => {}
            other => return Err(poison(format!("unsupported message version {other:?}; expected {MESSAGE_VERSION}"))),
        }
        let wire: WireMessage = serde_json::from_value(value).map_err(|e| poison(format!("malformed message: {e}")))?;
        TaskMessage::try_from(wire).map_err(|e| poison(e.to_string()))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a TaskMessage always serialises")
    }

    /// The task the message's work belongs to.
    pub fn task(&self) -> Task {
        match self.work {
            Work::Texts(_) | Work::Document(_) => Task::Sentiment,
            Work::Resume { .. } => Task::ResumeMatch,
        }
    }

    /// The texts a chunk carries; none for a document or a resume.
    pub fn items(&self) -> &[Item] {
        match &self.work {
            Work::Texts(items) => items,
            _ => &[],
        }
    }

    /// How many items the whole job has, for a message that creates it.
    pub fn job_total(&self) -> u32 {
        self.total.unwrap_or(self.items().len() as u32)
    }
}

/// Splits a job's texts into messages of at most [`MAX_ITEMS_PER_MESSAGE`]
/// items and [`MAX_MESSAGE_BYTES`] bytes. Callers have already bounded each
/// text well below the byte limit.
pub fn chunk_texts(job: &Job, texts: &[String]) -> Vec<TaskMessage> {
    let mut messages = Vec::new();
    let mut items = Vec::new();
    let mut bytes = 0;
    for (i, text) in texts.iter().enumerate() {
        // JSON escaping can grow a text; 2x plus framing is a safe bound.
        let cost = text.len() * 2 + 32;
        if !items.is_empty() && (items.len() == MAX_ITEMS_PER_MESSAGE || bytes + cost > MAX_MESSAGE_BYTES) {
            messages.push(message(job, messages.len() as u32, Work::Texts(std::mem::take(&mut items))));
            bytes = 0;
        }
        bytes += cost;
        items.push(Item { i: i as u32, text: text.clone() });
    }
    if !items.is_empty() {
        messages.push(message(job, messages.len() as u32, Work::Texts(items)));
    }
    messages
}

/// How many messages [`chunk_texts`] will produce, without building them.
pub fn count_chunks(texts: &[String]) -> u32 {
    let mut chunks = 0;
    let (mut n, mut bytes) = (0, 0);
    for text in texts {
        let cost = text.len() * 2 + 32;
        if n > 0 && (n == MAX_ITEMS_PER_MESSAGE || bytes + cost > MAX_MESSAGE_BYTES) {
            chunks += 1;
            n = 0;
            bytes = 0;
        }
        n += 1;
        bytes += cost;
    }
    chunks + u32::from(n > 0)
}

fn message(job: &Job, chunk: u32, work: Work) -> TaskMessage {
    TaskMessage { job_id: job.id, owner: job.owner.clone(), chunk, work, total: None }
}

/// The message that asks the worker to split a document job.
pub fn document_message(job: &Job, key: &str) -> TaskMessage {
    message(job, 0, Work::Document(DocumentRef { key: key.to_owned() }))
}

/// The one message of a resume-match job.
pub fn resume_message(job: &Job, resume_key: &str, job_description: JobDescription) -> TaskMessage {
    message(job, 0, Work::Resume { resume: DocumentRef { key: resume_key.to_owned() }, job_description })
}

/// Where an owner's upload `document_id` lives in the blob store:
/// `uploads/<owner, percent-encoded>/<document_id>`. The owner is part of the
/// key, so a document id alone never reaches someone else's upload.
pub fn upload_key(owner: &str, document_id: &str) -> String {
    format!("{}{document_id}", upload_prefix(owner))
}

/// Longest owner segment of a storage key. A file name holds 255 bytes and an
/// S3 key 1,024; a subject is up to 256 characters, which percent-encoding
/// can make nine times longer.
pub const MAX_OWNER_SEGMENT: usize = 64;

pub fn upload_prefix(owner: &str) -> String {
    format!("uploads/{}/", owner_segment(owner))
}

/// The owner as one path segment: percent-encoded (readable, and what
/// upstream producers write), or, when that is longer than
/// [`MAX_OWNER_SEGMENT`], `=` and the first 32 hex digits of the owner's
/// SHA-256. Percent-encoding never yields `=`, so the two forms cannot meet.
pub fn owner_segment(owner: &str) -> String {
    let mut encoded = String::with_capacity(owner.len());
    for b in owner.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_') {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    if encoded.len() <= MAX_OWNER_SEGMENT {
        return encoded;
    }
    let digest = sha2::Sha256::digest(owner.as_bytes());
    format!("={}", &hex::encode(digest)[..32])
}

/// Reads a JSONL document of inputs: one input per line ([`jsonl_input`]);
/// blank lines are skipped. Any other line makes the whole document
/// unusable, with the line number in the reason.
pub fn parse_jsonl(bytes: &[u8], max_inputs: usize, max_text_bytes: usize) -> Result<Vec<String>, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("document is not UTF-8: {e}"))?;
    let mut texts = Vec::new();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let input = jsonl_input(line.as_bytes()).map_err(|e| format!("line {}: {e}", n + 1))?;
        if input.len() > max_text_bytes {
            return Err(format!("line {}: text is {} bytes; at most {max_text_bytes}", n + 1, input.len()));
        }
        if texts.len() == max_inputs {
            return Err(format!("document has more than {max_inputs} inputs"));
        }
        texts.push(input);
    }
    if texts.is_empty() {
        return Err("document has no inputs".into());
    }
    Ok(texts)
}

/// What one line of a JSONL document of inputs must be: a JSON string, or an
/// object with a string `"text"` (other fields, such as a label in a
/// labelled set, are ignored). The one rule for uploaded documents,
/// `ferry predict --input` and the console's files.
pub fn jsonl_input(line: &[u8]) -> Result<String, String> {
    const EXPECTED: &str = "expected a JSON string or an object with a string \"text\"";
    match serde_json::from_slice::<serde_json::Value>(line) {
        Ok(serde_json::Value::String(text)) => Ok(text),
        Ok(serde_json::Value::Object(mut object)) => match object.remove("text") {
            Some(serde_json::Value::String(text)) => Ok(text),
            _ => Err(EXPECTED.into()),
        },
        Ok(_) => Err(EXPECTED.into()),
        Err(e) => Err(format!("not JSON: {e}")),
    }
}

/// The job a raw body names, even when the body is otherwise unusable.
pub fn job_id_of(body: &str) -> Option<JobId> {
    match TaskMessage::parse(body) {
        Ok(message) => Some(message.job_id),
        Err(poison) => poison.job_id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> Job {
        Job::new("alice", Task::Sentiment, 0, 0)
    }

    #[test]
    fn chunks_respect_item_and_byte_limits() {
        let texts: Vec<String> = (0..150).map(|i| format!("text {i}")).collect();
        let msgs = chunk_texts(&job(), &texts);
        assert_eq!(msgs.len(), 3);
        assert_eq!(count_chunks(&texts), 3);
        assert_eq!(msgs[0].items().len(), 64);
        assert_eq!(msgs[2].items().last().unwrap().i, 149);
        assert_eq!(msgs[2].chunk, 2);

        let big: Vec<String> = (0..10).map(|_| "x".repeat(40_000)).collect();
        let msgs = chunk_texts(&job(), &big);
        assert_eq!(msgs.len() as u32, count_chunks(&big));
        for m in &msgs {
            assert!(m.to_json().len() <= 256 * 1024, "message too large");
        }
        assert!(msgs.len() > 1);
    }

    #[test]
    fn parse_round_trips_and_rejects_poison() {
        let texts = vec!["good".to_string()];
        let msg = chunk_texts(&job(), &texts).remove(0);
        assert_eq!(TaskMessage::parse(&msg.to_json()).unwrap(), msg);

        let err = TaskMessage::parse("not json").unwrap_err();
        assert_eq!(err.job_id, None);

        let mut v = serde_json::to_value(&msg).unwrap();
        v["task"] = "summarise".into();
        let err = TaskMessage::parse(&v.to_string()).unwrap_err();
        assert_eq!(err.job_id, Some(msg.job_id));
        assert!(err.reason.contains("unknown task"), "{}", err.reason);

        let mut v = serde_json::to_value(&msg).unwrap();
        v["v"] = 2.into();
        assert!(TaskMessage::parse(&v.to_string()).unwrap_err().reason.contains("version"));

        let mut v = serde_json::to_value(&msg).unwrap();
        v["items"] = serde_json::json!([]);
        assert!(TaskMessage::parse(&v.to_string()).is_err());

        let mut v = serde_json::to_value(&msg).unwrap();
        v["extra"] = 1.into();
        assert!(TaskMessage::parse(&v.to_string()).unwrap_err().reason.contains("unknown field"));

        let mut v = serde_json::to_value(&msg).unwrap();
        v["document"] = serde_json::json!({"key": "uploads/a/b"});
        assert!(TaskMessage::parse(&v.to_string()).unwrap_err().reason.contains("not both"));

        let doc = document_message(&job(), "uploads/alice/d1");
        assert_eq!(TaskMessage::parse(&doc.to_json()).unwrap(), doc);
    }

    #[test]
    fn resume_match_messages_carry_a_document_and_a_job_description() {
        let mut job = job();
        job.task = Task::ResumeMatch;
        let jd = JobDescription::Text("Rust engineer".into());
        let msg = resume_message(&job, "uploads/alice/cv", jd);
        assert_eq!(TaskMessage::parse(&msg.to_json()).unwrap(), msg);
        let mut v = serde_json::to_value(&msg).unwrap();
        v["job_description"] = serde_json::json!({"text": "a", "key": "uploads/alice/jd"});
        assert!(TaskMessage::parse(&v.to_string()).unwrap_err().reason.contains("text or key"));
        v["job_description"] = serde_json::Value::Null;
        assert!(TaskMessage::parse(&v.to_string()).is_err());
        let mut sentiment = serde_json::to_value(chunk_texts(&self::job(), &["x".into()]).remove(0)).unwrap();
        sentiment["job_description"] = serde_json::json!({"text": "Rust"});
        assert!(TaskMessage::parse(&sentiment.to_string()).unwrap_err().reason.contains("only resume-match"));
        // The schema's own example parses.
        let schema: serde_json::Value =
            serde_json::from_str(include_str!("../../../schemas/queue-message.schema.json")).unwrap();
        for example in schema["examples"].as_array().unwrap() {
            TaskMessage::parse(&example.to_string()).expect("every schema example is a valid message");
        }
    }

    /// The keys of a JSON object.
    fn keys(value: &serde_json::Value) -> std::collections::BTreeSet<String> {
        value.as_object().expect("an object").keys().cloned().collect()
    }

    /// `schemas/queue-message.schema.json` names exactly the fields the wire
    /// message has, requires exactly the ones it cannot omit, and states the
    /// same version, tasks and chunk size, so the two cannot drift.
    #[test]
    fn the_schema_describes_the_wire_message() {
        let schema: serde_json::Value =
            serde_json::from_str(include_str!("../../../schemas/queue-message.schema.json")).unwrap();
        let props = &schema["properties"];
        let wire = WireMessage {
            v: MESSAGE_VERSION,
            job_id: job().id,
            owner: "alice".into(),
            task: Task::Sentiment,
            chunk: 0,
            items: vec![Item { i: 0, text: "x".into() }],
            document: Some(DocumentRef { key: "uploads/alice/d".into() }),
            job_description: Some(WireJobDescription { text: Some("t".into()), key: Some("k".into()) }),
            total: Some(1),
        };
        let full = serde_json::to_value(&wire).unwrap();
        assert_eq!(keys(props), keys(&full), "schema properties vs WireMessage fields");
        let minimal = WireMessage { items: vec![], document: None, job_description: None, total: None, ..wire };
        let required: std::collections::BTreeSet<String> =
            schema["required"].as_array().unwrap().iter().map(|r| r.as_str().unwrap().to_owned()).collect();
        assert_eq!(required, keys(&serde_json::to_value(&minimal).unwrap()), "required vs fields never omitted");
        assert_eq!(keys(&props["items"]["items"]["properties"]), keys(&full["items"][0]));
        assert_eq!(keys(&props["document"]["properties"]), keys(&full["document"]));
        assert_eq!(keys(&props["job_description"]["properties"]), keys(&full["job_description"]));
        assert_eq!(props["v"]["const"], MESSAGE_VERSION);
        assert_eq!(props["items"]["maxItems"], MAX_ITEMS_PER_MESSAGE);
        let tasks: Vec<serde_json::Value> =
            [Task::Sentiment, Task::ResumeMatch].iter().map(|t| serde_json::to_value(t).unwrap()).collect();
        assert_eq!(props["task"]["enum"], serde_json::Value::from(tasks));
    }

    #[test]
    fn upload_keys_keep_owners_apart() {
        assert_eq!(upload_key("alice", "d1"), "uploads/alice/d1");
        assert_eq!(upload_key("auth0|a/b", "d1"), "uploads/auth0%7Ca%2Fb/d1");
        assert_ne!(upload_prefix("a/b"), upload_prefix("a%2Fb"));
        assert!(!upload_key("..", "x").contains("/../"));
        // Any subject auth accepts makes a short key: hashed past 64 bytes.
        let long = "é".repeat(120);
        let key = upload_key(&long, "0192f0c4-0000-7000-8000-000000000001");
        assert!(key.len() < 120 && key.starts_with("uploads/="), "{key}");
        assert_ne!(upload_prefix(&long), upload_prefix(&"é".repeat(121)));
        assert_eq!(owner_segment(&"a".repeat(64)), "a".repeat(64));
        assert!(owner_segment(&"a".repeat(65)).starts_with('='));
    }

    #[test]
    fn jsonl_documents_are_read_line_by_line() {
        let doc = b"\"one\"\n\n{\"text\": \"two\"}\n";
        assert_eq!(parse_jsonl(doc, 10, 100).unwrap(), vec!["one", "two"]);
        assert!(parse_jsonl(b"\"a\"\n{\"txt\": 1}", 10, 100).unwrap_err().starts_with("line 2"));
        let labelled = b"{\"text\": \"good\", \"label\": \"positive\"}\n[\"a\"]\n{\"text\": 3}\n{\"text\"";
        let lines: Vec<Result<String, String>> = labelled.split(|&b| b == b'\n').map(jsonl_input).collect();
        assert_eq!(lines[0], Ok("good".to_owned()), "other fields are ignored");
        assert!(lines[1].as_ref().unwrap_err().starts_with("expected a JSON string"), "{:?}", lines[1]);
        assert!(lines[2].as_ref().unwrap_err().starts_with("expected a JSON string"), "{:?}", lines[2]);
        assert!(lines[3].as_ref().unwrap_err().starts_with("not JSON"), "{:?}", lines[3]);
        assert!(parse_jsonl(b"\"a\"\n\"b\"\n\"c\"", 2, 100).unwrap_err().contains("more than 2"));
        assert!(parse_jsonl(b"\"abcdef\"", 2, 3).unwrap_err().contains("at most 3"));
        assert!(parse_jsonl(b"\n\n", 2, 3).is_err());
        assert!(parse_jsonl(&[0xff, 0xfe], 2, 3).is_err());
    }
}
