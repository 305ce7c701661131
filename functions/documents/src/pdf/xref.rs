//! Where each object is: cross-reference tables and streams (following `/Prev` and
//! `/XRefStm` with a visited set), or, for a damaged file, a scan for `N G obj`.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use super::file::{search_endstream, stream_extent};
use super::filters;
use super::lexer::{Lexer, Token};
use super::object::{Allowance, Dict, Object, PdfError, PdfResult, parse_object};
use crate::{ExtractError, Format};

/// More sections than any incrementally saved file has; a loop is caught before anyway.
const MAX_SECTIONS: usize = 256;
/// A 10 MiB file cannot hold more real objects than this.
const MAX_ENTRIES: usize = 1_000_000;
/// White space looked at between the numbers of `N G obj` in the repair scan.
const MAX_HEADER_SPACE: usize = 16;
/// How far from the end `startxref` may be (junk after `%%EOF` is common).
const STARTXREF_WINDOW: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Entry {
    Free,
    /// Byte offset of `N G obj`.
    Offset(usize),
    /// Inside object stream `stream`, at position `index`.
    Compressed {
        stream: u32,
        index: u32,
    },
}

#[derive(Default)]
pub(crate) struct Xref {
    pub(crate) entries: HashMap<u32, Entry>,
    pub(crate) trailer: Dict,
}

impl Xref {
    /// Sections are read newest first, so an entry already known is never replaced.
    fn merge(&mut self, section: Xref) -> PdfResult<()> {
        for (num, entry) in section.entries {
            self.entries.entry(num).or_insert(entry);
        }
        for (key, value) in section.trailer.iter() {
            if self.trailer.get(key).is_none() {
                self.trailer.insert(key.to_vec(), value.clone());
            }
        }
        check_size(self.entries.len())
    }
}

fn check_size(entries: usize) -> PdfResult<()> {
    if entries > MAX_ENTRIES {
        return Err(ExtractError::too_complex(Format::Pdf, "too many objects").into());
    }
    Ok(())
}

/// The cross-reference data as written, `None` if there is none usable.
pub(crate) fn read(data: &[u8], allowance: &Allowance) -> PdfResult<Option<Xref>> {
    let Some(start) = find_startxref(data) else { return Ok(None) };
    let mut xref = Xref::default();
    let mut visited = HashSet::new();
    let mut next = Some(start);
    while let Some(offset) = next.take() {
        if !visited.insert(offset) || visited.len() > MAX_SECTIONS {
            break;
        }
        let section = match read_section(data, offset, allowance) {
            Ok(section) => section,
            Err(PdfError::Malformed(_)) => break,
            Err(fatal) => return Err(fatal),
        };
        let hybrid = section.trailer.get(b"XRefStm").and_then(Object::as_int);
        next = section.trailer.get(b"Prev").and_then(Object::as_int).and_then(|p| usize::try_from(p).ok());
        xref.merge(section)?;
        if let Some(stream_offset) = hybrid.and_then(|o| usize::try_from(o).ok())
            && visited.insert(stream_offset)
            && let Ok(section) = read_section(data, stream_offset, allowance)
        {
            xref.merge(section)?;
        }
    }
    Ok((!xref.entries.is_empty()).then_some(xref))
}

fn find_startxref(data: &[u8]) -> Option<usize> {
    let tail_start = data.len().saturating_sub(STARTXREF_WINDOW);
    let at = memchr::memmem::rfind(&data[tail_start..], b"startxref")? + tail_start;
    match Lexer::at(data, at + b"startxref".len()).next_token() {
        Some(Token::Integer(offset)) => usize::try_from(offset).ok().filter(|&o| o < data.len()),
        _ => None,
    }
}

fn read_section(data: &[u8], offset: usize, allowance: &Allowance) -> PdfResult<Xref> {
    let mut lexer = Lexer::at(data, offset);
    match lexer.next_token() {
        Some(Token::Keyword(b"xref")) => read_table(&mut lexer, allowance),
        Some(Token::Integer(_)) => read_stream_section(data, offset, allowance),
        _ => Err(PdfError::Malformed("no cross-reference data at startxref")),
    }
}

/// A classic table: subsections of `first count` then `offset gen n|f` lines, then
/// `trailer << … >>`.
fn read_table(lexer: &mut Lexer, allowance: &Allowance) -> PdfResult<Xref> {
    let mut xref = Xref::default();
    loop {
        allowance.tick()?;
        match lexer.next_token() {
            Some(Token::Integer(first)) => {
                let Some(Token::Integer(count)) = lexer.next_token() else { break };
                read_subsection(lexer, first, count, &mut xref, allowance)?;
            }
            Some(Token::Keyword(b"trailer")) => {
                if let Object::Dict(trailer) = parse_object(lexer, allowance)? {
                    xref.trailer = Rc::unwrap_or_clone(trailer);
                }
                return Ok(xref);
            }
            _ => break,
        }
    }
    Err(PdfError::Malformed("cross-reference table without trailer"))
}

