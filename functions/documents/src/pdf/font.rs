//! Fonts as far as text extraction needs them: how bytes split into character codes,
//! what text each code stands for (`/ToUnicode` first, then the encoding) and how wide
//! each glyph is (`/Widths`, a composite font's `/W`, or the standard-14 metrics), which
//! is what tells a word gap from a kerning adjustment.

use std::rc::Rc;

use super::cmap::{CMap, Codespace};
use super::encoding::{BaseEncoding, glyph_text};
use super::file::PdfFile;
use super::object::{Dict, Object, PdfError, PdfResult};
use crate::core_widths;

/// More width ranges than a CJK font has glyphs; the rest get the default width.
const MAX_WIDTH_RANGES: usize = 65_536;
/// Composite fonts' default glyph width (`/DW`).
const DEFAULT_CID_WIDTH: f64 = 1000.0;
/// Estimated bytes of a loaded font besides its maps and widths (the 256-entry
/// encoding table of a simple font), charged to the allowance: a page cannot make us
/// hold thousands of fonts.
const FONT_COST: usize = 8 << 10;

pub(crate) struct Font {
    codes: Codes,
    to_unicode: Option<CMap>,
    /// Simple fonts: the text of each one-byte code from the encoding.
    simple: Option<Vec<String>>,
    /// Composite fonts with a Unicode CMap (`UniGB-UCS2-H`…): the code is the text.
    unicode_codes: bool,
    widths: Widths,
    /// Glyph space to thousandths of text space (Type 3 fonts have their own matrix).
    width_scale: f64,
}

enum Codes {
    One,
    Two,
    Ranges(Vec<Codespace>),
}

enum Widths {
    Simple { first: u32, widths: Vec<f64>, missing: f64 },
    Standard(StandardWidths),
    Composite { default: f64, ranges: Vec<CidWidths> },
}

#[derive(Clone, Copy)]
enum StandardWidths {
    Table(&'static [u16; 256]),
    Fixed(f64),
}

struct CidWidths {
    first: u32,
    last: u32,
    widths: CidWidthValues,
}

enum CidWidthValues {
    Same(f64),
    Each(Vec<f64>),
}

/// One character code of a shown string.
pub(crate) struct Glyph<'a> {
    pub(crate) code: u32,
    pub(crate) len: usize,
    pub(crate) text: &'a str,
    /// Advance in thousandths of the font size.
    pub(crate) width: f64,
}

impl Font {
    pub(crate) fn load(file: &PdfFile, dict: &Dict) -> PdfResult<Font> {
        file.allowance.charge(FONT_COST)?;
        let to_unicode = to_unicode(file, dict)?;
        match dict.name(b"Subtype") {
            Some(b"Type0") => composite(file, dict, to_unicode),
            subtype => simple(file, dict, to_unicode, subtype == Some(b"Type3")),
        }
    }

    /// For text shown before any `Tf` (invalid, but seen): Helvetica in WinAnsi.
    pub(crate) fn fallback() -> Font {
        Font {
            codes: Codes::One,
            to_unicode: None,
            simple: Some((0..=255).map(|c| BaseEncoding::WinAnsi.text(c)).collect()),
            unicode_codes: false,
            widths: Widths::Standard(StandardWidths::Table(&core_widths::HELVETICA)),
            width_scale: 1.0,
        }
    }

    /// Calls `each` for every character code in `bytes`.
    pub(crate) fn each_glyph(&self, bytes: &[u8], mut each: impl FnMut(Glyph)) {
        let mut text = String::new();
        let mut rest = bytes;
        while !rest.is_empty() {
            let (len, code) = self.next_code(rest);
            text.clear();
            self.text_of(len, code, &mut text);
            each(Glyph { code, len, text: &text, width: self.width(code) * self.width_scale });
            rest = &rest[len..];
        }
    }

