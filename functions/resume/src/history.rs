//! Where and when: employment and education from date ranges, and years of
//! experience as the union of employment periods (overlapping jobs count once).

use crate::text::{Line, lines, plain, segments};
use crate::{Found, Method};
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;

/// A month; year-only dates are January of that year. In JSON, `"YYYY-MM"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct YearMonth {
    pub year: u16,
    pub month: u8,
}

impl YearMonth {
    pub fn new(year: u16, month: u8) -> Self {
        YearMonth { year, month }
    }

    fn index(self) -> i32 {
        i32::from(self.year) * 12 + i32::from(self.month) - 1
    }

    fn next(self) -> Self {
        if self.month == 12 { YearMonth::new(self.year + 1, 1) } else { YearMonth::new(self.year, self.month + 1) }
    }

    /// `YYYY-MM`.
    pub fn to_iso(self) -> String {
        format!("{:04}-{:02}", self.year, self.month)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Position {
    pub title: Option<String>,
    pub company: Option<String>,
    pub start: YearMonth,
    /// `None`: "present".
    pub end: Option<YearMonth>,
    /// The first month after the position: a month-precise end counts in full
    /// ("Dec 2020" runs to January 2021), a bare year ends where it starts.
    #[serde(skip)]
    pub until: Option<YearMonth>,
    /// The date range as written, with its offsets.
    pub dates: Found<String>,
    /// Byte range of the text that describes this position (its header to the
    /// next position), for per-skill experience.
    pub block: (usize, usize),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Education {
    pub degree: Option<String>,
    pub school: Option<String>,
    pub end_year: Option<u16>,
    /// The line it was read from.
    pub source: Found<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    pub positions: Vec<Position>,
    pub education: Vec<Education>,
    /// Union of the positions' periods up to `today`, in years (one decimal).
    pub years_experience: Option<f32>,
    /// Date ranges past [`MAX_POSITIONS`] that were not read (0 for any real resume).
    pub unread_positions: usize,
}

/// Positions read from one text, in text order. A long career has a few
/// dozen; the cap keeps a text of thousands of date ranges from costing work
/// and result bytes in proportion.
pub const MAX_POSITIONS: usize = 100;
/// Education entries read from one text.
pub const MAX_EDUCATION: usize = 30;
/// Longest title, company, degree or school kept, in characters: a longer
/// one is not a header but a paragraph, and is cut at a word.
pub const MAX_FIELD_CHARS: usize = 120;
/// Longest education source line kept, in characters.
pub const MAX_SOURCE_CHARS: usize = 300;
/// Bytes of a line looked at either side of a date range for its header:
/// a header is short, and reading whole lines made a text of many dates on
/// one long line cost (dates × line length).
const HEADER_WINDOW: usize = 300;

const MONTH: &str = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?";
static RANGE: LazyLock<Regex> = LazyLock::new(|| {
    let date = format!(r"(?:{MONTH}\s+\d{{4}}|\d{{1,2}}/\d{{4}}|\d{{4}}[/.-]\d{{1,2}}\b|\d{{4}})");
    Regex::new(&format!(r"(?i)\b(?P<from>{date})\s*(?:–|—|-|to|until)\s*(?P<to>{date}|present|current|now|today)\b"))
        .unwrap()
});
static DATE_PARTS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)^(?:(?P<mname>{MONTH})\s+(?P<y1>\d{{4}})|(?P<m2>\d{{1,2}})/(?P<y2>\d{{4}})|(?P<y3>\d{{4}})[/.-](?P<m3>\d{{1,2}})|(?P<y4>\d{{4}}))$"
    ))
    .unwrap()
});
/// Degrees, written so that state codes ("Boston, MA") are not taken for one.
static DEGREE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:B\.\s?Sc\.|B\.\s?S\.|BSc|B\.\s?A\.|B\.\s?Eng\.|BEng|M\.\s?Sc\.|M\.\s?S\.|MSc|M\.\s?A\.|M\.\s?Ed\.|M\.\s?Eng\.|MEng|MBA|Ph\.\s?D\.?|PhD|Bachelor(?:'s)?|Master(?:'s)?|Doctorate|Diploma|Licenciatura|Dipl\.-\w+)(?:\s|,|$)").unwrap()
});
/// A season stands for its months: "Summer 2024" is June to August.
static SEASON: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\b(spring|summer|fall|autumn|winter)\s+(\d{4})\b").unwrap());
static YEAR: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\b(19[5-9]\d|20\d\d)\b").unwrap());

