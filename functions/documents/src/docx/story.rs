//! One story of a DOCX (the body, a header, a footer) from its XML events to lines.
//!
//! * A paragraph is a line (`w:br` inside it breaks it); list paragraphs get a `• ` (or
//!   `1. `, `2. `… in a numbered list style).
//! * Tables: a row whose cells are one line each reads as one line, cells joined by
//!   ` | ` (a title, a company and dates stay together); a row with longer cells (a
//!   two-column layout) reads cell after cell, a blank line between them.
//! * Text boxes (`w:txbxContent`) nest paragraphs inside a paragraph: their lines come
//!   out before the line that holds them. Fallback copies (`mc:Fallback`), deleted and
//!   moved-away text are skipped, so nothing is read twice.
//! * Hyperlinks (`w:hyperlink`, `HYPERLINK` fields) keep their visible text, plus the
//!   target when the text is only a label (see [`crate::links`]).
//!
//! Every stack here is capped, so a hostile nesting depth costs nothing but flattening.

use std::collections::HashMap;

use quick_xml::events::{BytesRef, BytesStart, Event};

use crate::budget::Budget;
use crate::{ExtractError, clean, links};

/// Deeper tables, text boxes and fields are read as if they were not nested.
const MAX_NESTING: usize = 32;
const MAX_FIELD_INSTRUCTION: usize = 4096;

pub(crate) struct Story<'a> {
    hyperlinks: &'a HashMap<String, String>,
    budget: &'a Budget,
    lines: Vec<String>,
    paragraphs: Vec<Paragraph>,
    tables: Vec<Table>,
    fields: Vec<Field>,
    /// Elements opened beyond [`MAX_NESTING`], so their ends are not mistaken for an outer one's.
    flattened: Flattened,
    capture: Capture,
    run_depth: u32,
    /// The number of the last item of the numbered list being read.
    list_number: u32,
    /// Inside an element whose content is skipped (how deep).
    skip_depth: u32,
    text_len: usize,
}

#[derive(Default)]
struct Flattened {
    paragraphs: u32,
    tables: u32,
    fields: u32,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Capture {
    Nothing,
    Text,
    FieldInstruction,
}

#[derive(Default)]
struct Paragraph {
    text: String,
    bullet: bool,
    numbered: bool,
    links: Vec<OpenLink>,
}

struct OpenLink {
    target: Option<String>,
    /// Byte offset in the paragraph's text where the link's visible text starts.
    start: usize,
}

#[derive(Default)]
struct Table {
    lines: Vec<String>,
    row: Vec<Vec<String>>,
    cell: Option<Vec<String>>,
}

#[derive(Default)]
struct Field {
    instruction: String,
    link: Option<OpenLink>,
}

impl<'a> Story<'a> {
    pub(crate) fn new(hyperlinks: &'a HashMap<String, String>, budget: &'a Budget) -> Self {
        Story {
            hyperlinks,
            budget,
            lines: Vec::new(),
            paragraphs: Vec::new(),
            tables: Vec::new(),
            fields: Vec::new(),
            flattened: Flattened::default(),
            capture: Capture::Nothing,
            run_depth: 0,
            list_number: 0,
            skip_depth: 0,
            text_len: 0,
        }
    }

    pub(crate) fn handle(&mut self, event: Event) -> Result<(), ExtractError> {
        match event {
            Event::Start(e) => self.start(&e, true),
            Event::Empty(e) => self.start(&e, false),
            Event::End(e) => self.end(e.local_name().as_ref()),
            Event::Text(t) => self.characters(&t.xml10_content()),
            Event::CData(c) => self.characters(&c),
            Event::GeneralRef(r) => self.characters(&entity_text(&r)),
            _ => {}
        }
        self.budget.check_text_len(self.text_len)
    }

    /// The lines read, closing whatever a truncated part left open.
    pub(crate) fn finish(mut self) -> Vec<String> {
        while !self.paragraphs.is_empty() {
            self.close_paragraph();
        }
        while !self.tables.is_empty() {
            self.close_table();
        }
        self.lines
    }

