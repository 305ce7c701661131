//! Who the person is: name, email, phone, links and location. Contact details
//! sit at the top of a resume, so only the first lines are searched for the
//! name, phone and location; email and links are patterns that cannot be
//! mistaken and are taken from anywhere.

use crate::text::{Line, lines, plain, segments};
use crate::{Found, Method};
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;

/// Lines searched for the name, phone and location.
const HEADER_LINES: usize = 12;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Contacts {
    pub name: Option<Found<String>>,
    pub email: Option<Found<String>>,
    /// As written.
    pub phone: Option<Found<String>>,
    /// `+` and digits, only when the resume writes the country code.
    pub phone_e164: Option<String>,
    pub links: Links,
    pub location: Option<Found<String>>,
}

/// Links, normalised to `host/path` (no scheme, no `www.`, no trailing `/`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Links {
    pub linkedin: Option<Found<String>>,
    pub github: Option<Found<String>>,
    pub website: Option<Found<String>>,
}

static EMAIL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}").unwrap());
static PHONE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:\+\d{1,3}[ .-]?)?(?:\(\d{2,4}\)[ .-]?)?\d{2,4}(?:[ .-]\d{2,4}){1,4}").unwrap());
static URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:https?://)?(?:www\.)?(?:[a-z0-9-]+\.)+[a-z]{2,}(?:/[A-Za-z0-9._~%/-]*)?").unwrap()
});
/// `2019 - 2021`: a span of years, not a phone number.
static YEAR_RANGE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\d{4}\s*-\s*\d{4}$").unwrap());
/// City, Region[, Country]: capitalised words around commas, no digits.
static PLACE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\p{Lu}[\p{L}.' -]+(?:, ?\p{Lu}[\p{L}.' -]*){1,2}$").unwrap());

pub fn extract(text: &str) -> Contacts {
    let all = lines(text);
    let header: Vec<Line<'_>> = all.iter().copied().filter(|l| !l.text.trim().is_empty()).take(HEADER_LINES).collect();
    let email = EMAIL.find(text).map(|m| found(m.as_str(), m.start(), m.end(), Method::Pattern));
    let phone = header.iter().find_map(|l| phone_in(l));
    let phone_e164 = phone.as_ref().and_then(|p| e164(&p.value));
    Contacts {
        name: name(&header),
        links: links(text, email.as_ref().map(|e| e.value.as_str())),
        location: header.iter().enumerate().find_map(|(n, l)| location_in(l, n == 0)),
        email,
        phone,
        phone_e164,
    }
}

fn found(value: &str, start: usize, end: usize, method: Method) -> Found<String> {
    Found { value: value.to_owned(), start, end, method }
}

/// The name is on the first line, unless lines of contact details (a DOCX
/// page header comes first in the text) precede it.
fn name(header: &[Line<'_>]) -> Option<Found<String>> {
    for line in header.iter().take(3) {
        if let Some(name) = name_in(line) {
            return Some(name);
        }
        let contact_details = EMAIL.is_match(line.text) || PHONE.is_match(line.text) || line.text.contains("://");
        if !contact_details {
            return None;
        }
    }
    None
}

/// The first line's first column, when it reads as a person's name: two to
/// five words of letters. All-capitals names are title-cased.
fn name_in(line: &Line<'_>) -> Option<Found<String>> {
    let (offset, first) = *segments(line.text).first()?;
    let first = first.split([',', '·', '|', '—', '–']).next().unwrap_or(first);
    let cleaned = plain(first);
    let cleaned = cleaned.split('(').next().unwrap_or(&cleaned).trim();
    let words: Vec<&str> = cleaned.split_whitespace().collect();
    let is_name = (2..=5).contains(&words.len())
        && words.iter().all(|w| w.chars().all(|c| c.is_alphabetic() || matches!(c, '\'' | '-' | '.' | '’')))
        && words.iter().all(|w| w.chars().next().is_some_and(char::is_uppercase));
    if !is_name {
        return None;
    }
    let value = if cleaned.chars().filter(|c| c.is_alphabetic()).all(char::is_uppercase) {
        words.iter().map(|w| title_case(w)).collect::<Vec<_>>().join(" ")
    } else {
        words.join(" ")
    };
    let start = line.start + offset + line.text[offset..].find(words[0]).unwrap_or(0);
    let last = words[words.len() - 1];
    let end = line.start + line.text.find(last).map_or(line.text.len(), |i| i + last.len());
    Some(found(&value, start, end, Method::Layout))
}

fn title_case(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars.flat_map(char::to_lowercase)).collect()).unwrap_or_default()
}

/// A phone number: 7 to 15 digits, not part of a date or a year range.
fn phone_in(line: &Line<'_>) -> Option<Found<String>> {
    PHONE.find_iter(line.text).find_map(|m| {
        let digits = m.as_str().chars().filter(char::is_ascii_digit).count();
        let looks_like_dates = m.as_str().contains('/') || YEAR_RANGE.is_match(m.as_str());
        ((7..=15).contains(&digits) && !looks_like_dates)
            .then(|| found(m.as_str().trim(), line.start + m.start(), line.start + m.end(), Method::Pattern))
    })
}

