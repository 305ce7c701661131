//! Plain text (and Markdown, which is kept as written): UTF-8, UTF-16 with or without a
//! byte-order mark, otherwise Windows-1252; binary data is refused.

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_16BE, UTF_16LE, WINDOWS_1252};

use crate::ExtractError;

/// How much of the input the format sniffer decodes to decide "text or binary".
const SNIFF_BYTES: usize = 64 << 10;
/// More control characters than 1 in this many means binary data, not text.
const CONTROL_CHARS_PER_BINARY: usize = 100;

pub(crate) fn looks_like_text(bytes: &[u8]) -> bool {
    let sample = &bytes[..bytes.len().min(SNIFF_BYTES)];
    !is_binary(&decode_any(sample))
}

pub(crate) fn decode(bytes: &[u8]) -> Result<String, ExtractError> {
    let text = decode_any(bytes);
    if is_binary(&text) {
        return Err(ExtractError::Unsupported("binary data"));
    }
    Ok(normalize_newlines(&text))
}

fn decode_any(bytes: &[u8]) -> Cow<'_, str> {
    if let Some(rest) = bytes.strip_prefix(b"\xef\xbb\xbf") {
        return String::from_utf8_lossy(rest);
    }
    if let Some(rest) = bytes.strip_prefix(b"\xff\xfe") {
        return decode_with(UTF_16LE, rest);
    }
    if let Some(rest) = bytes.strip_prefix(b"\xfe\xff") {
        return decode_with(UTF_16BE, rest);
    }
    if let Some(encoding) = utf16_without_bom(bytes) {
        return decode_with(encoding, bytes);
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        // Only a character cut off at the very end (a truncated upload or our sample):
        // still UTF-8; decoding it as Windows-1252 would garble every accent before it.
        Err(e) if e.error_len().is_none() => String::from_utf8_lossy(bytes),
        Err(_) => decode_with(WINDOWS_1252, bytes),
    }
}

fn decode_with<'a>(encoding: &'static Encoding, bytes: &'a [u8]) -> Cow<'a, str> {
    encoding.decode_without_bom_handling(bytes).0
}

/// UTF-16 saved without a BOM: ASCII-heavy text has a zero in every other byte.
fn utf16_without_bom(bytes: &[u8]) -> Option<&'static Encoding> {
    let sample = &bytes[..bytes.len().min(4096) & !1];
    let pairs = sample.len() / 2;
    if pairs < 4 {
        return None;
    }
    let zeros_at = |parity: usize| sample.iter().skip(parity).step_by(2).filter(|&&b| b == 0).count();
    let (even, odd) = (zeros_at(0), zeros_at(1));
    let mostly = |n: usize| n * 10 >= pairs * 4;
    let rarely = |n: usize| n * 20 <= pairs;
    match (mostly(even), mostly(odd)) {
        (false, true) if rarely(even) => Some(UTF_16LE),
        (true, false) if rarely(odd) => Some(UTF_16BE),
        _ => None,
    }
}

fn is_binary(text: &str) -> bool {
    let mut chars = 0usize;
    let mut controls = 0usize;
    for c in text.chars() {
        chars += 1;
        if c == '\0' {
            return true;
        }
        if is_stray_control(c) {
            controls += 1;
        }
    }
    controls * CONTROL_CHARS_PER_BINARY > chars
}

/// Control characters that do not occur in text files (tab, newlines, form feed and
/// vertical tab do).
fn is_stray_control(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\x0b' | '\x0c')
}

fn normalize_newlines(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_common_encodings() {
        assert_eq!(decode(b"\xef\xbb\xbfJos\xc3\xa9\r\nMadrid\r\n").unwrap(), "José\nMadrid\n");
        assert_eq!(decode(b"\xff\xfeJ\0o\0s\0\xe9\0").unwrap(), "José");
        assert_eq!(decode(b"\xfe\xff\0J\0o\0s\0\xe9").unwrap(), "José");
        assert_eq!(decode(b"J\0o\0s\0\xe9\0 \0M\0a\0d\0r\0i\0d\0").unwrap(), "José Madrid");
        assert_eq!(decode(b"Jos\xe9 \x96 Madrid\rSpain").unwrap(), "José – Madrid\nSpain");
        assert_eq!(decode("# Zhang Wei 张伟\n\n- Rust".as_bytes()).unwrap(), "# Zhang Wei 张伟\n\n- Rust");
    }

    #[test]
    fn refuses_binary() {
        assert!(decode(b"abc\0def").is_err());
        assert!(decode(&[0x01, 0x02, 0x03, b'a', 0x04, 0x05]).is_err());
        assert!(!looks_like_text(b"\x01\x02\x03\x04\x05\x06\x07\x08"));
        assert!(looks_like_text(b"plain words\tand a tab\x0c"));
    }
}