    fn next_code(&self, bytes: &[u8]) -> (usize, u32) {
        let code_of = |len: usize| bytes.get(..len).map(|b| b.iter().fold(0u32, |n, &b| n << 8 | u32::from(b)));
        match &self.codes {
            Codes::Two if bytes.len() >= 2 => (2, code_of(2).unwrap_or(0)),
            Codes::Ranges(spaces) => (1..=4)
                .find_map(|len| {
                    let code = code_of(len)?;
                    let fits = spaces.iter().any(|s| usize::from(s.len) == len && (s.low..=s.high).contains(&code));
                    fits.then_some((len, code))
                })
                .unwrap_or((1, u32::from(bytes[0]))),
            _ => (1, u32::from(bytes[0])),
        }
    }

    fn text_of(&self, len: usize, code: u32, out: &mut String) {
        let len_u8 = u8::try_from(len).unwrap_or(4);
        if self.to_unicode.as_ref().is_some_and(|cmap| cmap.lookup(len_u8, code, out)) {
            return;
        }
        if let Some(table) = &self.simple {
            out.push_str(table.get(code as usize).map_or("", String::as_str));
        } else if self.unicode_codes {
            out.extend(char::from_u32(code));
        }
    }

    fn width(&self, code: u32) -> f64 {
        match &self.widths {
            Widths::Simple { first, widths, missing } => {
                code.checked_sub(*first).and_then(|i| widths.get(i as usize)).copied().unwrap_or(*missing)
            }
            Widths::Standard(StandardWidths::Fixed(width)) => *width,
            Widths::Standard(StandardWidths::Table(table)) => f64::from(table[(code & 0xff) as usize]),
            Widths::Composite { default, ranges } => cid_width(ranges, code).unwrap_or(*default),
        }
    }
}

fn cid_width(ranges: &[CidWidths], code: u32) -> Option<f64> {
    let after = ranges.partition_point(|r| r.first <= code);
    let range = ranges.get(after.checked_sub(1)?)?;
    if code > range.last {
        return None;
    }
    match &range.widths {
        CidWidthValues::Same(width) => Some(*width),
        CidWidthValues::Each(widths) => widths.get((code - range.first) as usize).copied(),
    }
}

fn to_unicode(file: &PdfFile, dict: &Dict) -> PdfResult<Option<CMap>> {
    let object = file.get_in(dict, b"ToUnicode")?;
    let Some(stream) = object.as_stream() else { return Ok(None) };
    let data = match file.stream_data(stream) {
        Ok(data) => data,
        Err(PdfError::Malformed(_)) => return Ok(None),
        Err(fatal) => return Err(fatal),
    };
    let cmap = CMap::parse(&data, &file.allowance)?;
    Ok((!cmap.is_empty()).then_some(cmap))
}

// Simple fonts -------------------------------------------------------------------------

fn simple(file: &PdfFile, dict: &Dict, to_unicode: Option<CMap>, type3: bool) -> PdfResult<Font> {
    let base_font = base_font_name(dict);
    let encoding = file.get_in(dict, b"Encoding")?;
    let default = default_encoding(&base_font, dict.is(b"Subtype", b"TrueType"));
    let mut table: Vec<String> = (0..=255).map(|c| base_encoding(&encoding).unwrap_or(default).text(c)).collect();
    if let Some(encoding) = encoding.as_dict() {
        apply_differences(&mut table, &*file.get_in(encoding, b"Differences")?);
    }
    let widths = simple_widths(file, dict, &base_font)?;
    let width_scale = if type3 { type3_scale(file, dict)? } else { 1.0 };
    Ok(Font { codes: Codes::One, to_unicode, simple: Some(table), unicode_codes: false, widths, width_scale })
}

/// `/BaseFont` without a subset tag (`ABCDEF+Calibri` -> `Calibri`).
fn base_font_name(dict: &Dict) -> String {
    let name = String::from_utf8_lossy(dict.name(b"BaseFont").unwrap_or_default()).into_owned();
    match name.split_once('+') {
        Some((tag, rest)) if tag.len() == 6 => rest.to_owned(),
        _ => name,
    }
}

fn base_encoding(encoding: &Object) -> Option<BaseEncoding> {
    match encoding {
        Object::Name(name) => BaseEncoding::from_name(name),
        Object::Dict(dict) => dict.name(b"BaseEncoding").and_then(BaseEncoding::from_name),
        _ => None,
    }
}