const TITLE_WORDS: [&str; 26] = [
    "engineer",
    "developer",
    "manager",
    "scientist",
    "analyst",
    "designer",
    "lead",
    "intern",
    "consultant",
    "administrator",
    "director",
    "architect",
    "specialist",
    "researcher",
    "officer",
    "assistant",
    "head",
    "teacher",
    "programmer",
    "technician",
    "coordinator",
    "cto",
    "ceo",
    "vp",
    "sre",
    "fellow",
];
const SCHOOL_WORDS: [&str; 6] = ["university", "college", "institute", "school", "universidad", "universität"];

#[derive(Clone, Copy, PartialEq)]
enum Section {
    Unknown,
    Experience,
    Education,
    Other,
}

/// Employment and education in `text`, with experience counted up to `today`.
pub fn extract(text: &str, today: YearMonth) -> History {
    let all = lines(text);
    let mut history = History::default();
    let mut section = Section::Unknown;
    for (n, line) in all.iter().enumerate() {
        if let Some(heading) = heading(line.text) {
            section = heading;
        }
        if history.education.len() < MAX_EDUCATION
            && let Some(education) = education_in(line)
        {
            history.education.push(education);
        }
        let is_school = section == Section::Education || DEGREE.is_match(line.text);
        for m in RANGE.captures_iter(line.text) {
            let whole = m.get(0).expect("group 0 always matches");
            let (Some((start, _)), end) = (parse_date(&m["from"]), parse_date(&m["to"])) else { continue };
            let until = end.map(|(e, has_month)| if has_month { e.next() } else { e });
            let end = end.map(|(e, _)| e);
            if is_school || end.is_some_and(|e| e < start) || start > today {
                continue;
            }
            if history.positions.len() == MAX_POSITIONS {
                history.unread_positions += 1;
                continue;
            }
            let (title, company) = header(&all, n, whole.start(), whole.end());
            let dates = Found {
                value: whole.as_str().to_owned(),
                start: line.start + whole.start(),
                end: line.start + whole.end(),
                method: Method::Pattern,
            };
            let block = (line.start, text.len());
            history.positions.push(Position { title, company, start, end, until, dates, block });
        }
    }
    history.unread_positions += seasons(&mut history.positions, &all, text, today);
    history.positions.sort_by_key(|p| p.dates.start);
    close_blocks(&mut history.positions, &all);
    history.years_experience = years(&history.positions, today);
    history
}

