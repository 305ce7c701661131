use std::fmt;
use std::time::Duration;

use crate::Format;

/// Why a document could not be turned into text. `Display` is a short, user-facing
/// sentence (it becomes a job's failure reason), so it names the problem in the user's
/// terms and never echoes document content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExtractError {
    #[error("the document is empty")]
    Empty,
    #[error("the document is larger than {} ({} uploaded)", Size(*limit as u64), Size(*size as u64))]
    TooLarge { size: usize, limit: usize },
    /// Detected by content: what the bytes look like instead (`"a PNG image"`).
    #[error("not a PDF, DOCX or text file (looks like {0})")]
    Unsupported(&'static str),
    /// It opens only with a user password (one that only restricts printing
    /// or copying is opened, as viewers do).
    #[error("the PDF is password-protected: upload a copy saved without a password")]
    Encrypted,
    /// Its encryption dictionary names a method Ferry cannot open.
    #[error("the PDF is encrypted with a method that cannot be opened ({0})")]
    UnknownEncryption(&'static str),
    #[error("the PDF has no text layer (a scanned image?); OCR is not supported")]
    NoTextLayer,
    /// Glyphs were drawn but their fonts carry no Unicode mapping.
    #[error("the PDF's text cannot be decoded (its fonts have no Unicode mapping)")]
    Undecodable,
    #[error("the document has more than {0} pages")]
    TooManyPages(u32),
    #[error("the {} inflates to more than {}", .format.label(), Size(*limit))]
    InflateLimit { format: Format, limit: u64 },
    #[error("the {} looks like a decompression bomb (a {} inflates more than {ratio}:1)", .format.label(), .format.compressed_unit())]
    CompressionRatio { format: Format, ratio: u64 },
    /// A structural limit that real documents stay far below (nesting, object count, text size).
    #[error("the {} is too complex to read safely ({reason})", .format.label())]
    TooComplex { format: Format, reason: &'static str },
    /// Something a document never needs and an attacker might use (an XML DTD).
    #[error("the {} was refused: {reason}", .format.label())]
    Refused { format: Format, reason: &'static str },
    #[error("the {} is damaged or not valid ({reason})", .format.label())]
    Corrupt { format: Format, reason: String },
    #[error("reading the document took longer than {}", Seconds(*budget))]
    Timeout { budget: Duration },
    /// A bug in a parser (a caught panic); the document may be fine.
    #[error("the document could not be read (internal error)")]
    Internal,
}

impl ExtractError {
    pub(crate) fn corrupt(format: Format, reason: impl Into<String>) -> Self {
        ExtractError::Corrupt { format, reason: reason.into() }
    }

    pub(crate) fn too_complex(format: Format, reason: &'static str) -> Self {
        ExtractError::TooComplex { format, reason }
    }
}

/// A byte count the way people read limits: "64 MiB", "512 KiB", "900 bytes".
struct Size(u64);

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const KIB: u64 = 1024;
        const MIB: u64 = 1024 * KIB;
        match self.0 {
            n if n >= MIB && n % MIB == 0 => write!(f, "{} MiB", n / MIB),
            n if n >= MIB => write!(f, "{:.1} MiB", n as f64 / MIB as f64),
            n if n >= KIB => write!(f, "{} KiB", n / KIB),
            n => write!(f, "{n} bytes"),
        }
    }
}

/// "10 s", "1.5 s", "250 ms".
struct Seconds(Duration);

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let millis = self.0.as_millis();
        match millis {
            m if m < 1000 => write!(f, "{m} ms"),
            m if m % 1000 == 0 => write!(f, "{} s", m / 1000),
            m => write!(f, "{:.1} s", m as f64 / 1000.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_read_as_sentences() {
        let inflate = ExtractError::InflateLimit { format: Format::Docx, limit: 64 << 20 };
        assert_eq!(inflate.to_string(), "the DOCX inflates to more than 64 MiB");
        let timeout = ExtractError::Timeout { budget: Duration::from_secs(10) };
        assert_eq!(timeout.to_string(), "reading the document took longer than 10 s");
        assert_eq!(
            ExtractError::Unsupported("a PNG image").to_string(),
            "not a PDF, DOCX or text file (looks like a PNG image)"
        );
        let large = ExtractError::TooLarge { size: 50 << 20, limit: 10 << 20 };
        assert_eq!(large.to_string(), "the document is larger than 10 MiB (50 MiB uploaded)");
        assert_eq!(ExtractError::TooManyPages(50).to_string(), "the document has more than 50 pages");
    }
}
