//! DOCX: a zip of XML parts. The text is the page headers, then the main document, then
//! the footers; each part is inflated through a byte counter (zip headers are never
//! trusted) and parsed as a stream of XML events, so memory stays near the size of the
//! text however large a part claims or turns out to be.

mod story;

use std::collections::HashMap;
use std::io::{self, BufReader, Cursor, Read};

use quick_xml::Reader;
use quick_xml::events::Event;
use zip::ZipArchive;
use zip::result::ZipError;

use crate::budget::Budget;
use crate::{ExtractError, Format, clean};

const MAIN_PART: &str = "word/document.xml";
/// Check the clock every this many XML events (and at every part).
const EVENTS_PER_TIME_CHECK: u32 = 1024;
/// Header and footer parts read, each kind: Word writes at most three per
/// section; past this they are the same few repeated, and each costs a
/// zip entry, an XML parse and a comparison with what was kept.
const MAX_STORY_PARTS: usize = 64;

type Archive<'a> = ZipArchive<Cursor<&'a [u8]>>;

pub(crate) fn extract(bytes: &[u8], budget: &Budget) -> Result<String, ExtractError> {
    let mut zip = ZipArchive::new(Cursor::new(bytes)).map_err(|e| zip_error(&e))?;
    let main = main_part(&mut zip, budget)?;
    let mut lines = Vec::new();
    for part in story_parts(&zip, "word/header") {
        push_unique_story(&mut lines, read_story(&mut zip, &part, budget)?);
    }
    lines.extend(read_story(&mut zip, &main, budget)?);
    for part in story_parts(&zip, "word/footer") {
        push_unique_story(&mut lines, read_story(&mut zip, &part, budget)?);
    }
    let text = clean::join_lines(lines.iter().map(String::as_str));
    budget.check_text_len(text.len())?;
    Ok(text)
}

/// The officeDocument part named in `_rels/.rels`, else the usual `word/document.xml`.
/// A zip without it is some other kind of file, or a DOCX missing its body.
fn main_part(zip: &mut Archive, budget: &Budget) -> Result<String, ExtractError> {
    let declared = match zip.index_for_name("_rels/.rels") {
        Some(_) => relationships(zip, "_rels/.rels", budget)?.main,
        None => None,
    };
    if let Some(part) = declared.filter(|part| zip.index_for_name(part).is_some()) {
        return Ok(part);
    }
    if zip.index_for_name(MAIN_PART).is_some() {
        return Ok(MAIN_PART.to_owned());
    }
    Err(not_a_docx(zip))
}

fn not_a_docx(zip: &Archive) -> ExtractError {
    let has = |name: &str| zip.index_for_name(name).is_some();
    if has("xl/workbook.xml") {
        ExtractError::Unsupported("an Excel workbook")
    } else if has("ppt/presentation.xml") {
        ExtractError::Unsupported("a PowerPoint presentation")
    } else if has("mimetype") {
        ExtractError::Unsupported("an OpenDocument file")
    } else if has("[Content_Types].xml") {
        ExtractError::corrupt(Format::Docx, "no word/document.xml")
    } else {
        ExtractError::Unsupported("a ZIP archive")
    }
}

/// `word/header1.xml`, `word/header2.xml`, … in numeric order.
fn story_parts(zip: &Archive, prefix: &str) -> Vec<String> {
    let mut parts: Vec<(u32, String)> = zip
        .file_names()
        .filter_map(|name| {
            let name = name.ok()?;
            let number = name.strip_prefix(prefix)?.strip_suffix(".xml")?;
            let number = if number.is_empty() { 0 } else { number.parse().ok()? };
            Some((number, name.into_owned()))
        })
        .collect();
    parts.sort();
    parts.into_iter().take(MAX_STORY_PARTS).map(|(_, name)| name).collect()
}

/// Headers repeat (first page, even pages, each section): keep one copy of each.
fn push_unique_story(lines: &mut Vec<String>, story: Vec<String>) {
    if story.iter().all(|line| line.trim().is_empty()) || lines.ends_with(&story) {
        return;
    }
    if lines.windows(story.len()).any(|window| window == story.as_slice()) {
        return;
    }
    lines.extend(story);
}

fn read_story(zip: &mut Archive, part: &str, budget: &Budget) -> Result<Vec<String>, ExtractError> {
    let links = relationships(zip, &rels_path(part), budget)?.hyperlinks;
    let mut story = story::Story::new(&links, budget);
    read_xml(zip, part, budget, |event| story.handle(event))?;
    Ok(story.finish())
}