/// Positions dated by a season ("Summer 2024") in the experience section, up
/// to [`MAX_POSITIONS`] in all; returns how many more there were.
fn seasons(positions: &mut Vec<Position>, all: &[Line<'_>], text: &str, today: YearMonth) -> usize {
    let mut unread = 0;
    let mut section = Section::Unknown;
    for (n, line) in all.iter().enumerate() {
        if let Some(heading) = heading(line.text) {
            section = heading;
        }
        if section == Section::Education || DEGREE.is_match(line.text) || RANGE.is_match(line.text) {
            continue;
        }
        for m in SEASON.captures_iter(line.text) {
            let Ok(year) = m[2].parse::<u16>() else { continue };
            let (from, to) = match m[1].to_lowercase().as_str() {
                "spring" => (3, 5),
                "summer" => (6, 8),
                "fall" | "autumn" => (9, 11),
                _ => (12, 12),
            };
            let (start, end) = (YearMonth::new(year, from), YearMonth::new(year, to));
            let whole = m.get(0).expect("group 0 always matches");
            if start > today || !has_title_word(line.text) {
                continue;
            }
            if positions.len() == MAX_POSITIONS {
                unread += 1;
                continue;
            }
            let (title, company) = header(all, n, whole.start(), whole.end());
            let dates = Found {
                value: whole.as_str().to_owned(),
                start: line.start + whole.start(),
                end: line.start + whole.end(),
                method: Method::Pattern,
            };
            let block = (line.start, text.len());
            positions.push(Position { title, company, start, end: Some(end), until: Some(end.next()), dates, block });
        }
    }
    unread
}

/// A section heading: a Markdown heading, a short all-capitals line (or
/// column, in a two-column layout), or a line of nothing but heading words
/// ("Educación / Education": PDFs and DOCX lose the Markdown marks).
fn heading(line: &str) -> Option<Section> {
    let markdown = line.trim_start().starts_with('#');
    let mut found = None;
    for (_, segment) in segments(line) {
        let words = plain(segment);
        let letters: Vec<char> = words.chars().filter(|c| c.is_alphabetic()).collect();
        let caps = !letters.is_empty() && letters.iter().all(|c| c.is_uppercase());
        let marked = markdown || caps || words.ends_with(':') || only_heading_words(&words);
        if !marked || words.split_whitespace().count() > 4 {
            continue;
        }
        let lower = words.to_lowercase();
        found = Some(
            if ["experience", "employment", "work history", "career", "professional"].iter().any(|k| lower.contains(k))
            {
                Section::Experience
            } else if ["education", "qualification", "studies"].iter().any(|k| lower.contains(k)) {
                Section::Education
            } else if markdown && line.trim_start().starts_with("###") {
                // A sub-heading (a job title) does not end a section.
                continue;
            } else {
                Section::Other
            },
        );
    }
    found
}

/// Words section headings are made of, in English and Spanish.
const HEADING_WORDS: [&str; 32] = [
    "experience",
    "employment",
    "work",
    "history",
    "career",
    "professional",
    "education",
    "qualifications",
    "studies",
    "skills",
    "technical",
    "core",
    "profile",
    "summary",
    "projects",
    "publications",
    "teaching",
    "awards",
    "certifications",
    "languages",
    "interests",
    "research",
    "academic",
    "appointments",
    "selected",
    "and",
    "experiencia",
    "educación",
    "formación",
    "perfil",
    "habilidades",
    "idiomas",
];

fn only_heading_words(line: &str) -> bool {
    let words: Vec<String> =
        line.split(|c: char| !c.is_alphabetic()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect();
    !words.is_empty() && words.iter().all(|w| HEADING_WORDS.contains(&w.as_str()))
}

impl From<YearMonth> for String {
    fn from(month: YearMonth) -> String {
        month.to_iso()
    }
}

/// A month that is not written `YYYY-MM`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotYearMonth(String);

impl std::fmt::Display for NotYearMonth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "not YYYY-MM: {}", self.0)
    }
}

impl std::error::Error for NotYearMonth {}

impl TryFrom<String> for YearMonth {
    type Error = NotYearMonth;

    fn try_from(iso: String) -> Result<Self, NotYearMonth> {
        let parsed = iso.split_once('-').and_then(|(year, month)| match (year.parse(), month.parse()) {
            (Ok(year), Ok(month @ 1..=12)) => Some(YearMonth { year, month }),
            _ => None,
        });
        parsed.ok_or(NotYearMonth(iso))
    }
}

