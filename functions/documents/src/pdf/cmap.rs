//! CMaps: `/ToUnicode` maps (character code -> text) and the code-space ranges that
//! say how many bytes make a code (embedded `/Encoding` CMaps of composite fonts).
//! Ranges are kept as ranges, never expanded, and their number is capped.

use std::collections::HashMap;

use super::lexer::{Lexer, Token};
use super::object::{Allowance, PdfResult};

/// More mappings than any font has glyphs; the rest is ignored.
const MAX_ENTRIES: usize = 100_000;
/// A `bfrange` wider than this is malformed.
const MAX_RANGE_SPAN: u32 = 0xffff;
/// Estimated bytes per mapping (map entry, string header), charged to the allowance.
const ENTRY_COST: usize = 64;

#[derive(Debug, Default)]
pub(crate) struct CMap {
    pub(crate) codespaces: Vec<Codespace>,
    singles: HashMap<(u8, u32), String>,
    /// Sorted by (code length, first code).
    ranges: Vec<Range>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Codespace {
    pub(crate) len: u8,
    pub(crate) low: u32,
    pub(crate) high: u32,
}

#[derive(Debug)]
struct Range {
    len: u8,
    low: u32,
    high: u32,
    target: Target,
}

#[derive(Debug)]
enum Target {
    /// UTF-16 of the first code's text; later codes add to its last unit.
    Start(Vec<u16>),
    /// One text per code.
    List(Vec<String>),
}

impl CMap {
    pub(crate) fn parse(data: &[u8], allowance: &Allowance) -> PdfResult<CMap> {
        let mut cmap = CMap::default();
        let mut lexer = Lexer::new(data);
        while let Some(token) = lexer.next_token() {
            allowance.tick()?;
            match token {
                Token::Keyword(b"begincodespacerange") => cmap.read_codespaces(&mut lexer, allowance)?,
                Token::Keyword(b"beginbfchar") => cmap.read_chars(&mut lexer, allowance)?,
                Token::Keyword(b"beginbfrange") => cmap.read_ranges(&mut lexer, allowance)?,
                _ => {}
            }
        }
        cmap.ranges.sort_by_key(|r| (r.len, r.low));
        Ok(cmap)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.singles.is_empty() && self.ranges.is_empty()
    }

    fn entries(&self) -> usize {
        self.singles.len() + self.ranges.len() + self.codespaces.len()
    }

    fn read_codespaces(&mut self, lexer: &mut Lexer, allowance: &Allowance) -> PdfResult<()> {
        while let (Some(Token::String(low)), Some(Token::String(high))) = (lexer.next_token(), lexer.next_token()) {
            allowance.tick()?;
            if let (Some((len, low)), Some((_, high))) = (code(&low), code(&high))
                && self.entries() < MAX_ENTRIES
            {
                self.codespaces.push(Codespace { len, low, high });
            }
        }
        Ok(())
    }

    fn read_chars(&mut self, lexer: &mut Lexer, allowance: &Allowance) -> PdfResult<()> {
        loop {
            allowance.tick()?;
            let Some(Token::String(source)) = lexer.next_token() else { return Ok(()) };
            let text = match lexer.next_token() {
                Some(Token::String(target)) => utf16_text(&target),
                Some(Token::Name(glyph)) => super::encoding::glyph_text(&glyph),
                _ => return Ok(()),
            };
            if let Some((len, code)) = code(&source)
                && self.entries() < MAX_ENTRIES
            {
                allowance.charge(ENTRY_COST + text.len())?;
                self.singles.insert((len, code), text);
            }
        }
    }

    fn read_ranges(&mut self, lexer: &mut Lexer, allowance: &Allowance) -> PdfResult<()> {
        loop {
            allowance.tick()?;
            let (Some(Token::String(low)), Some(Token::String(high))) = (lexer.next_token(), lexer.next_token()) else {
                return Ok(());
            };
            let target = match lexer.next_token() {
                Some(Token::String(start)) => Target::Start(utf16_units(&start)),
                Some(Token::ArrayStart) => Target::List(read_list(lexer, allowance)?),
                _ => return Ok(()),
            };
            let (Some((len, low)), Some((_, high))) = (code(&low), code(&high)) else { continue };
            if low <= high && high - low <= MAX_RANGE_SPAN && self.entries() < MAX_ENTRIES {
                allowance.charge(ENTRY_COST + target.heap_size())?;
                self.ranges.push(Range { len, low, high, target });
            }
        }
    }