    fn start(&mut self, e: &BytesStart, has_content: bool) {
        if self.skip_depth > 0 {
            self.skip_depth += u32::from(has_content);
            return;
        }
        match e.local_name().as_ref() {
            "Fallback" | "del" | "moveFrom" if has_content => self.skip_depth = 1,
            "p" => {
                self.open_paragraph();
                if !has_content {
                    self.close_paragraph();
                }
            }
            "pStyle" => self.style_paragraph(&attribute(e, "val").unwrap_or_default()),
            "numPr" => self.mark_list_item(),
            "r" if has_content => self.run_depth += 1,
            "t" if has_content => self.capture = Capture::Text,
            "instrText" if has_content => self.capture = Capture::FieldInstruction,
            "tab" | "ptab" if self.run_depth > 0 => self.visible_text("\t"),
            "br" | "cr" if self.run_depth > 0 => self.visible_text("\n"),
            "noBreakHyphen" => self.visible_text("-"),
            "sym" => self.visible_text("•"),
            "hyperlink" => {
                let target = attribute(e, "id").and_then(|id| self.hyperlinks.get(&id).cloned());
                self.open_link(target, has_content);
            }
            "fldSimple" => {
                let target = attribute(e, "instr").and_then(|instr| hyperlink_field_target(&instr));
                self.open_link(target, has_content);
            }
            "fldChar" => self.field_char(&attribute(e, "fldCharType").unwrap_or_default()),
            "tbl" if has_content => self.open_table(),
            "tr" if has_content && self.flattened.tables == 0 => self.open_row(),
            "tc" if has_content && self.flattened.tables == 0 => self.open_cell(),
            _ => {}
        }
    }

    fn end(&mut self, name: &str) {
        if self.skip_depth > 0 {
            self.skip_depth -= 1;
            return;
        }
        match name {
            "p" => self.close_paragraph(),
            "r" => self.run_depth = self.run_depth.saturating_sub(1),
            "t" | "instrText" => self.capture = Capture::Nothing,
            "hyperlink" | "fldSimple" => self.close_link(),
            "tc" if self.flattened.tables == 0 => self.close_cell(),
            "tr" if self.flattened.tables == 0 => self.close_row(),
            "tbl" => self.close_table(),
            _ => {}
        }
    }

    fn characters(&mut self, text: &str) {
        if self.skip_depth > 0 {
            return;
        }
        match self.capture {
            Capture::Text => self.visible_text(text),
            Capture::FieldInstruction => self.field_instruction(text),
            Capture::Nothing => {}
        }
    }

    fn visible_text(&mut self, text: &str) {
        if let Some(paragraph) = self.paragraphs.last_mut() {
            let before = paragraph.text.len();
            clean::push_clean(&mut paragraph.text, text);
            self.text_len += paragraph.text.len() - before;
        }
    }

    // Paragraphs ---------------------------------------------------------------------

    fn open_paragraph(&mut self) {
        if self.paragraphs.len() < MAX_NESTING {
            self.paragraphs.push(Paragraph::default());
        } else {
            self.flattened.paragraphs += 1;
        }
    }

    fn close_paragraph(&mut self) {
        if self.flattened.paragraphs > 0 {
            self.flattened.paragraphs -= 1;
            return;
        }
        let Some(paragraph) = self.paragraphs.pop() else { return };
        let marker = self.list_marker(&paragraph);
        let line = if marker.is_empty() { paragraph.text } else { marker + paragraph.text.trim_start() };
        self.emit(line);
    }

    /// `• ` for bulleted paragraphs; `1. `, `2. `… for a run of numbered ones (the numbers
    /// are drawn by Word, not written in the XML). Whether a `w:numPr` list is numbered
    /// would take numbering.xml: those read as bullets.
    fn list_marker(&mut self, paragraph: &Paragraph) -> String {
        if paragraph.text.trim().is_empty() {
            return String::new();
        }
        if !paragraph.numbered {
            self.list_number = 0;
            return if paragraph.bullet { "• ".to_owned() } else { String::new() };
        }
        self.list_number += 1;
        format!("{}. ", self.list_number)
    }