/// A date and whether it names a month.
fn parse_date(s: &str) -> Option<(YearMonth, bool)> {
    let c = DATE_PARTS.captures(s.trim())?;
    let year = |name: &str| c.name(name).and_then(|y| y.as_str().parse::<u16>().ok());
    let month = |name: &str| c.name(name).and_then(|m| m.as_str().parse::<u8>().ok()).filter(|m| (1..=12).contains(m));
    let (date, has_month) = if let Some(name) = c.name("mname") {
        (YearMonth::new(year("y1")?, month_number(name.as_str())?), true)
    } else if c.name("y2").is_some() {
        (YearMonth::new(year("y2")?, month("m2")?), true)
    } else if c.name("y3").is_some() {
        (YearMonth::new(year("y3")?, month("m3")?), true)
    } else {
        (YearMonth::new(year("y4")?, 1), false)
    };
    (1950..=2100).contains(&date.year).then_some((date, has_month))
}

fn month_number(name: &str) -> Option<u8> {
    const NAMES: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
    let lower = name.to_lowercase();
    NAMES.iter().position(|m| lower.starts_with(m)).map(|i| i as u8 + 1)
}

/// Title and company of the position whose dates are on line `n`: the rest of
/// the date's column (in a two-column layout, the text after the last `|`
/// before it), and the line above when that names the title or holds the
/// whole header.
fn header(all: &[Line<'_>], n: usize, from: usize, _to: usize) -> (Option<String>, Option<String>) {
    let rest = parts(&without_dates(column(all[n].text, from)));
    let above = (0..n)
        .rev()
        .take(2)
        .map(|i| all[i].text)
        .find(|l| !l.trim().is_empty() && heading(l).is_none() && !RANGE.is_match(l))
        .map(|l| parts(&without_dates(column(l, from))))
        .unwrap_or_default();
    let titled = |p: &[String]| p.iter().position(|s| has_title_word(s));
    match (titled(&rest), titled(&above)) {
        (Some(t), _) => title_and_company(&rest, t),
        (None, Some(t)) if !rest.is_empty() => (Some(above[t].clone()), rest.first().map(|c| company(c))),
        (None, Some(t)) => title_and_company(&above, t),
        (None, None) if rest.len() >= 2 => (Some(rest[0].clone()), Some(company(&rest[1]))),
        (None, None) if above.len() >= 2 && rest.is_empty() => (Some(above[0].clone()), Some(company(&above[1]))),
        _ => (None, rest.first().map(|c| company(c))),
    }
}

/// The title part and the company next to it: after the title when the title
/// comes first, else before it.
fn title_and_company(parts: &[String], title: usize) -> (Option<String>, Option<String>) {
    let company = if title == 0 { parts.get(1) } else { parts.get(title - 1) };
    (Some(parts[title].clone()), company.map(|c| company_name(c)))
}

fn company(part: &str) -> String {
    company_name(part)
}

/// A company without a note on how the work was done ("(remote)"); other
/// parentheticals (a translated name) stay.
fn company_name(part: &str) -> String {
    const MODES: [&str; 6] = ["(remote)", "(hybrid)", "(contract)", "(freelance)", "(on-site)", "(part-time)"];
    let trimmed = part.trim();
    MODES
        .iter()
        .find_map(|m| trimmed.to_lowercase().ends_with(m).then(|| trimmed[..trimmed.len() - m.len()].trim().to_owned()))
        .unwrap_or_else(|| trimmed.to_owned())
}

/// Drops a bracket the split left without its partner.
fn balanced(s: &str) -> &str {
    let (open, close) = (s.matches('(').count(), s.matches(')').count());
    if close > open {
        s.trim_end_matches(')').trim_start_matches(')').trim()
    } else if open > close {
        s.trim_start_matches('(').trim_end_matches('(').trim()
    } else {
        s
    }
}

/// The column of `line` that holds byte `at`: text after the last `|` before
/// it, within [`HEADER_WINDOW`] bytes of `at`.
fn column(line: &str, at: usize) -> &str {
    let at = line.floor_char_boundary(at.min(line.len()));
    let floor = line.floor_char_boundary(at.saturating_sub(HEADER_WINDOW));
    let ceiling = line.ceil_char_boundary(at + HEADER_WINDOW);
    let start = line[floor..at].rfind('|').map_or(floor, |i| floor + i + 1);
    let end = line[at..ceiling].find('|').map_or(ceiling, |i| at + i);
    &line[start..end]
}

/// `s` cut to at most `max` characters, at a word when one ends in the last
/// quarter; `s` itself when it is short enough.
fn clipped(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_owned(),
        Some((cut, _)) => {
            let head = &s[..cut];
            let at_word = head.rfind(char::is_whitespace).filter(|&i| i >= cut * 3 / 4).unwrap_or(cut);
            head[..at_word].trim_end().to_owned()
        }
    }
}