/// Without an `/Encoding`: symbol fonts use their own; TrueType fonts in the wild are
/// mostly WinAnsi; Type 1 fonts default to StandardEncoding.
fn default_encoding(base_font: &str, truetype: bool) -> BaseEncoding {
    let lower = base_font.to_ascii_lowercase();
    if lower.contains("symbol") {
        BaseEncoding::Symbol
    } else if lower.contains("dingbat") || lower.contains("wingding") {
        BaseEncoding::Dingbats
    } else if truetype {
        BaseEncoding::WinAnsi
    } else {
        BaseEncoding::Standard
    }
}

/// `[code /name /name … code /name …]`: each name is the glyph of the next code.
fn apply_differences(table: &mut [String], differences: &Object) {
    let mut code: Option<usize> = None;
    for item in differences.as_array().unwrap_or_default() {
        match item {
            Object::Integer(n) => code = usize::try_from(*n).ok(),
            Object::Name(name) => {
                if let Some(slot) = code.and_then(|c| table.get_mut(c)) {
                    *slot = glyph_text(name);
                }
                code = code.map(|c| c + 1);
            }
            _ => {}
        }
    }
}

fn simple_widths(file: &PdfFile, dict: &Dict, base_font: &str) -> PdfResult<Widths> {
    let widths = file.get_in(dict, b"Widths")?;
    let Some(widths) = widths.as_array().filter(|w| !w.is_empty()) else {
        return Ok(Widths::Standard(standard_widths(base_font)));
    };
    let first = dict.get(b"FirstChar").and_then(Object::as_int).and_then(|n| u32::try_from(n).ok()).unwrap_or(0);
    let descriptor = file.get_in(dict, b"FontDescriptor")?;
    let missing = descriptor.as_dict().and_then(|d| d.get(b"MissingWidth")).and_then(Object::as_f64).unwrap_or(0.0);
    file.allowance.charge(widths.len() * std::mem::size_of::<f64>())?;
    let widths = widths.iter().map(|w| w.as_f64().unwrap_or(missing)).collect();
    Ok(Widths::Simple { first, widths, missing })
}

/// Metrics of the standard 14 fonts, which PDFs may use without `/Widths`; other
/// fonts without widths are measured as Helvetica (close enough to place word gaps).
fn standard_widths(base_font: &str) -> StandardWidths {
    let name = base_font.to_ascii_lowercase();
    let bold = name.contains("bold");
    let italic = name.contains("italic") || name.contains("oblique");
    if name.contains("courier") || name.contains("mono") {
        return StandardWidths::Fixed(600.0);
    }
    if name.contains("times") {
        return StandardWidths::Table(match (bold, italic) {
            (false, false) => &core_widths::TIMES_ROMAN,
            (true, false) => &core_widths::TIMES_BOLD,
            (false, true) => &core_widths::TIMES_ITALIC,
            (true, true) => &core_widths::TIMES_BOLD_ITALIC,
        });
    }
    StandardWidths::Table(if bold { &core_widths::HELVETICA_BOLD } else { &core_widths::HELVETICA })
}

/// Type 3 glyph widths are in the font's own units: `/FontMatrix` maps them to text space.
fn type3_scale(file: &PdfFile, dict: &Dict) -> PdfResult<f64> {
    let matrix = file.get_in(dict, b"FontMatrix")?;
    let scale = matrix.as_array().and_then(|m| m.first()).and_then(Object::as_f64).map(|a| a * 1000.0);
    Ok(scale.filter(|s| s.is_finite() && *s > 0.0 && *s < 1e6).unwrap_or(1.0))
}

// Composite fonts ----------------------------------------------------------------------

