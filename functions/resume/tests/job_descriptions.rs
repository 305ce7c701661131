//! How well the job-description rules tell required skills from nice-to-have
//! ones, and read the years asked for, on a corpus of postings in many shapes
//! (tests/fixtures/job_descriptions/corpus.json, issue 16). Each listed skill's
//! first whole-word mention is put on one side by `preferred_ranges`; the
//! figures print with `--nocapture`, and the test fails if one falls below the
//! floor recorded when the corpus was written, so the rules only get better.

mod common;

use ferry_resume::matching::{preferred_ranges, required_years};
use serde_json::Value;

/// Where `skill` is first named as a whole word (any case).
fn mention(text: &str, skill: &str) -> Option<usize> {
    let (lower, skill) = (text.to_lowercase(), skill.to_lowercase());
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric());
    lower
        .match_indices(&skill)
        .map(|(at, _)| at)
        .find(|&at| !word(lower[..at].chars().next_back()) && !word(lower[at + skill.len()..].chars().next()))
}

#[derive(Default, Debug)]
struct Counts {
    /// (true positives, predicted, actual) for "nice to have".
    nice: (u32, u32, u32),
    /// The same for "required".
    required: (u32, u32, u32),
    years_right: u32,
    cases: u32,
}

fn ratio(a: u32, b: u32) -> f64 {
    if b == 0 { 1.0 } else { f64::from(a) / f64::from(b) }
}

/// The five figures of a set of cases: nice-to-have precision and recall,
/// required precision and recall, share of years read right.
fn score(set: &str, cases: &[Value]) -> [f64; 5] {
    let mut counts = Counts::default();
    let mut misses = Vec::new();
    for case in cases {
        let text = case["text"].as_str().unwrap();
        let ranges = preferred_ranges(text);
        for (side, expect_nice) in [("required", false), ("nice", true)] {
            for skill in case[side].as_array().unwrap().iter().map(|s| s.as_str().unwrap()) {
                let at = mention(text, skill).unwrap_or_else(|| panic!("{skill:?} is not in {text:?}"));
                let nice = ranges.iter().any(|&(a, b)| a <= at && at < b);
                let tally = |c: &mut (u32, u32, u32), predicted: bool, actual: bool| {
                    c.0 += u32::from(predicted && actual);
                    c.1 += u32::from(predicted);
                    c.2 += u32::from(actual);
                };
                tally(&mut counts.nice, nice, expect_nice);
                tally(&mut counts.required, !nice, !expect_nice);
                if nice != expect_nice {
                    misses.push(format!("{skill} read as {} in {text:?}", if nice { "nice" } else { "required" }));
                }
            }
        }
        let years = required_years(text);
        let expected = case["years"].as_f64().map(|y| y as f32);
        counts.cases += 1;
        if years == expected {
            counts.years_right += 1;
        } else {
            misses.push(format!("years {years:?}, expected {expected:?} in {text:?}"));
        }
    }
    let figures = [
        ratio(counts.nice.0, counts.nice.1),
        ratio(counts.nice.0, counts.nice.2),
        ratio(counts.required.0, counts.required.1),
        ratio(counts.required.0, counts.required.2),
        ratio(counts.years_right, counts.cases),
    ];
    eprintln!(
        "{set}: {} job descriptions: nice-to-have precision {:.2} recall {:.2}; required precision {:.2} recall {:.2}; years right {:.2}\n{}",
        counts.cases,
        figures[0],
        figures[1],
        figures[2],
        figures[3],
        figures[4],
        misses.join("\n")
    );
    figures
}

fn corpus() -> Value {
    common::corpus("job_descriptions")
}

/// Floors: what the rules score now. Before issue 16's change they scored
/// 0.53 / 0.65 / 0.84 / 0.76 / 0.86 on the cases, and 0.50 / 0.36 / 0.72 /
/// 0.82 / 1.00 on the held-out ones (written after the change, not tuned on).
#[test]
fn required_and_nice_to_have_skills_and_years_across_shapes() {
    let corpus = corpus();
    let cases = corpus["cases"].as_array().unwrap();
    assert!(cases.len() >= 40, "the corpus has {} cases", cases.len());
    common::at_least(score("cases", cases), FLOOR_CASES);
}

#[test]
fn held_out_job_descriptions() {
    let corpus = corpus();
    common::at_least(score("held out", corpus["held_out"].as_array().unwrap()), FLOOR_HELD_OUT);
}

const FLOOR_CASES: [f64; 5] = [1.0, 1.0, 1.0, 1.0, 1.0];
const FLOOR_HELD_OUT: [f64; 5] = [1.0, 0.72, 0.87, 1.0, 1.0];