fn without_dates(s: &str) -> String {
    let s = RANGE.replace_all(s, " ");
    SEASON.replace_all(&s, " ").into_owned()
}

/// A header split on its separators, decoration and filler words removed.
fn parts(s: &str) -> Vec<String> {
    let plain = plain(s);
    let mut out = Vec::new();
    for piece in plain.split([',', '—', '–', '|', '·', '@']).flat_map(|p| p.split(" - ")).flat_map(|p| p.split(" at "))
    {
        let piece = piece.trim_matches(|c: char| c.is_whitespace() || matches!(c, '-' | '*' | ':'));
        let piece = balanced(piece.trim());
        if !piece.is_empty() && !matches!(piece.to_lowercase().as_str(), "and" | "&" | "remote") {
            out.push(clipped(piece, MAX_FIELD_CHARS));
        }
    }
    out
}

pub(crate) fn has_title_word(s: &str) -> bool {
    let lower = s.to_lowercase();
    lower.split(|c: char| !c.is_alphanumeric()).any(|w| TITLE_WORDS.contains(&w))
}

/// Education from a line naming a degree.
fn education_in(line: &Line<'_>) -> Option<Education> {
    let text = plain(line.text);
    DEGREE.find(&text)?;
    let parts: Vec<&str> = text.split([',', '—', '–', '|', '·']).map(str::trim).filter(|p| !p.is_empty()).collect();
    let degree = parts
        .iter()
        .find(|p| DEGREE.is_match(&format!("{p} ")))
        .map(|p| clipped(YEAR.replace_all(p, "").trim(), MAX_FIELD_CHARS));
    let school = parts
        .iter()
        .find(|p| SCHOOL_WORDS.iter().any(|w| p.to_lowercase().contains(w)))
        .map(|p| clipped(company_name(&YEAR.replace_all(p, "")).trim_end_matches([' ', '-', '–']), MAX_FIELD_CHARS));
    let end_year = YEAR.find_iter(&text).filter_map(|y| y.as_str().parse().ok()).max();
    Some(Education {
        degree,
        school,
        end_year,
        source: Found {
            value: clipped(line.text.trim(), MAX_SOURCE_CHARS),
            start: line.start,
            end: line.start + line.text.len(),
            method: Method::Pattern,
        },
    })
}

