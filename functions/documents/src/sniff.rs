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
    compound_file(bytes).or_else(|| riff_or_media(bytes))
}

/// Microsoft's Compound File: a Word 97–2003 `.doc`, or any Office file saved
/// with a password (Office wraps the encrypted DOCX in one). Told apart by the
/// stream names in its directory, which are UTF-16LE.
fn compound_file(bytes: &[u8]) -> Option<&'static str> {
    const MAGIC: &[u8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1";
    if !bytes.starts_with(MAGIC) {
        return None;
    }
    let has_stream = |name: &str| {
        let utf16: Vec<u8> = name.encode_utf16().flat_map(u16::to_le_bytes).collect();
        bytes.windows(utf16.len()).any(|w| w == utf16)
    };
    Some(if has_stream("EncryptedPackage") {
        "a password-protected Office file"
    } else if has_stream("WordDocument") {
        "a Word 97-2003 .doc file"
    } else {
        "an Office 97-2003 file"
    })
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

    fn compound_file_with(stream: &str) -> Vec<u8> {
        let mut bytes = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1".to_vec();
        bytes.resize(1024, 0);
        bytes.extend(stream.encode_utf16().flat_map(u16::to_le_bytes));
        bytes.resize(2048, 0);
        bytes
    }

    #[test]
    fn compound_files_say_whether_a_password_or_the_old_format_is_the_cause() {
        let said = |stream| match detect(&compound_file_with(stream)) {
            Err(ExtractError::Unsupported(what)) => what,
            other => panic!("{other:?}"),
        };
        assert_eq!(said("EncryptedPackage"), "a password-protected Office file");
        assert_eq!(said("WordDocument"), "a Word 97-2003 .doc file");
        assert_eq!(said("Workbook"), "an Office 97-2003 file");
        // The name in ASCII is not a stream name.
        let mut ascii = compound_file_with("");
        ascii.extend_from_slice(b"EncryptedPackage");
        assert!(!matches!(detect(&ascii), Err(ExtractError::Unsupported(w)) if w.contains("password")));
    }
}