fn composite(file: &PdfFile, dict: &Dict, to_unicode: Option<CMap>) -> PdfResult<Font> {
    let encoding = file.get_in(dict, b"Encoding")?;
    let (codes, unicode_codes) = composite_codes(file, &encoding, to_unicode.as_ref())?;
    let descendants = file.get_in(dict, b"DescendantFonts")?;
    let descendant = match descendants.as_array().and_then(|d| d.first()) {
        Some(first) => file.deref(first)?,
        None => Rc::new(Object::Null),
    };
    let widths = match descendant.as_dict() {
        Some(descendant) => composite_widths(file, descendant)?,
        None => Widths::Composite { default: DEFAULT_CID_WIDTH, ranges: Vec::new() },
    };
    Ok(Font { codes, to_unicode, simple: None, unicode_codes, widths, width_scale: 1.0 })
}

/// How a composite font's bytes split into codes, and whether codes are Unicode.
fn composite_codes(file: &PdfFile, encoding: &Object, to_unicode: Option<&CMap>) -> PdfResult<(Codes, bool)> {
    let name = match encoding {
        Object::Name(name) => name.as_slice(),
        Object::Stream(stream) => return Ok((embedded_cmap_codes(file, stream)?, false)),
        _ => b"Identity-H",
    };
    if name.starts_with(b"Identity") {
        return Ok((Codes::Two, false));
    }
    let unicode = [&b"-UCS2-H"[..], b"-UCS2-V", b"-UTF16-H", b"-UTF16-V"].iter().any(|s| name.ends_with(s));
    if unicode {
        return Ok((Codes::Two, true));
    }
    // Legacy CJK encodings (Shift-JIS, EUC, GBK, Big5) mix one- and two-byte codes.
    let spaces = to_unicode.map(|cmap| cmap.codespaces.clone()).filter(|s| !s.is_empty());
    let spaces = spaces.unwrap_or_else(|| {
        vec![Codespace { len: 1, low: 0x00, high: 0x80 }, Codespace { len: 2, low: 0x8140, high: 0xfefe }]
    });
    Ok((Codes::Ranges(spaces), false))
}

fn embedded_cmap_codes(file: &PdfFile, stream: &super::object::Stream) -> PdfResult<Codes> {
    let data = match file.stream_data(stream) {
        Ok(data) => data,
        Err(PdfError::Malformed(_)) => return Ok(Codes::Two),
        Err(fatal) => return Err(fatal),
    };
    let cmap = CMap::parse(&data, &file.allowance)?;
    Ok(if cmap.codespaces.is_empty() { Codes::Two } else { Codes::Ranges(cmap.codespaces) })
}

/// `/W [first [w w …] first last w …]` with `/DW` for the rest.
fn composite_widths(file: &PdfFile, descendant: &Dict) -> PdfResult<Widths> {
    let default = descendant.get(b"DW").and_then(Object::as_f64).unwrap_or(DEFAULT_CID_WIDTH);
    let w = file.get_in(descendant, b"W")?;
    let items = w.as_array().unwrap_or_default();
    let mut ranges = Vec::new();
    let mut i = 0;
    while let Some(first) = items.get(i).and_then(Object::as_int).and_then(|n| u32::try_from(n).ok()) {
        if ranges.len() >= MAX_WIDTH_RANGES {
            break;
        }
        let next = file.deref(items.get(i + 1).unwrap_or(&Object::Null))?;
        if let Some(list) = next.as_array() {
            file.allowance.charge((list.len() + 4) * std::mem::size_of::<f64>())?;
            let widths: Vec<f64> = list.iter().map(|w| w.as_f64().unwrap_or(default)).collect();
            let last = first.saturating_add(u32::try_from(widths.len()).unwrap_or(u32::MAX)).saturating_sub(1);
            ranges.push(CidWidths { first, last, widths: CidWidthValues::Each(widths) });
            i += 2;
        } else {
            let last = next.as_int().and_then(|n| u32::try_from(n).ok()).unwrap_or(first);
            let width = items.get(i + 2).and_then(Object::as_f64).unwrap_or(default);
            ranges.push(CidWidths { first, last, widths: CidWidthValues::Same(width) });
            i += 3;
        }
    }
    ranges.sort_by_key(|r| r.first);
    Ok(Widths::Composite { default, ranges })
}