    /// Appends the text of code `code` (`len` bytes) to `out`; false if unmapped.
    pub(crate) fn lookup(&self, len: u8, code: u32, out: &mut String) -> bool {
        if let Some(text) = self.singles.get(&(len, code)) {
            out.push_str(text);
            return true;
        }
        let after = self.ranges.partition_point(|r| (r.len, r.low) <= (len, code));
        let Some(range) = after.checked_sub(1).and_then(|i| self.ranges.get(i)) else { return false };
        if range.len != len || code > range.high {
            return false;
        }
        let offset = code - range.low;
        match &range.target {
            Target::Start(units) => push_shifted(units, offset, out),
            Target::List(texts) => match texts.get(offset as usize) {
                Some(text) => out.push_str(text),
                None => return false,
            },
        }
        true
    }
}

/// The target of code `low + offset`: the start's text with its last unit advanced.
fn push_shifted(units: &[u16], offset: u32, out: &mut String) {
    let Some((&last, head)) = units.split_last() else { return };
    let last = u32::from(last) + offset;
    match u16::try_from(last) {
        Ok(last) => out.extend(char::decode_utf16(head.iter().copied().chain([last])).flatten()),
        // Past U+FFFF (a range crossing into astral planes from a BMP start).
        Err(_) => out.extend(char::from_u32(last)),
    }
}

impl Target {
    fn heap_size(&self) -> usize {
        match self {
            Target::Start(units) => units.len() * 2,
            Target::List(texts) => texts.iter().map(|t| t.len() + ENTRY_COST).sum(),
        }
    }
}

fn read_list(lexer: &mut Lexer, allowance: &Allowance) -> PdfResult<Vec<String>> {
    let mut texts = Vec::new();
    while let Some(Token::String(target)) = lexer.next_token() {
        allowance.tick()?;
        if texts.len() <= MAX_RANGE_SPAN as usize {
            texts.push(utf16_text(&target));
        }
    }
    Ok(texts)
}

/// A source code: 1 to 4 bytes, big-endian.
fn code(bytes: &[u8]) -> Option<(u8, u32)> {
    let len = u8::try_from(bytes.len()).ok().filter(|len| (1..=4).contains(len))?;
    Some((len, bytes.iter().fold(0u32, |n, &b| n << 8 | u32::from(b))))
}

/// Targets are UTF-16BE; a lone byte (seen in the wild) is taken as Latin-1.
fn utf16_units(bytes: &[u8]) -> Vec<u16> {
    match bytes {
        [one] => vec![u16::from(*one)],
        _ => bytes.chunks_exact(2).map(|pair| u16::from_be_bytes([pair[0], pair[1]])).collect(),
    }
}

fn utf16_text(bytes: &[u8]) -> String {
    char::decode_utf16(utf16_units(bytes)).map(|c| c.unwrap_or('\u{fffd}')).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::budget::Budget;
    use crate::{Format, Limits};

    const TO_UNICODE: &[u8] = b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap
        /CMapName /Adobe-Identity-UCS def
        1 begincodespacerange <0000> <FFFF> endcodespacerange
        3 beginbfchar <0003> <0020> <0011> <00660069> <0024> <D835DC00> endbfchar
        2 beginbfrange <0030> <0039> <0041> <0040> <0042> [<0078> <0079> <007A>] endbfrange
        endcmap CMapName currentdict /CMap defineresource pop end end";

    fn text(cmap: &CMap, len: u8, code: u32) -> Option<String> {
        let mut out = String::new();
        cmap.lookup(len, code, &mut out).then_some(out)
    }

    #[test]
    fn maps_chars_and_ranges() {
        let budget = Budget::new(&Limits::default(), Format::Pdf);
        let cmap = CMap::parse(TO_UNICODE, &Allowance::new(&budget, 1 << 20)).unwrap();
        assert_eq!(cmap.codespaces, [Codespace { len: 2, low: 0, high: 0xffff }]);
        assert_eq!(text(&cmap, 2, 0x03).as_deref(), Some(" "));
        assert_eq!(text(&cmap, 2, 0x11).as_deref(), Some("fi"));
        assert_eq!(text(&cmap, 2, 0x24).as_deref(), Some("𝐀"));
        assert_eq!(text(&cmap, 2, 0x30).as_deref(), Some("A"));
        assert_eq!(text(&cmap, 2, 0x39).as_deref(), Some("J"));
        assert_eq!(text(&cmap, 2, 0x41).as_deref(), Some("y"));
        assert_eq!(text(&cmap, 2, 0x3a), None);
        assert_eq!(text(&cmap, 1, 0x30), None);
    }
}