    fn style_paragraph(&mut self, style: &str) {
        if let Some(paragraph) = self.paragraphs.last_mut() {
            paragraph.bullet |= style.contains("Bullet");
            paragraph.numbered |= style.contains("Number");
        }
    }

    fn mark_list_item(&mut self) {
        if let Some(paragraph) = self.paragraphs.last_mut() {
            paragraph.bullet |= !paragraph.numbered;
        }
    }

    /// A finished line goes to the innermost open table cell, else to the story.
    fn emit(&mut self, line: String) {
        match self.tables.last_mut() {
            Some(Table { cell: Some(cell), .. }) => cell.push(line),
            Some(table) => table.lines.push(line),
            None => self.lines.push(line),
        }
    }

    // Links and fields ---------------------------------------------------------------

    fn open_link(&mut self, target: Option<String>, has_content: bool) {
        if let Some(paragraph) = self.paragraphs.last_mut() {
            paragraph.links.push(OpenLink { target, start: paragraph.text.len() });
        }
        if !has_content {
            self.close_link();
        }
    }

    fn close_link(&mut self) {
        let link = self.paragraphs.last_mut().and_then(|p| p.links.pop());
        if let Some(link) = link {
            self.finish_link(link);
        }
    }

    fn finish_link(&mut self, link: OpenLink) {
        let (Some(paragraph), Some(target)) = (self.paragraphs.last_mut(), link.target) else { return };
        let Some(visible) = paragraph.text.get(link.start..) else { return };
        if let Some(suffix) = links::label_suffix(visible, &target) {
            self.text_len += suffix.len();
            paragraph.text.push_str(&suffix);
        }
    }

    fn field_char(&mut self, kind: &str) {
        match kind {
            "begin" if self.fields.len() < MAX_NESTING => self.fields.push(Field::default()),
            "begin" => self.flattened.fields += 1,
            "separate" => self.field_result_starts(),
            "end" if self.flattened.fields > 0 => self.flattened.fields -= 1,
            "end" => {
                if let Some(link) = self.fields.pop().and_then(|field| field.link) {
                    self.finish_link(link);
                }
            }
            _ => {}
        }
    }

    fn field_instruction(&mut self, text: &str) {
        if let Some(field) = self.fields.last_mut()
            && field.instruction.len() + text.len() <= MAX_FIELD_INSTRUCTION
        {
            field.instruction.push_str(text);
        }
    }

    fn field_result_starts(&mut self) {
        let start = self.paragraphs.last().map_or(0, |p| p.text.len());
        if let Some(field) = self.fields.last_mut()
            && self.flattened.fields == 0
        {
            let target = hyperlink_field_target(&field.instruction);
            field.link = target.map(|target| OpenLink { target: Some(target), start });
        }
    }

    // Tables -------------------------------------------------------------------------

    fn open_table(&mut self) {
        if self.tables.len() < MAX_NESTING && self.flattened.tables == 0 {
            self.tables.push(Table::default());
        } else {
            self.flattened.tables += 1;
        }
    }

    fn open_row(&mut self) {
        self.close_row();
    }

    fn open_cell(&mut self) {
        self.close_cell();
        if let Some(table) = self.tables.last_mut() {
            table.cell = Some(Vec::new());
        }
    }

    fn close_cell(&mut self) {
        if let Some(table) = self.tables.last_mut()
            && let Some(cell) = table.cell.take()
        {
            table.row.push(cell);
        }
    }

    fn close_row(&mut self) {
        self.close_cell();
        if let Some(table) = self.tables.last_mut() {
            let cells = std::mem::take(&mut table.row);
            table.lines.extend(row_lines(cells));
        }
    }

