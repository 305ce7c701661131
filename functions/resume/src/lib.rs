//! Resume intelligence by rule: who the person is ([`contacts`]), where and
//! when they worked and studied ([`history`]), and how a resume matches a job
//! description ([`matching`]). Everything here is deterministic and knows
//! nothing of models: skills and embeddings come in from the model crate.
//!
//! Every extracted value carries byte offsets into the text it came from and
//! the method that found it, and a value the text does not state is `None`,
//! never a guess.

pub mod contacts;
pub mod history;
pub mod matching;
mod text;

pub use contacts::{Contacts, Links};
pub use history::{Education, History, Position, YearMonth};
pub use matching::{JobMatch, MatchInput, SkillContribution, SkillEvidence};

use serde::{Deserialize, Serialize};

/// A value found in the text, where, and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Found<T> {
    pub value: T,
    /// UTF-8 byte offsets into the extracted text.
    pub start: usize,
    pub end: usize,
    pub method: Method,
}

/// How a value was found, so a reader can weigh it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// A pattern that only matches this kind of value (an email address, a URL).
    Pattern,
    /// Where it sits in the layout (the first line is the name) plus a pattern.
    Layout,
    /// The skill gazetteer and its context classifier.
    Model,
}
