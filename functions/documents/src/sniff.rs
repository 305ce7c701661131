//! Format detection by content. File names and declared content types are never
//! consulted: a PNG called `cv.pdf` is a PNG.

use crate::{ExtractError, Format, text};

/// Where a PDF header may start: readers accept junk before `%PDF-` (some mail gateways
/// and web servers prepend a few bytes), the spec allows 1024.
const PDF_HEADER_WINDOW: usize = 1024;

pub(crate) fn detect(bytes: &[u8]) -> Result<Format, ExtractError> {
    if is_pdf(bytes) {
        return Ok(Format::Pdf);
    }
    if is_zip(bytes) {
        return Ok(Format::Docx);
    }
    if let Some(what) = known_binary(bytes) {
        return Err(ExtractError::Unsupported(what));
    }
    if text::looks_like_text(bytes) {
        return Ok(Format::Text);
    }
    Err(ExtractError::Unsupported("binary data"))
}

fn is_pdf(bytes: &[u8]) -> bool {
    let window = &bytes[..bytes.len().min(PDF_HEADER_WINDOW)];
    window.windows(5).any(|w| w == b"%PDF-")
}

/// A local file header, or the end-of-central-directory record of an empty archive.
fn is_zip(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06")
}

/// Binary formats people upload by mistake, named so the error tells them what happened.
fn known_binary(bytes: &[u8]) -> Option<&'static str> {
    const MAGIC: &[(&[u8], &str)] = &[
        (b"\x89PNG\r\n\x1a\n", "a PNG image"),
        (b"\xff\xd8\xff", "a JPEG image"),
        (b"GIF87a", "a GIF image"),
        (b"GIF89a", "a GIF image"),
        (b"II*\x00", "a TIFF image"),
        (b"MM\x00*", "a TIFF image"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "a legacy Word .doc or a password-protected Office file"),
        (b"{\\rtf", "an RTF document"),
        (b"%!PS", "a PostScript file"),
        (b"\x1f\x8b", "a gzip archive"),
        (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
        (b"Rar!\x1a\x07", "a RAR archive"),
        (b"\x7fELF", "a program"),
    ];
    if let Some((_, what)) = MAGIC.iter().find(|(magic, _)| bytes.starts_with(magic)) {
        return Some(what);
    }
    riff_or_media(bytes)
}

/// Containers whose magic is not at offset 0.
fn riff_or_media(bytes: &[u8]) -> Option<&'static str> {
    let at = |range: std::ops::Range<usize>| bytes.get(range).unwrap_or_default();
    if at(0..4) == b"RIFF" && at(8..12) == b"WEBP" {
        return Some("a WebP image");
    }
    if at(4..8) == b"ftyp" {
        return Some(match at(8..12) {
            b"heic" | b"heix" | b"mif1" | b"msf1" => "a HEIC image",
            b"avif" => "an AVIF image",
            _ => "a video or audio file",
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_by_magic_not_by_name() {
        assert_eq!(detect(b"%PDF-1.7\n..."), Ok(Format::Pdf));
        assert_eq!(detect(b"garbage\n%PDF-1.4\n"), Ok(Format::Pdf));
        assert_eq!(detect(b"PK\x03\x04rest"), Ok(Format::Docx));
        assert_eq!(detect(b"# Jane Doe\n\nEngineer\n"), Ok(Format::Text));
        assert_eq!(detect(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Err(ExtractError::Unsupported("a PNG image")));
        assert_eq!(detect(b"\0\x01\x02\x03\x04binary\0\0\0"), Err(ExtractError::Unsupported("binary data")));
        assert_eq!(detect(b"\0\0\0\x18ftypheic\0\0"), Err(ExtractError::Unsupported("a HEIC image")));
    }
}
