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

/// English months by their first letters, as before: "Sept.", "March".
const MONTH: &str = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?";
/// Months in German, French, Spanish, Portuguese, Italian, Dutch, Swedish and
/// Polish (names, genitives and the usual abbreviations), as whole words so
/// that a word that merely starts like one ("Siemens") is not a month.
const FOREIGN_MONTHS: [&[&str]; 12] = [
    &[
        "januar", "jänner", "janvier", "janv", "enero", "ene", "janeiro", "gennaio", "genn", "januari", "styczeń",
        "stycznia", "sty",
    ],
    &[
        "februar",
        "février",
        "févr",
        "fevr",
        "febrero",
        "fevereiro",
        "fev",
        "febbraio",
        "februari",
        "luty",
        "lutego",
        "lut",
    ],
    &["märz", "mär", "maerz", "mars", "marzo", "março", "maart", "mrt", "marzec", "marca"],
    &["avril", "avr", "abril", "abr", "aprile", "kwiecień", "kwietnia", "kwi"],
    &["mai", "mayo", "maio", "maggio", "mei", "maj", "maja"],
    &["juni", "juin", "junio", "junho", "giugno", "czerwiec", "czerwca", "cze"],
    &["juli", "juillet", "juil", "julio", "julho", "luglio", "lipiec", "lipca", "lip"],
    &["août", "aout", "agosto", "ago", "augusti", "augustus", "sierpień", "sierpnia", "sie"],
    &["septembre", "septiembre", "setiembre", "setembro", "settembre", "set", "wrzesień", "września", "wrz"],
    &["oktober", "octobre", "octubre", "outubro", "out", "ottobre", "okt", "październik", "października", "paź"],
    &["novembre", "noviembre", "novembro", "listopad", "listopada", "lis"],
    &["dezember", "dez", "décembre", "déc", "diciembre", "dic", "dezembro", "dicembre", "grudzień", "grudnia", "gru"],
];
/// An ASCII word boundary (see [`RANGE`]).
const B: &str = r"(?-u:\b)";
/// "Present" in the languages above: an open end.
const PRESENT: &str = r"present|current|currently|now|today|ongoing|date|heute|jetzt|dato|aktuell|laufend|présent|aujourd'hui|actualidad|actualmente|presente|hoy|atual|atualmente|heden|nu|nutid|pågående|idag|obecnie|teraz|oggi|attuale|attualmente";
/// Words before a start date that leave the end open ("since 2019", "seit 03/2021").
const SINCE: &str = r"since|seit|depuis|desde|sinds|sedan|siden|od|dal";
/// A date: a month name and year ("März 2019", "jan/2021", "marzo de 2017"),
/// a day-precise European date (01.03.2019), a month and year (03/2019,
/// 03.2019, 2019-03) or a bare year.
static DATE: LazyLock<String> = LazyLock::new(|| {
    let mut foreign: Vec<&str> = FOREIGN_MONTHS.iter().flat_map(|names| names.iter().copied()).collect();
    foreign.sort_by_key(|name| std::cmp::Reverse(name.len()));
    // No word boundary after a name: the separator that must follow it
    // keeps "Siemens 2017" from reading as "sie" (August) 2017.
    let months = format!(r"(?:(?:{})\.?|{MONTH})", foreign.join("|"));
    format!(
        r"(?:{months}(?:\s*[/.,]\s*|\s+)(?:del?\s+)?\d{{4}}|\d{{1,2}}[./]\d{{1,2}}[./]\d{{4}}|\d{{1,2}}[./]\d{{4}}|\d{{4}}[/.-]\d{{1,2}}{B}|\d{{4}})"
    )
});
/// A date range in one of four shapes, tried in this order where two start
/// at the same place:
/// - `table`: start and end in cells of their own ("| 04/2021 | present |",
///   tab-separated; a lone dash as the end is an open end);
/// - `from`…`to`: two dates, or a date and "present", joined by a dash, an
///   arrow or a word ("to", "bis", "à", "a", "tot", "até", …);
/// - `since`: "since 2019" and its translations;
/// - `open`: a date and a dash with nothing after it ("2019–").
///
/// The last two only count where the field ends (end of line, a bracket, a
/// column break), so "mentoring since 2022." in a sentence is not a job.
/// One pass of one automaton over the line: no backtracking, linear time.
/// Word boundaries are ASCII ones, which the regex crate's DFA handles; a
/// Unicode one sends every line with a non-ASCII byte (an en dash) to its
/// slower engine (a release build read 200 kB of "2019 – " in 450 ms
/// with Unicode boundaries, 96 ms with these; 57 ms before issue 16).
static RANGE: LazyLock<Regex> = LazyLock::new(|| {
    let date = &*DATE;
    let dash = r"[–—−-]";
    let cell_end = r"\s*(?:$|[|\t)]|\s\s)";
    let table = format!(r"(?:^|[|\t])\s*(?P<tfrom>{date})\s*[|\t]\s*(?P<tto>{date}|{PRESENT}|{dash})\s*(?:[|\t]|$)");
    let pair = format!(
        r"{B}(?P<from>{date})(?:\s*(?:{dash}|→|~|to|until)\s*|\s+(?:till|til|bis|à|a|au|al|hasta|tot|do|até|ate)\s+)(?P<to>{date}|{PRESENT}){B}"
    );
    let since = format!(r"{B}(?:{SINCE})\s+(?P<since>{date}){cell_end}");
    let open = format!(r"{B}(?P<open>{date})\s*{dash}{cell_end}");
    Regex::new(&format!(r"(?i){table}|{pair}|{since}|{open}")).unwrap()
});
static DATE_PARTS: LazyLock<Regex> = LazyLock::new(|| {
    // Only ever given what DATE matched, so any word can stand for the month
    // name here: `month_number` says which month it is.
    Regex::new(r"(?i)^(?:(?P<mname>\p{L}+)\.?(?:\s*[/.,]\s*|\s+)(?:del?\s+)?(?P<y1>\d{4})|(?P<d5>\d{1,2})[./](?P<m5>\d{1,2})[./](?P<y5>\d{4})|(?P<m2>\d{1,2})[./](?P<y2>\d{4})|(?P<y3>\d{4})[/.-](?P<m3>\d{1,2})|(?P<y4>\d{4}))$")
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
    let mut sections = Sections::default();
    for (n, line) in all.iter().enumerate() {
        sections.read(line.text);
        for (lo, hi, section) in sections.columns(line.text) {
            let column = Line { text: &line.text[lo..hi], start: line.start + lo };
            if history.education.len() < MAX_EDUCATION
                && let Some(education) = education_in(&column, section)
            {
                history.education.push(education);
            }
            positions_in(&mut history, &all, n, (lo, hi), section, (today, text.len()));
        }
    }
    history.unread_positions += seasons(&mut history.positions, &all, text, today);
    history.positions.sort_by_key(|p| p.dates.start);
    close_blocks(&mut history.positions, &all);
    history.years_experience = years(&history.positions, today);
    history
}

/// A date range as read from a line.
struct DateRange {
    start: YearMonth,
    /// The end and whether it names a month; `None`: present.
    end: Option<(YearMonth, bool)>,
    /// Byte range of the dates in the text searched.
    span: (usize, usize),
    /// Left open by "since" or a trailing dash.
    open: bool,
    /// From a table row, whose other cells are the header.
    table: bool,
}

/// The date ranges in `text`, in text order.
fn ranges(text: &str) -> impl Iterator<Item = DateRange> + '_ {
    RANGE.captures_iter(text).filter_map(|m| {
        let whole = m.get(0)?;
        let (from, to, open, table) = if let Some(from) = m.name("tfrom") {
            (from, m.name("tto"), false, true)
        } else if let Some(from) = m.name("from") {
            (from, m.name("to"), false, false)
        } else {
            (m.name("since").or_else(|| m.name("open"))?, None, true, false)
        };
        // "since 2019" is dated from the word on; a trailing dash stays out.
        let first = if m.name("since").is_some() { whole.start() } else { from.start() };
        Some(DateRange {
            start: parse_date(from.as_str())?.0,
            end: to.and_then(|t| parse_date(t.as_str())),
            span: (first, to.map_or(from.end(), |t| t.end())),
            open,
            table,
        })
    })
}