    fn close_table(&mut self) {
        if self.flattened.tables > 0 {
            self.flattened.tables -= 1;
            return;
        }
        self.close_row();
        if let Some(table) = self.tables.pop() {
            for line in table.lines {
                self.emit(line);
            }
        }
    }
}

/// One line for a row of one-line cells, else the cells one after another.
fn row_lines(cells: Vec<Vec<String>>) -> Vec<String> {
    let cells: Vec<Vec<String>> = cells
        .into_iter()
        .map(|cell| cell.into_iter().filter(|line| !line.trim().is_empty()).collect::<Vec<_>>())
        .filter(|cell| !cell.is_empty())
        .collect();
    if cells.iter().all(|cell| cell.len() == 1) {
        let joined: Vec<&str> = cells.iter().map(|cell| cell[0].trim()).collect();
        return if joined.is_empty() { Vec::new() } else { vec![joined.join(" | ")] };
    }
    let mut lines = Vec::new();
    for cell in cells {
        if !lines.is_empty() {
            lines.push(String::new());
        }
        lines.extend(cell);
    }
    lines
}

/// The value of the attribute with this local name (namespace prefixes ignored).
pub(super) fn attribute(e: &BytesStart, local_name: &str) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == local_name)
        .and_then(|a| a.normalized_value(quick_xml::XmlVersion::Implicit1_0).ok().map(|v| v.into_owned()))
}

/// All attributes by local name.
pub(super) fn attributes(e: &BytesStart) -> HashMap<String, String> {
    e.attributes()
        .flatten()
        .filter_map(|a| {
            let key = a.key.local_name().as_ref().to_owned();
            let value = a.normalized_value(quick_xml::XmlVersion::Implicit1_0).ok()?.into_owned();
            Some((key, value))
        })
        .collect()
}

/// The five predefined entities and character references; anything else stays unexpanded
/// (no DTD can declare it: those are refused before we get here).
fn entity_text(reference: &BytesRef) -> String {
    if let Ok(Some(c)) = reference.resolve_char_ref() {
        return c.to_string();
    }
    let text = match reference.xml10_content().as_ref() {
        "amp" => "&",
        "lt" => "<",
        "gt" => ">",
        "quot" => "\"",
        "apos" => "'",
        _ => "",
    };
    text.to_owned()
}

/// The URL of a `HYPERLINK "url" \o "tip"` field; `None` for other fields and for
/// `HYPERLINK \l "bookmark"` (a place in the document).
fn hyperlink_field_target(instruction: &str) -> Option<String> {
    let rest = instruction.trim_start();
    let keyword = rest.get(..9)?;
    if !keyword.eq_ignore_ascii_case("HYPERLINK") {
        return None;
    }
    for token in field_tokens(&rest[9..]) {
        if token == "\\l" {
            return None;
        }
        if !token.starts_with('\\') {
            return Some(token);
        }
    }
    None
}

/// Field instruction words: quoted strings or runs of non-space characters.
fn field_tokens(s: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '"' {
            chars.next();
            tokens.push(chars.by_ref().take_while(|&c| c != '"').collect());
        } else {
            let mut token = String::new();
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                token.push(c);
            }
            tokens.push(token);
        }
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hyperlink_fields() {
        let url = Some("https://x.example.com/a".to_owned());
        assert_eq!(hyperlink_field_target(r#" HYPERLINK "https://x.example.com/a" \o "tip" "#), url);
        assert_eq!(hyperlink_field_target(r#"HYPERLINK \l "_Toc1""#), None);
        assert_eq!(hyperlink_field_target("PAGE"), None);
        assert_eq!(hyperlink_field_target(""), None);
    }

    #[test]
    fn rows_of_short_cells_stay_on_one_line() {
        let row = vec![vec!["Engineer".to_owned()], vec![], vec!["2019 – 2021".to_owned()]];
        assert_eq!(row_lines(row), ["Engineer | 2019 – 2021"]);
        let layout = vec![vec!["Skills".to_owned(), "Rust".to_owned()], vec!["Experience".to_owned()]];
        assert_eq!(row_lines(layout), ["Skills", "Rust", "", "Experience"]);
    }
}