/// `word/document.xml` -> `word/_rels/document.xml.rels`.
fn rels_path(part: &str) -> String {
    match part.rsplit_once('/') {
        Some((dir, file)) => format!("{dir}/_rels/{file}.rels"),
        None => format!("_rels/{part}.rels"),
    }
}

#[derive(Default)]
struct Relationships {
    /// The officeDocument target (package relationships only).
    main: Option<String>,
    /// Relationship id -> external hyperlink target.
    hyperlinks: HashMap<String, String>,
}

fn relationships(zip: &mut Archive, part: &str, budget: &Budget) -> Result<Relationships, ExtractError> {
    let mut rels = Relationships::default();
    if zip.index_for_name(part).is_none() {
        return Ok(rels);
    }
    read_xml(zip, part, budget, |event| {
        if let Event::Empty(e) | Event::Start(e) = event
            && e.local_name().as_ref() == "Relationship"
        {
            add_relationship(&mut rels, &story::attributes(&e));
        }
        Ok(())
    })?;
    Ok(rels)
}

fn add_relationship(rels: &mut Relationships, attrs: &HashMap<String, String>) {
    let get = |key: &str| attrs.get(key).map(String::as_str).unwrap_or_default();
    let (kind, target) = (get("Type"), get("Target"));
    if kind.ends_with("/officeDocument") {
        rels.main = Some(target.trim_start_matches('/').to_owned());
    } else if kind.ends_with("/hyperlink") && get("TargetMode") == "External" {
        rels.hyperlinks.insert(get("Id").to_owned(), target.to_owned());
    }
}

/// Streams the events of one XML part to `handle`, inflating through [`CappedRead`].
/// A DOCTYPE is refused: Word never writes one, and it is how entity attacks begin.
fn read_xml(
    zip: &mut Archive,
    part: &str,
    budget: &Budget,
    mut handle: impl FnMut(Event) -> Result<(), ExtractError>,
) -> Result<(), ExtractError> {
    budget.check_time()?;
    let file = zip.by_name(part).map_err(|e| zip_error(&e))?;
    let compressed = file.compressed_size();
    let capped = CappedRead { inner: file, compressed, inflated: 0, budget, failure: None };
    let mut xml = Reader::from_reader(BufReader::new(capped));
    let mut buf = Vec::new();
    let mut events = 0u32;
    loop {
        events = events.wrapping_add(1);
        if events.is_multiple_of(EVENTS_PER_TIME_CHECK) {
            budget.check_time()?;
        }
        buf.clear();
        let event = match xml.read_event_into(&mut buf) {
            Ok(event) => event,
            Err(e) => return Err(xml_failure(xml.get_mut().get_mut().failure.take(), part, &e)),
        };
        match event {
            Event::Eof => return Ok(()),
            Event::DocType(_) => {
                let reason = "an XML document type declaration (DTD), which documents do not need";
                return Err(ExtractError::Refused { format: Format::Docx, reason });
            }
            event => handle(event)?,
        }
    }
}

/// A limit hit while inflating, else the XML error itself.
fn xml_failure(limit: Option<ExtractError>, part: &str, error: &quick_xml::Error) -> ExtractError {
    limit.unwrap_or_else(|| {
        let reason = match error {
            quick_xml::Error::Io(io) => format!("{part} cannot be inflated: {io}"),
            other => format!("{part} is not well-formed XML: {other}"),
        };
        ExtractError::corrupt(Format::Docx, reason)
    })
}

fn zip_error(error: &ZipError) -> ExtractError {
    let reason = match error {
        ZipError::UnsupportedArchive(what) => format!("it uses an unsupported zip feature: {what}"),
        ZipError::FileNotFound => "a part is missing".to_owned(),
        ZipError::InvalidArchive(_) | ZipError::Io(_) => "it is not a complete zip archive".to_owned(),
        other => format!("it is not a readable zip archive: {other}"),
    };
    ExtractError::corrupt(Format::Docx, reason)
}

/// Counts the bytes actually inflated from one part and stops at the ratio cap or the
/// document-wide cap; the limit error is kept here for [`read_xml`] to report (quick-xml
/// only passes an opaque I/O error up).
struct CappedRead<'b, R> {
    inner: R,
    compressed: u64,
    inflated: u64,
    budget: &'b Budget,
    failure: Option<ExtractError>,
}

impl<R: Read> Read for CappedRead<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.inflated = self.inflated.saturating_add(n as u64);
        if let Err(limit) = self.budget.charge_inflated(self.compressed, self.inflated, n as u64) {
            self.failure = Some(limit);
            return Err(io::Error::other("inflate limit"));
        }
        Ok(n)
    }
}
