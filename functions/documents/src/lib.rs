//! Uploaded bytes to plain text, safely: PDF, DOCX and plain text (Markdown is text),
//! the format detected from the content, never from a file name.
//!
//! [`extract`] runs on the caller's (blocking) thread and treats every input as hostile.
//! What is guarded, and how:
//!
//! * **Size**: input over [`Limits::max_bytes`] is refused before any parsing; extracted
//!   text may not outgrow that limit either.
//! * **Time**: one deadline ([`Limits::budget`]) checked between pages, parts and XML
//!   events and every few hundred content-stream operators and tokens. Every loop is
//!   bounded besides, so a hang is impossible even without the deadline.
//! * **Inflation**: DOCX parts and PDF streams are inflated through a counter of the bytes
//!   actually produced (declared sizes are never trusted nor used to allocate), with a
//!   document-wide cap ([`Limits::max_inflated_bytes`]) and a ratio cap per part or stream
//!   ([`Limits::max_ratio`], past the first MiB).
//! * **Stack**: nothing recurses on input structure. The PDF reader is this crate's own
//!   (lopdf's loader parses every object up front, with a memory cost many times the file
//!   size; lopdf still decodes stream filters and decrypts): it parses objects with an
//!   explicit stack, replaces nesting deeper than 32 levels with `null`, walks the page tree
//!   with an explicit stack and cycle check and runs form XObjects at most 8 deep. DOCX XML
//!   is read as a flat event stream (quick-xml) with explicit, capped stacks for tables and
//!   text boxes.
//! * **Memory**: PDF objects are parsed lazily (only what the pages need) against an
//!   allocation budget, and `/Count`, `/Length`, `/Size` and zip headers are never used to
//!   pre-allocate. Pages past [`Limits::max_pages`] (counted by walking the tree) are refused.
//! * **XML**: a DOCTYPE is refused outright, so no entity is ever declared, let alone
//!   expanded or fetched (XXE, billion laughs).
//! * **Encryption**: a PDF that opens with the empty user password is decrypted (as viewers
//!   do); one that needs a password is refused with [`ExtractError::Encrypted`].
//! * **Panics**: all parsing runs inside `catch_unwind` as a last line of defence; a panic
//!   becomes [`ExtractError::Internal`].

mod budget;
mod clean;
mod core_widths;
mod docx;
mod error;
mod links;
mod pdf;
mod sniff;
mod text;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use error::ExtractError;

/// What the bytes are, by content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Pdf,
    Docx,
    Text,
}

impl Format {
    /// `"pdf"`, `"docx"`, `"text"`: the serialised form.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Pdf => "pdf",
            Format::Docx => "docx",
            Format::Text => "text",
        }
    }

    /// What inflates, in error messages: a DOCX's parts, a PDF's streams.
    fn compressed_unit(self) -> &'static str {
        match self {
            Format::Docx => "part",
            _ => "stream",
        }
    }

    /// How error messages name the format.
    fn label(self) -> &'static str {
        match self {
            Format::Pdf => "PDF",
            Format::Docx => "DOCX",
            Format::Text => "text file",
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A document's text. Lines are separated by `\n`; PDF pages and paragraphs by a blank line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    pub format: Format,
    pub text: String,
    /// Pages read (PDF only).
    pub pages: Option<u32>,
}

/// Caps on what one call may consume. See the crate documentation for how each is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Input size, checked before anything else.
    pub max_bytes: usize,
    /// PDF pages, counted by walking the page tree (not from `/Count`).
    pub max_pages: u32,
    /// Bytes inflated from DOCX parts or PDF streams, in total.
    pub max_inflated_bytes: u64,
    /// Inflated : compressed size of one part or stream (beyond its first MiB).
    pub max_ratio: u64,
    /// Wall-clock time for the whole call.
    pub budget: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 10 << 20,
            max_pages: 50,
            max_inflated_bytes: 64 << 20,
            max_ratio: 200,
            budget: Duration::from_secs(10),
        }
    }
}

/// The format of `bytes` by its magic bytes (and, for text, by its content), without
/// extracting anything. Fails the way [`extract`] would on an empty, too large or
/// unsupported input.
pub fn detect_format(bytes: &[u8], limits: &Limits) -> Result<Format, ExtractError> {
    check_size(bytes, limits)?;
    sniff::detect(bytes)
}

/// Extracts the text of a PDF, DOCX or plain-text document, within `limits`.
pub fn extract(bytes: &[u8], limits: &Limits) -> Result<Document, ExtractError> {
    check_size(bytes, limits)?;
    let format = sniff::detect(bytes)?;
    let guarded = catch_unwind(AssertUnwindSafe(|| extract_as(format, bytes, limits)));
    guarded.unwrap_or(Err(ExtractError::Internal))
}

fn check_size(bytes: &[u8], limits: &Limits) -> Result<(), ExtractError> {
    if bytes.len() > limits.max_bytes {
        return Err(ExtractError::TooLarge { size: bytes.len(), limit: limits.max_bytes });
    }
    if bytes.is_empty() {
        return Err(ExtractError::Empty);
    }
    Ok(())
}

fn extract_as(format: Format, bytes: &[u8], limits: &Limits) -> Result<Document, ExtractError> {
    let budget = budget::Budget::new(limits, format);
    let (text, pages) = match format {
        Format::Pdf => pdf::extract(bytes, &budget).map(|(text, pages)| (text, Some(pages)))?,
        Format::Docx => (docx::extract(bytes, &budget)?, None),
        Format::Text => (text::decode(bytes)?, None),
    };
    if text.trim().is_empty() {
        return Err(ExtractError::Empty);
    }
    Ok(Document { format, text, pages })
}