fn e164(phone: &str) -> Option<String> {
    phone.trim_start().starts_with('+').then(|| {
        let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
        format!("+{digits}")
    })
}

fn links(text: &str, email: Option<&str>) -> Links {
    let mut links = Links::default();
    for m in URL.find_iter(text) {
        // Part of an email address, or a bare file name / version number.
        if text[..m.start()].ends_with('@') || email.is_some_and(|e| e.contains(m.as_str())) {
            continue;
        }
        let normal = normalise(m.as_str());
        let host = normal.split('/').next().unwrap_or("");
        if !host.contains('.') || host.chars().next().is_some_and(|c| c.is_ascii_digit()) {
            continue;
        }
        let slot = if host.ends_with("linkedin.com") {
            &mut links.linkedin
        } else if host.ends_with("github.com") {
            &mut links.github
        } else if looks_like_site(host) {
            &mut links.website
        } else {
            continue;
        };
        if slot.is_none() {
            *slot = Some(found(&normal, m.start(), m.end(), Method::Pattern));
        }
    }
    links
}

/// A personal site, not a technology name that happens to contain a dot
/// (`node.js`, `asp.net`).
fn looks_like_site(host: &str) -> bool {
    const TLDS: [&str; 12] = ["com", "org", "net", "io", "dev", "me", "co", "uk", "de", "app", "site", "info"];
    let tld = host.rsplit('.').next().unwrap_or("");
    TLDS.contains(&tld) && !host.ends_with("asp.net") && !host.ends_with(".net") || host.ends_with(".example.com")
}

fn normalise(url: &str) -> String {
    let lower = url.trim_end_matches(['/', '.', ',', ')']);
    let without_scheme = lower.split_once("://").map_or(lower, |(_, rest)| rest);
    without_scheme.strip_prefix("www.").unwrap_or(without_scheme).to_owned()
}

/// "City, Region[, Country]" as a column or a `·`/`|`-separated part of a
/// header line.
fn location_in(line: &Line<'_>, first_line: bool) -> Option<Found<String>> {
    // On the first line, the first part is the name.
    for (offset, segment) in segments(line.text).into_iter().skip(usize::from(first_line && !line.text.contains('|'))) {
        let mut at = 0;
        for (i, part) in segment.split(['·', '|', '—', '–', '/']).enumerate() {
            if first_line && i == 0 && offset == 0 {
                at += part.len() + 1;
                continue;
            }
            let part_start = segment[at..].find(part).map_or(at, |i| at + i);
            at = part_start + part.len();
            let candidate = plain(part.trim());
            let short = candidate.split(',').all(|p| p.split_whitespace().count() <= 3);
            let job = crate::history::has_title_word(&candidate);
            if PLACE.is_match(&candidate) && short && !job && !candidate.contains('@') {
                let start = line.start + offset + part_start + (part.len() - part.trim_start().len());
                return Some(found(&candidate, start, start + part.trim().len(), Method::Layout));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_contact_line_above_the_name() {
        let c = extract("jo@example.com | (512) 555-0187\nJo Ann Smith\nData Scientist\n");
        assert_eq!(c.name.map(|n| n.value).as_deref(), Some("Jo Ann Smith"));
        let c = extract("Experienced engineer and leader\nJo Ann Smith\n");
        assert_eq!(c.name, None, "only contact details are skipped");
    }

    #[test]
    fn a_markdown_header() {
        let text = "# Daniel Okafor\n\nSenior Backend Engineer · Seattle, WA, USA\ndaniel.okafor@example.com · +1 (206) 555-0142\n[linkedin.com/in/daniel-okafor-example](https://www.linkedin.com/in/daniel-okafor-example) · [github.com/dokafor-example](https://github.com/dokafor-example) · [dokafor.example.com](https://dokafor.example.com)\n";
        let c = extract(text);
        assert_eq!(c.name.as_ref().unwrap().value, "Daniel Okafor");
        assert_eq!(&text[c.name.as_ref().unwrap().start..c.name.as_ref().unwrap().end], "Daniel Okafor");
        assert_eq!(c.email.unwrap().value, "daniel.okafor@example.com");
        assert_eq!(c.phone.unwrap().value, "+1 (206) 555-0142");
        assert_eq!(c.phone_e164.as_deref(), Some("+12065550142"));
        assert_eq!(c.links.linkedin.unwrap().value, "linkedin.com/in/daniel-okafor-example");
        assert_eq!(c.links.github.unwrap().value, "github.com/dokafor-example");
        assert_eq!(c.links.website.unwrap().value, "dokafor.example.com");
        assert_eq!(c.location.unwrap().value, "Seattle, WA, USA");
    }

    #[test]
    fn nothing_is_invented() {
        let c = extract("Experienced engineer.\nLikes Rust and Node.js.\n");
        assert_eq!(c, Contacts::default());
    }
}