/// Each position's block ends where the next one's header begins.
fn close_blocks(positions: &mut [Position], all: &[Line<'_>]) {
    let starts: Vec<usize> = positions.iter().map(|p| p.dates.start).collect();
    // The line holding byte `at` (lines are in text order).
    let line_of = |at: usize| all.partition_point(|l| l.start <= at).saturating_sub(1);
    for (i, position) in positions.iter_mut().enumerate() {
        // Start the block at the line above the dates (the header in most layouts).
        let line = line_of(position.dates.start);
        position.block.0 = if line > 0 { all[line - 1].start } else { all[line].start };
        if let Some(&next) = starts.get(i + 1) {
            let next_line = line_of(next);
            position.block.1 = if next_line > 0 { all[next_line - 1].start } else { next };
        }
    }
}

/// Months covered by at least one position, up to `today`, in years.
fn years(positions: &[Position], today: YearMonth) -> Option<f32> {
    let mut spans: Vec<(i32, i32)> =
        positions.iter().map(|p| (p.start.index(), p.until.unwrap_or(today).min(today).index())).collect();
    if spans.is_empty() {
        return None;
    }
    spans.sort();
    let mut months = 0;
    let (mut from, mut to) = spans[0];
    for &(s, e) in &spans[1..] {
        if s > to {
            months += to - from;
            (from, to) = (s, e);
        } else {
            to = to.max(e);
        }
    }
    months += to - from;
    Some((months as f32 / 12.0 * 10.0).round() / 10.0)
}

/// Years in positions whose text mentions the skill at one of `offsets`.
pub fn skill_years(positions: &[Position], offsets: &[usize], today: YearMonth) -> Option<f32> {
    let using: Vec<Position> =
        positions.iter().filter(|p| offsets.iter().any(|&o| p.block.0 <= o && o < p.block.1)).cloned().collect();
    if using.is_empty() { None } else { years(&using, today) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TODAY: YearMonth = YearMonth { year: 2026, month: 11 };

    #[test]
    fn dates_in_many_formats() {
        for (s, want) in [
            ("Jan 2021", (2021, 1)),
            ("Sept. 2019", (2019, 9)),
            ("09/2020", (2020, 9)),
            ("2020/05", (2020, 5)),
            ("2017-03", (2017, 3)),
            ("2015", (2015, 1)),
        ] {
            assert_eq!(parse_date(s).map(|d| d.0), Some(YearMonth::new(want.0, want.1)), "{s}");
        }
        assert_eq!(parse_date("13/2020"), None);
        assert_eq!(parse_date("present"), None);
    }

    #[test]
    fn markdown_positions_and_union_of_years() {
        let text = "## Experience\n\n### Staff Software Engineer — Northwind Payments, Seattle, WA\n*Jan 2021 – Present*\n\n- Rust\n\n### Software Engineer II — Bluefin Logistics, Portland, OR\n*Mar 2017 – Dec 2020*\n\n## Education\n\n**B.S. Computer Science** — Oregon State University, Corvallis, OR — 2011–2015\n";
        let h = extract(text, TODAY);
        assert_eq!(h.positions.len(), 2, "{h:#?}");
        assert_eq!(h.positions[0].title.as_deref(), Some("Staff Software Engineer"));
        assert_eq!(h.positions[0].company.as_deref(), Some("Northwind Payments"));
        assert_eq!(h.positions[0].end, None);
        assert_eq!(h.positions[1].start, YearMonth::new(2017, 3));
        assert_eq!(h.years_experience, Some(9.7), "Dec 2020 and Jan 2021 are contiguous");
        assert_eq!(h.education.len(), 1);
        assert_eq!(h.education[0].school.as_deref(), Some("Oregon State University"));
        assert_eq!(h.education[0].end_year, Some(2015));
        let rust = text.find("Rust").unwrap();
        assert_eq!(skill_years(&h.positions, &[rust], TODAY), Some(5.8));
    }

    #[test]
    fn plain_headings_of_heading_words() {
        let text = "Experiencia / Experience\nData Engineer, Banco, Madrid - Sep 2019 - Jan 2022\n\nEducación / Education\nGrado en Ingeniería Informática - Universidad de Sevilla, 2013-2017\n";
        let h = extract(text, TODAY);
        assert_eq!(h.positions.len(), 1, "{h:#?}");
        assert!(heading("Data Engineer").is_none());
    }

    #[test]
    fn months_are_yyyy_mm_in_json() {
        let json = serde_json::to_string(&YearMonth::new(2021, 3)).unwrap();
        assert_eq!(json, "\"2021-03\"");
        assert_eq!(serde_json::from_str::<YearMonth>(&json).unwrap(), YearMonth::new(2021, 3));
        assert!(serde_json::from_str::<YearMonth>("\"2021-13\"").is_err());
    }

    #[test]
    fn no_dates_no_experience() {
        assert_eq!(extract("Enthusiastic learner.", TODAY), History::default());
    }
}