fn read_subsection(lexer: &mut Lexer, first: i64, count: i64, xref: &mut Xref, allowance: &Allowance) -> PdfResult<()> {
    let (Ok(mut num), Ok(count)) = (u32::try_from(first), u32::try_from(count)) else {
        return Err(PdfError::Malformed("bad subsection"));
    };
    for i in 0..count {
        allowance.tick()?;
        let restart = lexer.pos();
        let (Some(Token::Integer(offset)), Some(Token::Integer(generation)), Some(Token::Keyword(kind))) =
            (lexer.next_token(), lexer.next_token(), lexer.next_token())
        else {
            // A count larger than the lines that follow: stop at the next subsection.
            lexer.set_pos(restart);
            return Ok(());
        };
        // A well-known writer bug: a table starting at 1 whose first line is object 0.
        if i == 0 && num == 1 && generation == 65535 && kind == b"f" {
            num = 0;
        }
        let entry = match (kind, usize::try_from(offset)) {
            (b"n", Ok(offset)) if offset > 0 => Entry::Offset(offset),
            _ => Entry::Free,
        };
        xref.entries.entry(num).or_insert(entry);
        check_size(xref.entries.len())?;
        num = num.saturating_add(1);
    }
    Ok(())
}

/// A cross-reference stream (PDF 1.5): binary rows of `/W` field widths.
fn read_stream_section(data: &[u8], offset: usize, allowance: &Allowance) -> PdfResult<Xref> {
    let (dict, extent) = stream_at(data, offset, allowance)?;
    if !dict.is(b"Type", b"XRef") {
        return Err(PdfError::Malformed("not a cross-reference stream"));
    }
    let raw = data.get(extent).unwrap_or_default();
    let decoded = filters::decode_direct(raw, &dict, allowance.budget)?;
    let widths = field_widths(&dict).ok_or(PdfError::Malformed("bad /W"))?;
    let mut xref = Xref::default();
    let row_len: usize = widths.iter().sum();
    let mut rows = decoded.chunks_exact(row_len);
    for (first, count) in subsections(&dict) {
        for num in (0..count).map_while(|i| first.checked_add(i)) {
            allowance.tick()?;
            let Some(row) = rows.next() else { break };
            xref.entries.entry(num).or_insert_with(|| stream_entry(row, &widths));
        }
        check_size(xref.entries.len())?;
    }
    xref.trailer = dict;
    Ok(xref)
}

fn field_widths(dict: &Dict) -> Option<[usize; 3]> {
    let w = dict.get(b"W")?.as_array()?;
    let width = |i: usize| w.get(i).and_then(Object::as_int).and_then(|n| usize::try_from(n).ok()).filter(|&n| n <= 8);
    let widths = [width(0)?, width(1)?, width(2)?];
    (widths.iter().sum::<usize>() > 0).then_some(widths)
}

/// `/Index [first count …]`, by default `[0 /Size]`.
fn subsections(dict: &Dict) -> Vec<(u32, u32)> {
    let pairs: Vec<(u32, u32)> = dict
        .get(b"Index")
        .and_then(Object::as_array)
        .map(|index| index.chunks_exact(2).filter_map(|pair| Some((num_u32(&pair[0])?, num_u32(&pair[1])?))).collect())
        .unwrap_or_default();
    if !pairs.is_empty() {
        return pairs;
    }
    let size = dict.get(b"Size").and_then(num_u32).unwrap_or(0);
    vec![(0, size)]
}

fn num_u32(object: &Object) -> Option<u32> {
    object.as_int().and_then(|n| u32::try_from(n).ok())
}

fn stream_entry(row: &[u8], widths: &[usize; 3]) -> Entry {
    let (type_field, rest) = row.split_at(widths[0]);
    let (second, third) = rest.split_at(widths[1]);
    // A missing type field means type 1.
    let kind = if widths[0] == 0 { 1 } else { be_number(type_field) };
    match kind {
        1 => usize::try_from(be_number(second)).map(Entry::Offset).unwrap_or(Entry::Free),
        2 => match (u32::try_from(be_number(second)), u32::try_from(be_number(third))) {
            (Ok(stream), Ok(index)) => Entry::Compressed { stream, index },
            _ => Entry::Free,
        },
        _ => Entry::Free,
    }
}

fn be_number(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0u64, |n, &b| n << 8 | u64::from(b))
}

