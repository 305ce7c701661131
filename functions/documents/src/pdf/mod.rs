//! PDF text extraction.
//!
//! The object layer is this crate's own rather than lopdf's `Document` loader, because
//! that loader parses every object in the file up front: a 6.6 MB file of empty arrays
//! (`[[][][]…]`) took 2 GB and 4 s to load in a measurement, and object streams add
//! about 200 MiB each before any limit of ours could apply. Here objects are parsed
//! lazily (only what the pages need) with an explicit stack and an allocation budget.
//! lopdf still does what it does well on bounded inputs: stream filters (with its
//! output cap) and decryption (its standard security handler).
//!
//! The steps: [`mod@file`] finds objects (cross-reference data or a scan), [`pages`] walks
//! the page tree, [`content`] runs each page's text operators with [`font`]s decoding
//! the strings, [`annotations`] adds link targets, and [`layout`] makes lines.

mod annotations;
mod cmap;
mod content;
mod crypt;
mod encoding;
mod file;
mod filters;
mod font;
mod glyph_names;
mod layout;
mod lexer;
mod object;
mod pages;
mod xref;

use crate::budget::Budget;
use crate::{ExtractError, Format, clean};
use content::FontCache;
use file::PdfFile;
use object::PdfError;

/// The text (pages separated by a blank line) and the number of pages.
pub(crate) fn extract(bytes: &[u8], budget: &Budget) -> Result<(String, u32), ExtractError> {
    let file = PdfFile::open(bytes, budget).map_err(|e| match e {
        ExtractError::Corrupt { .. } if !ends_with_eof_marker(bytes) => cut_short(),
        e => e,
    })?;
    let pages = match pages::collect(&file, budget.limits.max_pages) {
        Ok(pages) if !pages.is_empty() => pages,
        Ok(_) if !ends_with_eof_marker(bytes) => return Err(cut_short()),
        Ok(_) => return Err(ExtractError::corrupt(Format::Pdf, "no pages")),
        Err(PdfError::Malformed(_)) if !ends_with_eof_marker(bytes) => return Err(cut_short()),
        Err(PdfError::Malformed(reason)) => return Err(ExtractError::corrupt(Format::Pdf, reason)),
        Err(PdfError::Fatal(e)) => return Err(e),
    };
    let mut fonts = FontCache::default();
    let mut text = String::new();
    let mut glyphs = 0usize;
    let mut damaged = 0usize;
    for page in &pages {
        budget.check_time()?;
        let Some((page_text, page_glyphs)) = page_text(&file, &mut fonts, page)? else {
            damaged += 1;
            continue;
        };
        glyphs += page_glyphs;
        if !page_text.is_empty() {
            if !text.is_empty() {
                text.push_str("\n\n");
            }
            text.push_str(&page_text);
            budget.check_text_len(text.len())?;
        }
    }
    if text.trim().is_empty() {
        return Err(nothing_read(bytes, glyphs, damaged));
    }
    Ok((text, u32::try_from(pages.len()).unwrap_or(u32::MAX)))
}

/// Why a PDF gave no text: fonts without Unicode, a file cut short or with
/// unreadable pages (not a scan: "needs OCR" would send people the wrong
/// way), or no text drawn at all.
fn nothing_read(bytes: &[u8], glyphs: usize, damaged_pages: usize) -> ExtractError {
    if glyphs > 0 {
        ExtractError::Undecodable
    } else if !ends_with_eof_marker(bytes) {
        cut_short()
    } else if damaged_pages > 0 {
        ExtractError::corrupt(Format::Pdf, "the content of its pages cannot be read")
    } else {
        ExtractError::NoTextLayer
    }
}

fn cut_short() -> ExtractError {
    ExtractError::corrupt(Format::Pdf, "it is cut short: it has no end-of-file marker; upload the whole file")
}

/// `%%EOF` within the last 1024 bytes, where readers look for it.
fn ends_with_eof_marker(bytes: &[u8]) -> bool {
    bytes[bytes.len().saturating_sub(1024)..].windows(5).any(|w| w == b"%%EOF")
}

/// One page's text and how many character codes it showed; `None` for a
/// page whose content cannot be read.
fn page_text(
    file: &PdfFile,
    fonts: &mut FontCache,
    page: &pages::Page,
) -> Result<Option<(String, usize)>, ExtractError> {
    let read = fatal_or(content::read_page(file, fonts, page).map(Some), None)?;
    let Some(mut page_text) = read else { return Ok(None) };
    if let Some(dict) = page.dict.as_dict() {
        fatal_or(annotations::add_link_targets(file, dict, &mut page_text.runs), ())?;
    }
    let mut cleaned: Vec<String> = Vec::new();
    for line in layout::lines(&page_text.runs) {
        let mut clean_line = String::new();
        clean::push_clean(&mut clean_line, &line);
        match cleaned.last_mut() {
            Some(previous) if continues_after_hyphen(previous, &clean_line) => {
                previous.push_str(clean_line.trim_start())
            }
            _ => cleaned.push(clean_line),
        }
    }
    Ok(Some((clean::join_lines(cleaned.iter().map(String::as_str)), page_text.glyphs)))
}

/// A line wrapped at a hyphen inside a word (`linkedin.com/in/priya-raman-` | `example`):
/// the pieces are one word, hyphen included (resumes are not hyphenated by the word
/// processor, but hyphenated handles, URLs and compounds wrap there).
fn continues_after_hyphen(line: &str, next: &str) -> bool {
    let mut tail = line.chars().rev();
    let ends_in_word_hyphen = tail.next() == Some('-') && tail.next().is_some_and(char::is_alphanumeric);
    let next_starts_word = next.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    ends_in_word_hyphen && next_starts_word
}

/// Limits stop the extraction; a malformed part reads as `otherwise`.
fn fatal_or<T>(result: Result<T, PdfError>, otherwise: T) -> Result<T, ExtractError> {
    match result {
        Ok(value) => Ok(value),
        Err(PdfError::Malformed(_)) => Ok(otherwise),
        Err(PdfError::Fatal(e)) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hyphen_wraps_inside_words_are_joined() {
        assert!(continues_after_hyphen("linkedin.com/in/priya-raman-", "example | github.com/x"));
        assert!(!continues_after_hyphen("2019 -", "present"));
        assert!(!continues_after_hyphen("Senior Engineer -", "Acme"));
        assert!(!continues_after_hyphen("Back-", "End"));
        assert!(!continues_after_hyphen("plain line", "next"));
    }
}
