//! Simple fonts without a `/ToUnicode` map: a base encoding (WinAnsi, MacRoman,
//! Standard, or the font's own for Symbol and ZapfDingbats) with `/Differences` glyph
//! names resolved through the Adobe Glyph List.

use encoding_rs::WINDOWS_1252;

use super::glyph_names::{GLYPH_NAMES, MAC_ROMAN_ENCODING, STANDARD_ENCODING};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BaseEncoding {
    WinAnsi,
    MacRoman,
    Standard,
    Symbol,
    Dingbats,
}

impl BaseEncoding {
    pub(crate) fn from_name(name: &[u8]) -> Option<Self> {
        match name {
            b"WinAnsiEncoding" => Some(BaseEncoding::WinAnsi),
            b"MacRomanEncoding" => Some(BaseEncoding::MacRoman),
            b"StandardEncoding" | b"MacExpertEncoding" => Some(BaseEncoding::Standard),
            _ => None,
        }
    }

    /// The text of one code, empty if the encoding has no glyph there.
    pub(crate) fn text(self, code: u8) -> String {
        match self {
            BaseEncoding::WinAnsi => win_ansi(code),
            BaseEncoding::MacRoman => from_table(&MAC_ROMAN_ENCODING, code),
            BaseEncoding::Standard => from_table(&STANDARD_ENCODING, code),
            BaseEncoding::Symbol => symbol(code),
            // Dingbats in resumes are bullets, ticks and icons.
            BaseEncoding::Dingbats if code > b' ' => "•".to_owned(),
            BaseEncoding::Dingbats => String::new(),
        }
    }
}

fn win_ansi(code: u8) -> String {
    match code {
        // Drawn as a hyphen in PDFs, not the invisible soft hyphen of Windows-1252.
        0xad => "-".to_owned(),
        0..=0x1f | 0x7f => String::new(),
        _ => WINDOWS_1252.decode_without_bom_handling(&[code]).0.into_owned(),
    }
}

fn from_table(table: &[u16; 256], code: u8) -> String {
    match table[usize::from(code)] {
        0 => String::new(),
        unit => char::from_u32(u32::from(unit)).map(String::from).unwrap_or_default(),
    }
}

/// The Symbol font shares digits and most punctuation with ASCII; its letters are Greek
/// (rare in resumes) and its bullet is at 0xB7.
fn symbol(code: u8) -> String {
    match code {
        b' ' | b'!' | b'#' | b'%' | b'&' | b'(' | b')' | b'+' | b',' | b'.' | b'/' | b'0'..=b'9' => {
            char::from(code).to_string()
        }
        b':' | b';' | b'<' | b'=' | b'>' | b'?' | b'[' | b']' | b'_' | b'{' | b'|' | b'}' => {
            char::from(code).to_string()
        }
        b'-' => "−".to_owned(),
        0xb7 => "•".to_owned(),
        _ => String::new(),
    }
}

/// The text a glyph name stands for: Adobe Glyph List names, `uniXXXX…`, `uXXXX[XX]`,
/// ligatures joined by `_`, suffixes after `.` dropped. Empty for names that only
/// number glyphs (`g12`, `cid00034`).
pub(crate) fn glyph_text(name: &[u8]) -> String {
    let Ok(name) = std::str::from_utf8(name) else { return String::new() };
    let base = name.split('.').next().unwrap_or_default();
    base.split('_').map(component_text).collect()
}

fn component_text(name: &str) -> String {
    if let Ok(i) = GLYPH_NAMES.binary_search_by(|(n, _)| (*n).cmp(name)) {
        return GLYPH_NAMES[i].1.to_string();
    }
    if let Some(hex) = name.strip_prefix("uni").filter(|h| h.len() >= 4 && h.len() % 4 == 0) {
        return hex.as_bytes().chunks(4).filter_map(|h| code_point(h, 4..=4)).collect();
    }
    if let Some(hex) = name.strip_prefix('u') {
        return code_point(hex.as_bytes(), 4..=6).map(String::from).unwrap_or_default();
    }
    String::new()
}

fn code_point(hex: &[u8], digits: std::ops::RangeInclusive<usize>) -> Option<char> {
    if !digits.contains(&hex.len()) || !hex.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let value = u32::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?;
    // Surrogates are not characters: `from_u32` refuses them.
    char::from_u32(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glyph_names() {
        assert_eq!(glyph_text(b"bullet"), "•");
        assert_eq!(glyph_text(b"quoteright"), "’");
        assert_eq!(glyph_text(b"f_f_i"), "ffi");
        assert_eq!(glyph_text(b"uni00410042"), "AB");
        assert_eq!(glyph_text(b"u1F600"), "😀");
        assert_eq!(glyph_text(b"a.sc"), "a");
        assert_eq!(glyph_text(b"g123"), "");
        assert_eq!(glyph_text(b"\xff"), "");
    }

    #[test]
    fn glyph_list_is_sorted_for_binary_search() {
        assert!(GLYPH_NAMES.windows(2).all(|pair| pair[0].0 < pair[1].0));
    }

    #[test]
    fn base_encodings() {
        assert_eq!(BaseEncoding::WinAnsi.text(0x96), "–");
        assert_eq!(BaseEncoding::WinAnsi.text(0xe9), "é");
        assert_eq!(BaseEncoding::Standard.text(0x27), "’");
        assert_eq!(BaseEncoding::MacRoman.text(0x8e), "é");
        assert_eq!(BaseEncoding::Symbol.text(0xb7), "•");
        assert_eq!(BaseEncoding::WinAnsi.text(0x05), "");
    }
}
