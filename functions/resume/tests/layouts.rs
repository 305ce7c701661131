//! How well the employment and education rules read resumes in layouts that
//! broke them (tests/fixtures/resume_layouts/corpus.json, issue 16): open
//! ranges, "present" in other languages, date tables, two-column PDF text,
//! day-precise and numeric dates, non-English headings and month names.
//! The figures print with `--nocapture`; the test fails if one falls below
//! the floor recorded when the rules last changed, so they only get better.

mod common;

use ferry_resume::{YearMonth, history};
use serde_json::Value;

const TODAY: YearMonth = YearMonth { year: 2026, month: 11 };
/// Years of experience within this many of the expected figure count as right.
const YEARS_TOLERANCE: f32 = 0.2;

/// `"YYYY"` as January, like the rules read a bare year.
fn ym(v: &Value) -> Option<String> {
    let s = v.as_str()?;
    Some(if s.len() == 4 { format!("{s}-01") } else { s.to_owned() })
}

#[derive(Default)]
struct Counts {
    /// (start, end) pairs: found and expected, found, expected.
    pairs: (u32, u32, u32),
    titles: u32,
    companies: u32,
    years_right: u32,
    education_right: u32,
    cases: u32,
}

fn ratio(a: u32, b: u32) -> f64 {
    if b == 0 { 1.0 } else { f64::from(a) / f64::from(b) }
}

/// Counts one case into `c`; returns what it got wrong.
fn check(case: &Value, c: &mut Counts) -> Vec<String> {
    let id = case["id"].as_str().unwrap();
    let h = history::extract(case["text"].as_str().unwrap(), TODAY);
    let mut misses = Vec::new();
    let mut found: Vec<_> = h.positions.iter().map(|p| (p.start.to_iso(), p.end.map(|e| e.to_iso()), p)).collect();
    let expected = case["positions"].as_array().unwrap();
    c.pairs.1 += found.len() as u32;
    c.pairs.2 += expected.len() as u32;
    for want in expected {
        let pair = (ym(&want["start"]).unwrap(), ym(&want["end"]));
        let Some(i) = found.iter().position(|f| (&f.0, &f.1) == (&pair.0, &pair.1)) else {
            misses.push(format!("{id}: missed {pair:?}"));
            continue;
        };
        let (.., p) = found.remove(i);
        c.pairs.0 += 1;
        let (title, company) = (want["title"].as_str(), want["company"].as_str());
        c.titles += u32::from(p.title.as_deref() == title);
        c.companies += u32::from(p.company.as_deref() == company);
        if p.title.as_deref() != title || p.company.as_deref() != company {
            misses.push(format!("{id}: {:?} at {:?}, want {title:?} at {company:?}", p.title, p.company));
        }
    }
    misses.extend(found.iter().map(|f| format!("{id}: extra {:?}–{:?} from {:?}", f.0, f.1, f.2.dates.value)));
    let want_years = case["years_experience"].as_f64().unwrap() as f32;
    if h.years_experience.is_some_and(|y| (y - want_years).abs() <= YEARS_TOLERANCE) {
        c.years_right += 1;
    } else {
        misses.push(format!("{id}: {:?} years, want {want_years}", h.years_experience));
    }
    let mut got: Vec<u16> = h.education.iter().filter_map(|e| e.end_year).collect();
    let mut want: Vec<u16> =
        case["education_end_years"].as_array().unwrap().iter().map(|y| y.as_u64().unwrap() as u16).collect();
    got.sort();
    got.dedup();
    want.sort();
    if got == want {
        c.education_right += 1;
    } else {
        misses.push(format!("{id}: education ended {got:?}, want {want:?}"));
    }
    c.cases += 1;
    misses
}

/// The six figures of a set of cases: (start, end) precision and recall,
/// share of years of experience right, share of cases whose education end
/// years are right, and among the positions found, share of titles and of
/// companies read right.
fn score(set: &str, cases: &[Value]) -> [f64; 6] {
    let mut c = Counts::default();
    let misses: Vec<String> = cases.iter().flat_map(|case| check(case, &mut c)).collect();
    let figures = [
        ratio(c.pairs.0, c.pairs.1),
        ratio(c.pairs.0, c.pairs.2),
        ratio(c.years_right, c.cases),
        ratio(c.education_right, c.cases),
        ratio(c.titles, c.pairs.0),
        ratio(c.companies, c.pairs.0),
    ];
    eprintln!(
        "| set | cases | position precision | position recall | years right | education right | titles | companies |\n|---|---:|---:|---:|---:|---:|---:|---:|\n| {set} | {} | {}/{} = {:.2} | {}/{} = {:.2} | {}/{} | {}/{} | {}/{} | {}/{} |\n{}",
        c.cases,
        c.pairs.0,
        c.pairs.1,
        figures[0],
        c.pairs.0,
        c.pairs.2,
        figures[1],
        c.years_right,
        c.cases,
        c.education_right,
        c.cases,
        c.titles,
        c.pairs.0,
        c.companies,
        c.pairs.0,
        misses.iter().map(|m| format!("  miss {m}")).collect::<Vec<_>>().join("\n")
    );
    figures
}

fn corpus() -> Value {
    common::corpus("resume_layouts")
}

#[test]
fn positions_years_and_education_across_layouts() {
    let corpus = corpus();
    let cases = corpus["cases"].as_array().unwrap();
    assert!(cases.len() >= 12, "the corpus has {} cases", cases.len());
    common::at_least(score("cases", cases), FLOOR_CASES);
}

#[test]
fn held_out_layouts() {
    let corpus = corpus();
    common::at_least(score("held out", corpus["held_out"].as_array().unwrap()), FLOOR_HELD_OUT);
}

/// Floors, in the order of [`score`]: what the rules score now. Before issue
/// 16's change they scored 8/16, 8/41, 1/14, 4/14, 6/8, 6/8 on the cases and
/// 3/5, 3/13, 0/5, 1/5, 3/3, 2/3 on the held-out ones (written after the
/// change, not tuned on; what they still miss is listed with `--nocapture`).
const FLOOR_CASES: [f64; 6] = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0];
const FLOOR_HELD_OUT: [f64; 6] = [12.0 / 14.0, 12.0 / 13.0, 2.0 / 5.0, 3.0 / 5.0, 9.0 / 12.0, 9.0 / 12.0];
