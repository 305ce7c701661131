//! The match score: how well a resume covers a job description.
//!
//! score = 100 × (0.60 × coverage + 0.25 × similarity + 0.15 × experience), rounded:
//! - **coverage**: each skill the job description names earns 1 when the
//!   resume has it (the same skill, or the same letters and digits: `node.js`
//!   = `nodejs`), 0.75 when the resume has a skill whose embedding is at least
//!   [`NEAR_SIMILARITY`] close (`postgres` ≈ `postgresql`), 0 when missing;
//!   coverage is the weighted mean, a required skill weighing 1 and a
//!   nice-to-have one (named only under a "nice to have", "bonus" or
//!   "preferred" heading, see [`preferred_ranges`]) [`PREFERRED_WEIGHT`].
//!   Each skill's points are listed.
//! - **similarity**: cosine similarity of the two documents' embeddings,
//!   mapped linearly from [0.15, 0.75] to [0, 1].
//! - **experience**: years of experience over the years the description asks
//!   for, at most 1; 1 when it asks for none; 0.5 when the resume's years
//!   cannot be read (unknown is not zero, and not full marks either).
//!
//! The same input always gives the same score.

use serde::{Deserialize, Serialize};
use std::sync::LazyLock;

pub const WEIGHT_COVERAGE: f32 = 0.60;
pub const WEIGHT_SIMILARITY: f32 = 0.25;
pub const WEIGHT_EXPERIENCE: f32 = 0.15;
/// Skill-name embeddings at least this close count as a near match.
pub const NEAR_SIMILARITY: f32 = 0.80;
/// Credit of a near match.
pub const NEAR_CREDIT: f32 = 0.75;
/// Weight of a nice-to-have skill against a required one.
pub const PREFERRED_WEIGHT: f32 = 0.5;

/// A skill the resume shows, where.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkillEvidence {
    pub skill: String,
    pub start: usize,
    pub end: usize,
    /// The words around it.
    pub snippet: String,
}