/// `N G obj << … >> stream` at `offset`, with a direct `/Length` (a cross-reference
/// stream cannot refer to objects it locates) or, failing that, up to `endstream`.
fn stream_at(data: &[u8], offset: usize, allowance: &Allowance) -> PdfResult<(Dict, std::ops::Range<usize>)> {
    let mut lexer = Lexer::at(data, offset);
    let header = (lexer.next_token(), lexer.next_token(), lexer.next_token());
    let (Some(Token::Integer(_)), Some(Token::Integer(_)), Some(Token::Keyword(b"obj"))) = header else {
        return Err(PdfError::Malformed("no object header"));
    };
    let Object::Dict(dict) = parse_object(&mut lexer, allowance)? else {
        return Err(PdfError::Malformed("not a stream"));
    };
    let dict = Rc::unwrap_or_clone(dict);
    if lexer.next_token() != Some(Token::Keyword(b"stream")) {
        return Err(PdfError::Malformed("not a stream"));
    }
    lexer.skip_single_eol();
    let length = dict.get(b"Length").and_then(Object::as_int);
    Ok((dict, stream_extent(data, lexer.pos(), length, |from| search_endstream(data, from))))
}

/// Every `N G obj` in the file (the last one of a number wins, as in an incremental
/// update), for files whose cross-reference data is missing or wrong.
pub(crate) fn scan_objects(data: &[u8], allowance: &Allowance) -> PdfResult<HashMap<u32, usize>> {
    let mut found = HashMap::new();
    for at in memchr::memmem::find_iter(data, b"obj") {
        allowance.tick()?;
        if data.get(at + 3).is_some_and(|&b| !super::lexer::is_whitespace(b) && !b"<[(/%".contains(&b)) {
            continue;
        }
        if let Some((num, start)) = object_header_before(data, at) {
            found.insert(num, start);
            check_size(found.len())?;
        }
    }
    Ok(found)
}

/// For `obj` at `at`, the object number and where `N G obj` starts, if it is one.
fn object_header_before(data: &[u8], at: usize) -> Option<(u32, usize)> {
    let space = |i: usize| data.get(i).is_some_and(|&b| super::lexer::is_whitespace(b));
    // Real headers have a space or two between the numbers; a long run is not a header.
    let digits_end = |mut i: usize| {
        let stop = i.saturating_sub(MAX_HEADER_SPACE);
        while i > stop && space(i - 1) {
            i -= 1;
        }
        i
    };
    let digits_start = |end: usize| {
        let mut i = end;
        while i > 0 && data[i - 1].is_ascii_digit() && end - i < 10 {
            i -= 1;
        }
        (i < end).then_some(i)
    };
    let gen_end = digits_end(at);
    let gen_start = digits_start(gen_end)?;
    let num_end = digits_end(gen_start);
    if num_end == gen_start {
        return None;
    }
    let num_start = digits_start(num_end)?;
    if num_start > 0 && !space(num_start - 1) && !b">])".contains(&data[num_start - 1]) {
        return None;
    }
    let num = std::str::from_utf8(&data[num_start..num_end]).ok()?.parse().ok()?;
    Some((num, num_start))
}

/// The last `trailer` dictionaries in the file, merged newest first.
pub(crate) fn scan_trailers(data: &[u8], allowance: &Allowance) -> PdfResult<Dict> {
    let mut merged = Xref::default();
    let positions: Vec<usize> = memchr::memmem::find_iter(data, b"trailer").collect();
    for &at in positions.iter().rev().take(MAX_SECTIONS) {
        let mut lexer = Lexer::at(data, at + b"trailer".len());
        if let Ok(Object::Dict(trailer)) = parse_object(&mut lexer, allowance) {
            merged.merge(Xref { entries: HashMap::new(), trailer: Rc::unwrap_or_clone(trailer) })?;
        }
    }
    Ok(merged.trailer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_object_headers() {
        let data = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n12 3 obj[1]endobj xx9 0 obj 0 endobj";
        let budget = crate::budget::Budget::new(&crate::Limits::default(), crate::Format::Pdf);
        let allowance = Allowance::new(&budget, 1 << 20);
        let found = scan_objects(data, &allowance).unwrap();
        assert_eq!(found.get(&1), Some(&9));
        assert_eq!(found.get(&12), Some(&29));
        assert_eq!(found.get(&9), None);
        assert_eq!(found.len(), 2);
    }

    #[test]
    fn decodes_stream_rows() {
        assert_eq!(stream_entry(&[1, 0x01, 0x00, 0], &[1, 2, 1]), Entry::Offset(256));
        assert_eq!(stream_entry(&[2, 0x00, 0x07, 3], &[1, 2, 1]), Entry::Compressed { stream: 7, index: 3 });
        assert_eq!(stream_entry(&[0x00, 0x10, 0], &[0, 2, 1]), Entry::Offset(16));
        assert_eq!(stream_entry(&[0, 0, 0, 0], &[1, 2, 1]), Entry::Free);
    }
}