/// Positions dated on line `n` between bytes `lo..hi` (its column, in a
/// two-column layout); the last argument is today and the length of the whole text.
fn positions_in(
    history: &mut History,
    all: &[Line<'_>],
    n: usize,
    (lo, hi): (usize, usize),
    section: Section,
    (today, text_len): (YearMonth, usize),
) {
    let line = all[n];
    let text = &line.text[lo..hi];
    if section == Section::Education || DEGREE.is_match(text) {
        return;
    }
    let bullet = text.trim_start().starts_with(['-', '•', '*', '·', '–']);
    for range in ranges(text) {
        let until = range.end.map(|(e, has_month)| if has_month { e.next() } else { e });
        let end = range.end.map(|(e, _)| e);
        if end.is_some_and(|e| e < range.start) || range.start > today {
            continue;
        }
        // "Since 2019" or "2019–" is a job where jobs are listed, not in a
        // bullet or under a heading that is neither jobs nor unknown
        // ("Member of IEEE since 2015" under MEMBERSHIPS).
        if range.open && (bullet || section == Section::Other) {
            continue;
        }
        if history.positions.len() == MAX_POSITIONS {
            history.unread_positions += 1;
            continue;
        }
        let (from, to) = (lo + range.span.0, lo + range.span.1);
        // A column of a two-column layout bounds the header on this line and
        // the one above; a single column or a table row does not.
        let whole_line = range.table || (lo, hi) == (0, line.text.len());
        let bounds = if whole_line { (0, usize::MAX) } else { (lo, hi) };
        let (title, company) = header(all, n, from, bounds, range.table);
        let dates = Found {
            value: line.text[from..to].to_owned(),
            start: line.start + from,
            end: line.start + to,
            method: Method::Pattern,
        };
        let block = (line.start, text_len);
        history.positions.push(Position { title, company, start: range.start, end, until, dates, block });
    }
}

/// Positions dated by a season ("Summer 2024") in the experience section, up
/// to [`MAX_POSITIONS`] in all; returns how many more there were.
fn seasons(positions: &mut Vec<Position>, all: &[Line<'_>], text: &str, today: YearMonth) -> usize {
    let mut unread = 0;
    let mut sections = Sections::default();
    for (n, line) in all.iter().enumerate() {
        sections.read(line.text);
        if DEGREE.is_match(line.text) || RANGE.is_match(line.text) {
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
            if sections.section_at(whole.start()) == Section::Education || start > today || !has_title_word(line.text) {
                continue;
            }
            if positions.len() == MAX_POSITIONS {
                unread += 1;
                continue;
            }
            let (title, company) = header(all, n, whole.start(), (0, usize::MAX), false);
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

/// Most columns a layout is read in.
const MAX_COLUMNS: usize = 4;
/// Bytes a column's text may start left of its heading.
const COLUMN_SLACK: usize = 4;

/// The section each column of the page is in. A page is one column until a
/// line holds two headings side by side, one of them for jobs or schooling
/// ("PROFILE      EXPERIENCE", as a two-column PDF comes out in text); from
/// then on a heading changes only the column it stands over, so the left
/// column's EDUCATION does not make schools of the right column's jobs.
#[derive(Default)]
struct Sections {
    /// Where each column starts in a line, and the section it is in.
    columns: Vec<(usize, Section)>,
}

impl Sections {
    fn read(&mut self, line: &str) {
        let found = headings(line);
        let side_by_side =
            found.len() >= 2 && found.iter().any(|h| matches!(h.1, Section::Experience | Section::Education));
        if side_by_side {
            self.columns = found;
            self.columns.truncate(MAX_COLUMNS);
        } else if let Some(&(at, section)) = found.last() {
            if self.columns.len() < 2 {
                self.columns = vec![(0, section)];
            } else {
                let i = self.index(at);
                self.columns[i].1 = section;
            }
        }
    }

    fn index(&self, at: usize) -> usize {
        self.columns.iter().rposition(|&(start, _)| start <= at + COLUMN_SLACK).unwrap_or(0)
    }

    fn section_at(&self, at: usize) -> Section {
        self.columns.get(self.index(at)).map_or(Section::Unknown, |c| c.1)
    }

    /// `line` cut into its columns: byte range and section of each. One
    /// column is the whole line; else each segment belongs to the column it
    /// starts in.
    fn columns(&self, line: &str) -> Vec<(usize, usize, Section)> {
        if self.columns.len() < 2 {
            return vec![(0, line.len(), self.section_at(0))];
        }
        let mut out: Vec<(usize, usize, Section)> = Vec::new();
        let mut last = None;
        for (at, segment) in segments(line) {
            let i = self.index(at);
            match out.last_mut() {
                Some(column) if last == Some(i) => column.1 = at + segment.len(),
                _ => out.push((at, at + segment.len(), self.columns[i].1)),
            }
            last = Some(i);
        }
        out
    }
}

/// Words in a heading that mean jobs, and schooling, in the languages read.
const EXPERIENCE_WORDS: [&str; 14] = [
    "experience",
    "employment",
    "work history",
    "career",
    "professional",
    "erfahrung",
    "expérience",
    "experiencia",
    "experiência",
    "esperienz",
    "werkervaring",
    "erfarenhet",
    "doświadczenie",
    "berufliche",
];
const EDUCATION_WORDS: [&str; 16] = [
    "education",
    "qualification",
    "studies",
    "ausbildung",
    "bildung",
    "studium",
    "formation",
    "formación",
    "formação",
    "educación",
    "educação",
    "istruzione",
    "formazione",
    "opleiding",
    "utbildning",
    "wykształcenie",
];

/// The last section heading on a line, if any.
fn heading(line: &str) -> Option<Section> {
    headings(line).last().map(|h| h.1)
}

/// Section headings on a line, each with its offset: a Markdown heading, a
/// short all-capitals line (or column, in a two-column layout), or a line of
/// nothing but heading words ("Educación / Education": PDFs and DOCX lose
/// the Markdown marks).
fn headings(line: &str) -> Vec<(usize, Section)> {
    let markdown = line.trim_start().starts_with('#');
    let mut found = Vec::new();
    for (at, segment) in segments(line) {
        let words = plain(segment);
        let letters: Vec<char> = words.chars().filter(|c| c.is_alphabetic()).collect();
        let caps = !letters.is_empty() && letters.iter().all(|c| c.is_uppercase());
        let marked = markdown || caps || words.ends_with(':') || only_heading_words(&words);
        if !marked || words.split_whitespace().count() > 4 {
            continue;
        }
        let lower = words.to_lowercase();
        let section = if EXPERIENCE_WORDS.iter().any(|k| lower.contains(k)) {
            Section::Experience
        } else if EDUCATION_WORDS.iter().any(|k| lower.contains(k)) {
            Section::Education
        } else if markdown && line.trim_start().starts_with("###") {
            // A sub-heading (a job title) does not end a section.
            continue;
        } else {
            Section::Other
        };
        found.push((at, section));
    }
    found
}

/// Words section headings are made of, in English, German, French, Spanish,
/// Portuguese, Italian, Dutch, Swedish and Polish.
const HEADING_WORDS: &[&str] = &[
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
    "laboral",
    "profesional",
    "berufserfahrung",
    "ausbildung",
    "kenntnisse",
    "sprachkenntnisse",
    "expérience",
    "professionnelle",
    "formation",
    "compétences",
    "langues",
    "experiência",
    "profissional",
    "formação",
    "acadêmica",
    "académica",
    "competências",
    "esperienza",
    "esperienze",
    "professionale",
    "lavorative",
    "istruzione",
    "formazione",
    "competenze",
    "werkervaring",
    "opleiding",
    "opleidingen",
    "vaardigheden",
    "arbetslivserfarenhet",
    "utbildning",
    "kompetenser",
    "doświadczenie",
    "zawodowe",
    "wykształcenie",
    "umiejętności",
    "und",
    "et",
    "y",
    "e",
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

/// A date and whether it names a month. Of two numbers before the year the
/// second is the month (European 01.03.2019), unless it cannot be.
fn parse_date(s: &str) -> Option<(YearMonth, bool)> {
    let c = DATE_PARTS.captures(s.trim())?;
    let number = |name: &str| c.name(name).and_then(|n| n.as_str().parse::<u16>().ok());
    let month = |m: Option<u16>| m.filter(|m| (1..=12).contains(m)).map(|m| m as u8);
    let (year, month) = if let Some(name) = c.name("mname") {
        (number("y1")?, month_number(name.as_str())?)
    } else if c.name("y5").is_some() {
        let (first, second) = (number("d5"), number("m5"));
        (number("y5")?, month(second).or(month(first))?)
    } else if c.name("y2").is_some() {
        (number("y2")?, month(number("m2"))?)
    } else if c.name("y3").is_some() {
        (number("y3")?, month(number("m3"))?)
    } else {
        let date = YearMonth::new(number("y4")?, 1);
        return (1950..=2100).contains(&date.year).then_some((date, false));
    };
    (1950..=2100).contains(&year).then_some((YearMonth::new(year, month), true))
}

fn month_number(name: &str) -> Option<u8> {
    const NAMES: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
    let lower = name.trim_end_matches('.').to_lowercase();
    let foreign = FOREIGN_MONTHS.iter().position(|names| names.contains(&lower.as_str()));
    let english = || NAMES.iter().position(|m| lower.starts_with(m));
    foreign.or_else(english).map(|i| i as u8 + 1)
}

/// Title and company of the position whose dates are at byte `from` of line
/// `n`: the rest of the date's column (in a two-column layout, the text
/// between `bounds` and after the last `|` before it; in a table row, the
/// whole row), and the line above when that names the title or holds the
/// whole header.
fn header(
    all: &[Line<'_>],
    n: usize,
    from: usize,
    bounds: (usize, usize),
    row: bool,
) -> (Option<String>, Option<String>) {
    let of = |line: &str, row: bool| parts(&without_dates(column(line, from, bounds, row)));
    let near = |i: usize| all.get(i).map(|l| l.text).filter(|l| is_header_line(l));
    let mut rest = of(all[n].text, row);
    if rest.is_empty() && all[n].text.contains('|') {
        // "Title | Company | 2019 – 2021": the dates have a cell of their own.
        rest = of(all[n].text, true);
    }
    let blank_above = n == 0 || all[n - 1].text.trim().is_empty();
    if rest.is_empty()
        && blank_above
        && let Some(below) = near(n + 1)
    {
        // Dates over their header ("03.2019 – obecnie" / "Title, Company").
        rest = of(below, false);
    }
    let above = (0..n)
        .rev()
        .take(2)
        .map(|i| all[i].text)
        .find(|l| !l.trim().is_empty() && heading(l).is_none() && !RANGE.is_match(l))
        .map(|l| of(l, false))
        .unwrap_or_default();
    let titled = |p: &[String]| p.iter().position(|s| has_title_word(s));
    // Title, company and dates on three lines.
    let upper = (!blank_above && n >= 2).then(|| near(n - 2)).flatten().map(|l| of(l, false));
    match (titled(&rest), titled(&above), upper.as_deref().and_then(titled)) {
        (Some(t), ..) => title_and_company(&rest, t),
        (None, Some(t), _) if !rest.is_empty() => (Some(above[t].clone()), rest.first().map(|c| company(c))),
        (None, Some(t), _) => title_and_company(&above, t),
        (None, None, _) if rest.len() >= 2 => (Some(rest[0].clone()), Some(company(&rest[1]))),
        (None, None, Some(t)) if rest.is_empty() => (upper.map(|u| u[t].clone()), above.first().map(|c| company(c))),
        (None, None, _) if above.len() >= 2 && rest.is_empty() => (Some(above[0].clone()), Some(company(&above[1]))),
        (None, None, _) if rest.len() == 1 && blank_above => {
            title_over_company(&rest[0], near(n + 1).map(|l| of(l, false)))
        }
        _ => (None, rest.first().map(|c| company(c))),
    }
}

/// A lone part beside the dates and the line below: the title is whichever
/// names one, else the part beside the dates (Europass: "01/09/2019 – ATTUALE
/// Sviluppatrice software" over "Lagunare S.p.A., Venezia").
fn title_over_company(beside: &str, below: Option<Vec<String>>) -> (Option<String>, Option<String>) {
    match below.as_deref().and_then(<[String]>::first) {
        Some(b) if has_title_word(b) && !has_title_word(beside) => (Some(b.clone()), Some(company(beside))),
        Some(b) => (Some(beside.to_owned()), Some(company(b))),
        None => (None, Some(company(beside))),
    }
}

/// A line that can hold a job's header: not blank, a heading, a bullet or dated.
fn is_header_line(line: &str) -> bool {
    let trimmed = line.trim_start();
    !trimmed.is_empty()
        && !trimmed.starts_with(['-', '•', '*', '·'])
        && heading(line).is_none()
        && !RANGE.is_match(line)
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

/// The column of `line` that holds byte `at`: text between `lo..hi` and
/// after the last `|` before it (all of `lo..hi` for a table `row`), within
/// [`HEADER_WINDOW`] bytes of `at`.
fn column(line: &str, at: usize, (lo, hi): (usize, usize), row: bool) -> &str {
    let (lo, hi) = (lo.min(line.len()), hi.min(line.len()));
    let at = line.floor_char_boundary(at.clamp(lo, hi));
    let floor = line.ceil_char_boundary(at.saturating_sub(HEADER_WINDOW).max(lo)).min(at);
    let ceiling = line.floor_char_boundary((at + HEADER_WINDOW).min(hi)).max(at);
    if row {
        return &line[floor..ceiling];
    }
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
    let s = SEASON.replace_all(&s, " ");
    // "Acme (Sep 2017 - Dec 2020)" leaves "( )" behind.
    EMPTY_BRACKETS.replace_all(&s, " ").into_owned()
}

static EMPTY_BRACKETS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\(\s*\)|\[\s*\]").unwrap());

/// Words that stand before a start date ("De février 2016 à août 2018") and
/// are left over once the dates are taken out.
const FROM_WORDS: [&str; 10] = ["from", "de", "du", "von", "vom", "desde", "od", "van", "från", "dal"];

/// A header split on its separators, decoration and filler words removed.
fn parts(s: &str) -> Vec<String> {
    let plain = plain(s);
    let mut out = Vec::new();
    for piece in
        plain.split([',', '—', '–', '|', '·', '@', '\t']).flat_map(|p| p.split(" - ")).flat_map(|p| p.split(" at "))
    {
        let piece = piece.trim_matches(|c: char| c.is_whitespace() || matches!(c, '-' | '*' | ':'));
        let piece = balanced(piece.trim());
        if !piece.is_empty()
            && !matches!(piece.to_lowercase().as_str(), "and" | "&" | "remote")
            && !FROM_WORDS.contains(&piece.to_lowercase().as_str())
        {
            out.push(clipped(piece, MAX_FIELD_CHARS));
        }
    }
    out
}

pub(crate) fn has_title_word(s: &str) -> bool {
    let lower = s.to_lowercase();
    lower.split(|c: char| !c.is_alphanumeric()).any(|w| TITLE_WORDS.contains(&w))
}

/// Education from a line naming a degree, or under an education heading,
/// from a line with a year (a school or degree without a degree word we
/// know: "Grado en …", "Laurea …", "Politechnika …, 2011 – 2016").
fn education_in(line: &Line<'_>, section: Section) -> Option<Education> {
    let text = plain(line.text);
    let schooling = DEGREE.is_match(&text) || (section == Section::Education && YEAR.is_match(&text));
    if !schooling {
        return None;
    }
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
            ("März 2019", (2019, 3)),
            ("janv. 2022", (2022, 1)),
            ("marzo de 2017", (2017, 3)),
            ("jan/2021", (2021, 1)),
            ("październik 2016", (2016, 10)),
            ("03.2019", (2019, 3)),
            ("01/09/2019", (2019, 9)),
            ("09/25/2019", (2019, 9)),
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
    fn open_ranges_and_other_words_for_present() {
        let text = "EXPERIENCE\nLead, Acme (since 2021)\nEngineer, Beta, 2017–\nDev, Gamma, maj 2015 – nu\n- mentoring since 2019\nAnalyst, Delta, 2012 bis heute\n";
        let h = extract(text, TODAY);
        let starts: Vec<_> = h.positions.iter().map(|p| (p.start.year, p.end)).collect();
        assert_eq!(starts, [(2021, None), (2017, None), (2015, None), (2012, None)], "{h:#?}");
        assert_eq!(h.positions[0].company.as_deref(), Some("Acme"));
        let prose = extract("SUMMARY\nBuilding web apps since 2018.\nMember of IEEE since 2015\n", TODAY);
        assert!(prose.positions.is_empty(), "{prose:#?}");
    }

    #[test]
    fn table_cells_and_two_columns() {
        let table = "| From | To | Employer | Position |\n|---|---|---|---|\n| 04/2021 | present | Kaveri | Platform Engineer |\n";
        let h = extract(table, TODAY);
        assert_eq!(h.positions.len(), 1, "{h:#?}");
        assert_eq!(
            (h.positions[0].title.as_deref(), h.positions[0].company.as_deref()),
            (Some("Platform Engineer"), Some("Kaveri"))
        );
        assert_eq!(h.positions[0].dates.value, "04/2021 | present");
        let columns =
            "PROFILE          EXPERIENCE\nEDUCATION\nHAW Hamburg, 2014   Designer, Alster Bank   2017 – 2021\n";
        let h = extract(columns, TODAY);
        assert_eq!(h.positions.len(), 1, "the left column's heading leaves the right column's jobs: {h:#?}");
        assert_eq!(h.education.iter().map(|e| e.end_year).collect::<Vec<_>>(), [Some(2014)]);
    }

    #[test]
    fn hostile_text_stays_cheap() {
        // The crate reads up to 200,000 bytes of untrusted text.
        for unit in ["2019 – ", "since 2019 ", "| 2019 | 2020 ", "März 2019 bis ", "01.01.2019 ", "2019\t"] {
            let text = unit.repeat(200_000 / unit.len());
            let started = std::time::Instant::now();
            let h = extract(&text, TODAY);
            assert!(h.positions.len() <= MAX_POSITIONS);
            assert!(started.elapsed().as_secs() < 10, "{unit:?}: {:?}", started.elapsed());
        }
    }

    #[test]
    fn no_dates_no_experience() {
        assert_eq!(extract("Enthusiastic learner.", TODAY), History::default());
    }
}