pub struct MatchInput<'a> {
    /// Skills the job description asks for.
    pub required: &'a [String],
    /// Skills it names as nice to have (none of them also in `required`).
    pub preferred: &'a [String],
    /// Skills found in the resume, one entry per skill (first evidence).
    pub resume: &'a [SkillEvidence],
    /// Cosine similarity of two skill names' embeddings.
    pub skill_similarity: &'a dyn Fn(&str, &str) -> f32,
    /// Cosine similarity of the resume's and the description's embeddings.
    pub document_similarity: f32,
    pub years: Option<f32>,
    pub required_years: Option<f32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkillStatus {
    Matched,
    Near,
    Missing,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkillContribution {
    pub skill: String,
    /// Whether the job requires it (or only names it as nice to have).
    pub required: bool,
    pub status: SkillStatus,
    /// The resume's skill that matched (itself, or the near one).
    pub matched_by: Option<String>,
    pub similarity: Option<f32>,
    pub evidence: Option<SkillEvidence>,
    /// Points of the 100 this skill contributes.
    pub points: f32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobMatch {
    /// 0–100.
    pub score: u8,
    pub coverage: f32,
    pub similarity: f32,
    pub experience: f32,
    pub skills: Vec<SkillContribution>,
    pub explanation: String,
}

pub fn score(input: &MatchInput<'_>) -> JobMatch {
    let weights = input.required.len() as f32 + PREFERRED_WEIGHT * input.preferred.len() as f32;
    let per_weight = if weights == 0.0 { 0.0 } else { 100.0 * WEIGHT_COVERAGE / weights };
    let skills: Vec<SkillContribution> = (input.required.iter().map(|r| (r, true)))
        .chain(input.preferred.iter().map(|p| (p, false)))
        .map(|(skill, required)| {
            let weight = if required { 1.0 } else { PREFERRED_WEIGHT };
            contribution(skill, required, input, per_weight * weight)
        })
        .collect();
    // Nothing asked for: coverage cannot distinguish candidates.
    let coverage =
        if weights == 0.0 { 0.0 } else { skills.iter().map(|s| s.points).sum::<f32>() / (100.0 * WEIGHT_COVERAGE) };
    let similarity = ((input.document_similarity - 0.15) / 0.60).clamp(0.0, 1.0);
    let experience = match (input.years, input.required_years) {
        (_, None) => 1.0,
        (Some(years), Some(required)) if required > 0.0 => (years / required).min(1.0),
        (Some(_), Some(_)) => 1.0,
        (None, Some(_)) => 0.5,
    };
    let total = WEIGHT_COVERAGE * coverage + WEIGHT_SIMILARITY * similarity + WEIGHT_EXPERIENCE * experience;
    let score = (100.0 * total).round().clamp(0.0, 100.0) as u8;
    let explanation = explain(&skills, input, score, similarity);
    JobMatch {
        score,
        coverage: round3(coverage),
        similarity: round3(similarity),
        experience: round3(experience),
        skills,
        explanation,
    }
}

fn contribution(skill: &str, required: bool, input: &MatchInput<'_>, per_skill: f32) -> SkillContribution {
    let key = letters(skill);
    if let Some(exact) = input.resume.iter().find(|e| e.skill == skill || letters(&e.skill) == key) {
        return SkillContribution {
            skill: skill.to_owned(),
            required,
            status: SkillStatus::Matched,
            matched_by: Some(exact.skill.clone()),
            similarity: Some(1.0),
            evidence: Some(exact.clone()),
            points: round3(per_skill),
        };
    }
    let best = input
        .resume
        .iter()
        .map(|e| (e, (input.skill_similarity)(skill, &e.skill)))
        .max_by(|a, b| a.1.total_cmp(&b.1).then_with(|| b.0.skill.cmp(&a.0.skill)));
    match best {
        Some((near, sim)) if sim >= NEAR_SIMILARITY => SkillContribution {
            skill: skill.to_owned(),
            required,
            status: SkillStatus::Near,
            matched_by: Some(near.skill.clone()),
            similarity: Some(round3(sim)),
            evidence: Some(near.clone()),
            points: round3(per_skill * NEAR_CREDIT),
        },
        _ => SkillContribution {
            skill: skill.to_owned(),
            required,
            status: SkillStatus::Missing,
            matched_by: None,
            similarity: None,
            evidence: None,
            points: 0.0,
        },
    }
}

/// The facts behind the score, in one paragraph.
fn explain(skills: &[SkillContribution], input: &MatchInput<'_>, score: u8, similarity: f32) -> String {
    let mut parts = Vec::new();
    if skills.is_empty() {
        parts.push("The job description names no skills from the gazetteer, so skills do not count.".to_owned());
    }
    for (required, kind) in [(true, "required"), (false, "nice-to-have")] {
        let group: Vec<&SkillContribution> = skills.iter().filter(|s| s.required == required).collect();
        if !group.is_empty() {
            parts.push(explain_group(&group, kind));
        }
    }
    parts.push(match (input.years, input.required_years) {
        (Some(y), Some(r)) => format!("{y:.1} years of experience against {r:.0} asked for."),
        (Some(y), None) => format!("{y:.1} years of experience; the job states no minimum."),
        (None, Some(r)) => format!("The resume's years of experience could not be read ({r:.0} asked for)."),
        (None, None) => "Neither side states years of experience.".to_owned(),
    });
    parts.push(format!("Overall the texts are {} similar; score {score}/100.", describe_similarity(similarity)));
    parts.join(" ")
}

/// "The resume shows 2 of the 3 required skills: rust, go; 1 more is close: …; missing: kafka."
fn explain_group(group: &[&SkillContribution], kind: &str) -> String {
    let names = |status: SkillStatus| -> Vec<String> {
        group
            .iter()
            .filter(|s| s.status == status)
            .map(|s| match (status, &s.matched_by) {
                (SkillStatus::Near, Some(by)) => format!("{} (as {by})", s.skill),
                _ => s.skill.clone(),
            })
            .collect()
    };
    let (matched, near, missing) = (names(SkillStatus::Matched), names(SkillStatus::Near), names(SkillStatus::Missing));
    let mut sentence =
        format!("The resume shows {} of the {} {kind} skills{}", matched.len(), group.len(), list(&matched, ": "));
    if !near.is_empty() {
        let verb = if near.len() == 1 { "is" } else { "are" };
        sentence.push_str(&format!("; {} more {verb} close{}", near.len(), list(&near, ": ")));
    }
    if !missing.is_empty() {
        sentence.push_str(&format!("; missing{}", list(&missing, ": ")));
    }
    sentence + "."
}

fn list(items: &[String], lead: &str) -> String {
    if items.is_empty() { String::new() } else { format!("{lead}{}", items.join(", ")) }
}

fn describe_similarity(similarity: f32) -> &'static str {
    match similarity {
        s if s >= 0.66 => "closely",
        s if s >= 0.33 => "moderately",
        _ => "loosely",
    }
}

fn letters(s: &str) -> String {
    s.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

fn round3(x: f32) -> f32 {
    (x * 1000.0).round() / 1000.0
}

static YEARS: LazyLock<regex::Regex> = LazyLock::new(|| {
    // "5+ years", "3 or more years", "5-7 years" (the low end), "7 yrs", and
    // a number in words when "of" follows ("five years of Java"; "Seven
    // years" alone is more often a company's age than a requirement).
    regex::Regex::new(
        r"(?i)\b(?:(\d{1,2})(?:\s*[-–]\s*\d{1,2})?\s*\+?\s*(?:or more\s+)?(?:years|yrs)\b|(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen)\s+(?:\+\s*)?(?:or more\s+)?years?\s+of\b)",
    )
    .expect("a valid pattern")
});

const NUMBER_WORDS: [(&str, f32); 13] = [
    ("one", 1.0),
    ("two", 2.0),
    ("three", 3.0),
    ("four", 4.0),
    ("five", 5.0),
    ("six", 6.0),
    ("seven", 7.0),
    ("eight", 8.0),
    ("nine", 9.0),
    ("ten", 10.0),
    ("eleven", 11.0),
    ("twelve", 12.0),
    ("fifteen", 15.0),
];

/// The least years of experience a job description asks for ("5+ years",
/// "at least five years of", "5–7 years"); "25 years ago" is not asked for.
pub fn required_years(description: &str) -> Option<f32> {
    YEARS
        .captures_iter(description)
        .filter(|c| !description[c.get(0).map_or(0, |m| m.end())..].trim_start().to_lowercase().starts_with("ago"))
        .filter_map(|c| match (c.get(1), c.get(2)) {
            (Some(digits), _) => digits.as_str().parse::<f32>().ok(),
            (None, Some(word)) => {
                let word = word.as_str().to_lowercase();
                NUMBER_WORDS.iter().find(|(w, _)| *w == word).map(|&(_, n)| n)
            }
            _ => None,
        })
        .filter(|y| *y <= 30.0)
        .reduce(f32::min)
}

/// Byte ranges of a job description that name only nice-to-have things:
/// - a section under a heading that says so ("Nice to have", "Bonus points",
///   "Preferred qualifications") up to the next heading;
/// - what follows an inline label that says so ("… Nice to have: Airflow."),
///   up to the next label on the line ("Required: Rust. Nice to have: Java.");
/// - a clause (up to `.`, `;` or the line's end) that says "… is a plus",
///   "would be a bonus", "… preferred", "Ideally …" or "(nice to have)" outside
///   parentheses ("Rust or Go (both is a plus)" still requires one of them).
pub fn preferred_ranges(description: &str) -> Vec<(usize, usize)> {
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    let mut in_section = false;
    for line in crate::text::lines(description) {
        let lower = line.text.to_lowercase();
        if is_heading(line.text) {
            in_section = says_preferred(&lower);
            if in_section {
                push(&mut ranges, line.start, line.start + line.text.len());
            }
            continue;
        }
        for (from, to, label) in labelled_segments(&lower) {
            let preferred = match label {
                Some(label) => says_preferred(label),
                None => in_section,
            };
            if preferred {
                push(&mut ranges, line.start + from, line.start + to);
                continue;
            }
            for (a, b) in clauses(&lower[from..to]) {
                if clause_says_preferred(&lower[from + a..from + b]) {
                    push(&mut ranges, line.start + from + a, line.start + from + b);
                }
            }
        }
    }
    ranges
}

/// Adds `[a, b)`, joined to the last range when they touch.
fn push(ranges: &mut Vec<(usize, usize)>, a: usize, b: usize) {
    match ranges.last_mut() {
        Some(last) if last.1 + 1 >= a => last.1 = last.1.max(b),
        _ => ranges.push((a, b)),
    }
}

/// Words that make a heading or an inline label mean "nice to have".
const PREFERRED_WORDS: [&str; 11] = [
    "nice to have",
    "nice-to-have",
    "bonus",
    "preferred",
    "plus",
    "desirable",
    "good to have",
    "optional",
    "ideally",
    "helpful",
    "not required",
];
/// Phrases that make a clause nice to have, outside parentheses.
const PLUS_PHRASES: [&str; 9] = [
    "is a plus",
    "are a plus",
    "be a plus",
    "is a bonus",
    "are a bonus",
    "be a bonus",
    "nice to have",
    "is preferred",
    "are preferred",
];
/// Parenthesised labels that make their clause nice to have.
const PLUS_TAGS: [&str; 5] = ["(nice to have)", "(optional)", "(bonus)", "(preferred)", "(a plus)"];

fn says_preferred(label: &str) -> bool {
    PREFERRED_WORDS.iter().any(|w| label.contains(w))
}

fn clause_says_preferred(clause: &str) -> bool {
    let t = clause.trim().trim_start_matches(['-', '*', '•', '|', ' ']);
    PLUS_PHRASES.iter().any(|p| outside_parentheses(t, p))
        || PLUS_TAGS.iter().any(|tag| t.contains(tag))
        || ["bonus", "ideally", "plus:"].iter().any(|w| t.starts_with(w))
        || (t.trim_end_matches(['.', ' ']).ends_with(" preferred") && outside_parentheses(t, " preferred"))
}

/// The line cut at its inline labels ("Required:", "Nice to have:"): each
/// piece as (start, end, the label before it, if any). A label is a short
/// run of words ending in `:`, at the start of the line or after `.`, `;`,
/// `,`-free text following ` - `.
fn labelled_segments(line: &str) -> Vec<(usize, usize, Option<&str>)> {
    let mut cuts: Vec<(usize, usize, &str)> = Vec::new();
    for (colon, _) in line.match_indices(':') {
        let head = &line[..colon];
        let start = head.rfind(['.', ';', '|']).map_or(0, |i| i + 1);
        let start = head[start..].rfind(" - ").map_or(start, |i| start + i + 3);
        let label = head[start..].trim();
        let words = label.split_whitespace().count();
        if (1..=5).contains(&words) && !label.contains(',') {
            cuts.push((start, colon + 1, label));
        }
    }
    let mut out = Vec::new();
    let mut from = 0;
    let mut label = None;
    for (start, after, text) in cuts {
        if start > from || label.is_some() {
            out.push((from, start, label));
        }
        from = after;
        label = Some(text);
    }
    out.push((from, line.len(), label));
    if out.len() > 1 {
        out.retain(|&(a, b, _)| b > a);
    }
    out
}

/// Clauses of a piece of a line: cut after `.` (followed by a space or the
/// end, so "Node.js" stays whole) and at `;`.
fn clauses(piece: &str) -> Vec<(usize, usize)> {
    let bytes = piece.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let end_of_sentence = b == b'.' && bytes.get(i + 1).is_none_or(|c| c.is_ascii_whitespace());
        if end_of_sentence || b == b';' {
            out.push((start, i + 1));
            start = i + 1;
        }
    }
    if start < piece.len() {
        out.push((start, piece.len()));
    }
    out
}

/// A Markdown heading, or a short line that introduces a list: it ends with
/// `:`, or it names a section ("Requirements", "Nice to have", "Bonus
/// points"); a short item ("Vue.js", "Power BI") is not one.
fn is_heading(line: &str) -> bool {
    let t = line.trim();
    if t.starts_with('#') {
        return true;
    }
    let bullet = t.starts_with(['-', '*', '•', '+', '|']) || t.chars().next().is_some_and(|c| c.is_ascii_digit());
    let words = t.split_whitespace().count();
    if bullet || !(1..=6).contains(&words) || t.ends_with(['.', ',', ';']) {
        return false;
    }
    let lower = t.to_lowercase();
    let names_a_section = SECTION_WORDS.iter().any(|w| lower.contains(w)) || says_preferred(&lower);
    (t.ends_with(':') && !t[..t.len() - 1].contains(':')) || names_a_section
}

fn outside_parentheses(line: &str, phrase: &str) -> bool {
    line.match_indices(phrase).any(|(at, _)| {
        let before = &line[..at];
        before.matches('(').count() <= before.matches(')').count()
    })
}

/// Words of headings that start a section which is not nice to have.
const SECTION_WORDS: [&str; 14] = [
    "requirement",
    "required",
    "must have",
    "must-have",
    "qualifications",
    "skills",
    "what you'll",
    "what you will",
    "about",
    "responsibilities",
    "experience",
    "you have",
    "we offer",
    "benefits",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn evidence(skill: &str) -> SkillEvidence {
        SkillEvidence { skill: skill.into(), start: 0, end: skill.len(), snippet: format!("… {skill} …") }
    }

    fn similarity(a: &str, b: &str) -> f32 {
        if (a, b) == ("postgres", "postgresql") { 0.9 } else { 0.1 }
    }

    #[test]
    fn exact_near_and_missing_skills_add_up() {
        let required: Vec<String> = ["rust", "postgres", "kafka", "node.js"].map(String::from).to_vec();
        let resume = [evidence("rust"), evidence("postgresql"), evidence("nodejs")];
        let input = MatchInput {
            required: &required,
            preferred: &[],
            resume: &resume,
            skill_similarity: &similarity,
            document_similarity: 0.75,
            years: Some(6.0),
            required_years: Some(5.0),
        };
        let m = score(&input);
        let statuses: Vec<SkillStatus> = m.skills.iter().map(|s| s.status).collect();
        use SkillStatus::*;
        assert_eq!(statuses, [Matched, Near, Missing, Matched]);
        assert_eq!(m.skills[1].matched_by.as_deref(), Some("postgresql"));
        assert!((m.coverage - 0.6875).abs() < 1e-3);
        // 60 × 0.6875 + 25 × 1 + 15 × 1 = 81.25
        assert_eq!(m.score, 81);
        let points: f32 = m.skills.iter().map(|s| s.points).sum();
        assert!((points - 41.25).abs() < 0.01, "contributions sum to the coverage part");
        assert!(m.explanation.contains("2 of the 4 required skills"), "{}", m.explanation);
        assert!(m.explanation.contains("postgres (as postgresql)"), "{}", m.explanation);
        assert!(m.explanation.contains("missing: kafka"), "{}", m.explanation);
        assert_eq!(score(&input), m, "stable for the same input");
    }

    #[test]
    fn experience_is_never_invented() {
        let input = MatchInput {
            required: &[],
            preferred: &[],
            resume: &[],
            skill_similarity: &similarity,
            document_similarity: 0.0,
            years: None,
            required_years: Some(5.0),
        };
        let m = score(&input);
        assert_eq!((m.experience, m.score), (0.5, 8));
        assert!(m.explanation.contains("could not be read"));
    }

    #[test]
    fn nice_to_have_skills_weigh_half() {
        let required: Vec<String> = vec!["rust".into()];
        let preferred: Vec<String> = vec!["redis".into(), "tokio".into()];
        let resume = [evidence("redis")];
        let input = MatchInput {
            required: &required,
            preferred: &preferred,
            resume: &resume,
            skill_similarity: &similarity,
            document_similarity: 0.15,
            years: None,
            required_years: None,
        };
        let m = score(&input);
        // weights 1 + 0.5 + 0.5: redis earns 0.5 / 2 of the coverage.
        assert!((m.coverage - 0.25).abs() < 1e-3, "{m:?}");
        assert_eq!(m.skills.iter().map(|s| s.required).collect::<Vec<_>>(), [true, false, false]);
        assert!((m.skills[1].points - 15.0).abs() < 1e-3);
        assert!(m.explanation.contains("0 of the 1 required skills; missing: rust"), "{}", m.explanation);
        assert!(m.explanation.contains("1 of the 2 nice-to-have skills: redis; missing: tokio"), "{}", m.explanation);
    }

    #[test]
    fn nice_to_have_sections_and_lines() {
        let jd = "## Requirements\n\n- Rust or Go (both is a plus).\n- Kafka.\n\n## Nice to have\n\nRedis, Terraform.\n\n## About us\nWe ship.\nKnowing Helm is a plus.\n";
        let ranges = preferred_ranges(jd);
        let slices: Vec<&str> = ranges.iter().map(|&(a, b)| &jd[a..b]).collect();
        assert_eq!(slices, ["## Nice to have\n\nRedis, Terraform.\n", "Knowing Helm is a plus."]);
    }

    #[test]
    fn years_asked_for() {
        assert_eq!(required_years("You have 5+ years of backend work and 2 years of Rust."), Some(2.0));
        assert_eq!(required_years("Seven years"), None);
        assert_eq!(required_years("3 or more years"), Some(3.0));
    }
}
