//! Skill precision beyond the package (issue 16, item 2): context rules on
//! top of the classifier's decision.
//!
//! The package keeps a mention iff its probability is at least 0.5, and its
//! classifier happily accepts ordinary English words that happen to be
//! gazetteer keywords: `requests` in "9k requests per second", `excel` in "I
//! excel at", `mosaic` in "Mosaic Health", `linkedin` in a contact line. This
//! module only ever *removes* mentions the package kept ([`SkillMode::Filtered`]);
//! [`SkillMode::Package`] keeps the package's exact output for parity.
//!
//! The rules, in order, for a mention the package kept (measured on the
//! labelled mentions of `tests/fixtures/skill_mentions/labels.jsonl`; the
//! test `functions/inference/tests/skill_precision.rs` prints the figures):
//!
//! 1. **Links**: a mention inside a URL, an e-mail address or a domain name
//!    (`linkedin.com/in/…`, `https://…`), or a label right before one
//!    (`GitHub: github.com/…`), is contact data, never a skill.
//! 2. Keywords that are **not ambiguous** keep the package's decision.
//!    Ambiguous = a one-word keyword that is an everyday English word: a whole
//!    word of the encoder's WordPiece vocabulary (or its plural), listed in
//!    `ambiguous.txt` (1,520 of the 30,957 keywords, generated; see the test
//!    below). Tool names that are also words (`go`, `swift`, `excel`) are in it
//!    on purpose: they are the ones that need context.
//! 3. An ambiguous mention written as an **acronym or in mixed case** (`SQL`,
//!    `iOS`) is a name, not a word: kept.
//! 4. A capitalised ambiguous mention **inside a proper name** (next to a
//!    capitalised word that is not a mention, not a job-title word and not
//!    just the first word of a sentence: "Mosaic Health", "Computer Science",
//!    "Maple Health Apps") is part of that name: removed.
//! 5. An ambiguous mention that is **a whole item of a list** ("Go, Java,
//!    Spring Boot", "Docker (basic)") is kept: skills sections are lists.
//! 6. A **capitalised** ambiguous mention **mid-sentence** ("written in Go",
//!    "reports in Excel") is a proper noun: kept.
//! 7. A capitalised ambiguous mention at the **start of a sentence** or bullet
//!    ("Python scripts for …") keeps the package's decision: the capital says
//!    nothing there.
//! 8. A **lower-case** ambiguous mention in running text ("I excel at", "9k
//!    requests per second", "in spring 2027") is kept only with probability
//!    >= [`AMBIGUOUS_THRESHOLD`],
//! 9. or when the same spelling of the keyword is kept by rule 3, 5 or 6
//!    elsewhere in the same document (a skills list that names `statistics`
//!    vouches for "statistics" in a sentence).

use std::collections::HashSet;
use std::sync::OnceLock;

use super::SkillMention;

/// Which decisions a skill result uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SkillMode {
    /// Exactly the package: a mention is a skill iff `probability >= 0.5`.
    Package,
    /// The package's decision, then this module's context rules.
    #[default]
    Filtered,
}

/// Rule 8: the probability a lower-case ambiguous word with no supporting
/// context needs.
/// Chosen on the tuned labels: 0.8 keeps more recall, 0.99 more precision;
/// 0.9 keeps the recall loss within 1.5 points (F1 is flat from 0.8 to 0.99).
pub const AMBIGUOUS_THRESHOLD: f32 = 0.9;

/// Generated from `assets/tokenizer.json` and `assets/skills/skills.txt`:
/// the ASCII one-word keywords `w` with `w` or `w` minus a final `s` in the
/// vocabulary; `ambiguous_list_is_generated_from_the_assets` checks it.
const AMBIGUOUS: &str = include_str!("ambiguous.txt");

/// Job-title words: "Senior iOS Engineer" is a title, not a proper name.
const ROLE_WORDS: &[&str] = &[
    "administrator",
    "analyst",
    "architect",
    "consultant",
    "coordinator",
    "designer",
    "developer",
    "director",
    "engineer",
    "head",
    "intern",
    "junior",
    "lead",
    "manager",
    "officer",
    "principal",
    "scientist",
    "senior",
    "specialist",
    "staff",
    "teacher",
];

/// Characters that separate the items of a list on one line.
const LIST_SEPARATORS: &[char] = &[',', ';', '|', '·', '•'];

/// Whether `keyword` is an everyday English word (rule 2).
pub fn is_ambiguous(keyword: &str) -> bool {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| AMBIGUOUS.lines().collect()).contains(keyword)
}

/// For each mention, whether it counts as a skill under `mode`.
pub fn kept(text: &str, mentions: &[SkillMention], mode: SkillMode) -> Vec<bool> {
    let package: Vec<bool> = mentions.iter().map(SkillMention::is_skill).collect();
    if mode == SkillMode::Package {
        return package;
    }
    let verdicts: Vec<Verdict> = mentions
        .iter()
        .zip(&package)
        .map(|(m, &kept)| if kept { judge(text, mentions, m) } else { Verdict::Drop })
        .collect();
    mentions
        .iter()
        .zip(&verdicts)
        .map(|(m, v)| match v {
            Verdict::Keep | Verdict::Context => true,
            Verdict::Drop => false,
            Verdict::Unsupported => vouched_for(text, mentions, &verdicts, m),
        })
        .collect()
}

/// The rules' answer for one mention the package kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Drop,
    /// Kept: not ambiguous, or ambiguous and kept by rule 7 or 8.
    Keep,
    /// An ambiguous word kept by its context (rules 3, 5, 6): it can vouch.
    Context,
    /// A lower-case ambiguous word under the threshold: kept only if another
    /// mention vouches for it (rule 9).
    Unsupported,
}

fn judge(text: &str, mentions: &[SkillMention], m: &SkillMention) -> Verdict {
    let surface = &text[m.start..m.end];
    if in_link(text, m.start, m.end) {
        return Verdict::Drop;
    }
    if !is_ambiguous(&m.skill) {
        return Verdict::Keep;
    }
    if is_name_cased(surface) {
        return Verdict::Context;
    }
    let capitalised = surface.starts_with(|c: char| c.is_uppercase());
    if capitalised && in_proper_name(text, mentions, m) {
        return Verdict::Drop;
    }
    if is_list_item(text, m.start, m.end) || (capitalised && !starts_sentence(text, m.start)) {
        return Verdict::Context;
    }
    if capitalised || m.probability >= AMBIGUOUS_THRESHOLD {
        // A capital at the start of a sentence says nothing: the package decides.
        return Verdict::Keep;
    }
    Verdict::Unsupported
}

/// Rule 9: the same spelling is kept by its context elsewhere in the text.
/// Only the context rules vouch (not 7, 8 or 9), so a vouch never chains.
fn vouched_for(text: &str, mentions: &[SkillMention], verdicts: &[Verdict], m: &SkillMention) -> bool {
    let surface = &text[m.start..m.end];
    mentions
        .iter()
        .zip(verdicts)
        .any(|(other, &v)| v == Verdict::Context && other.skill == m.skill && &text[other.start..other.end] == surface)
}

/// `SQL`, `iOS`: letters in upper case after the first one.
fn is_name_cased(surface: &str) -> bool {
    surface.chars().count() >= 2 && surface.chars().skip(1).any(char::is_uppercase)
}

/// Rule 1: inside a link or e-mail address, or a label followed by one.
fn in_link(text: &str, start: usize, end: usize) -> bool {
    if looks_like_link(token_around(text, start, end)) {
        return true;
    }
    // "GitHub: github.com/…", "LinkedIn: https://…"
    let after = &text[end..];
    after.strip_prefix(':').is_some_and(|rest| {
        let rest = rest.trim_start_matches([' ', '\t']);
        let next = rest.split(char::is_whitespace).next().unwrap_or("");
        looks_like_link(next)
    })
}

fn looks_like_link(token: &str) -> bool {
    if token.contains("://") || token.contains('@') || token.contains("www.") {
        return true;
    }
    [".com", ".org", ".net", ".io"].iter().any(|tld| {
        token.match_indices(tld).any(|(i, _)| !token[i + tld.len()..].starts_with(|c: char| c.is_ascii_alphanumeric()))
    })
}

/// The whitespace-delimited token that contains `text[start..end]`.
fn token_around(text: &str, start: usize, end: usize) -> &str {
    let from = text[..start].rfind(char::is_whitespace).map_or(0, |i| i + char_len(text, i));
    let to = text[end..].find(char::is_whitespace).map_or(text.len(), |i| end + i);
    &text[from..to]
}

fn char_len(text: &str, i: usize) -> usize {
    text[i..].chars().next().map_or(1, char::len_utf8)
}

/// Rule 4: a capitalised neighbour that makes this word part of a name.
fn in_proper_name(text: &str, mentions: &[SkillMention], m: &SkillMention) -> bool {
    let is_name_word = |from: usize, word: &str| {
        let to = from + word.len();
        word.starts_with(|c: char| c.is_ascii_uppercase())
            && !ROLE_WORDS.contains(&word.trim_end_matches('.').to_lowercase().as_str())
            && !mentions.iter().any(|o| o.start < to && from < o.end)
    };
    let previous = previous_word(text, m.start)
        .is_some_and(|(from, word)| is_name_word(from, word) && !starts_sentence(text, from));
    previous || next_word(text, m.end).is_some_and(|(from, word)| is_name_word(from, word))
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '&' | '.' | '-')
}

/// The word before `at`, separated from it by spaces or tabs only.
fn previous_word(text: &str, at: usize) -> Option<(usize, &str)> {
    let before = &text[..at];
    let trimmed = before.trim_end_matches([' ', '\t']);
    if trimmed.len() == before.len() {
        return None;
    }
    let from = trimmed.rfind(|c: char| !is_word_char(c)).map_or(0, |i| i + char_len(trimmed, i));
    let word = &trimmed[from..];
    (!word.is_empty()).then_some((from, word))
}

/// The word after `at`, separated from it by spaces or tabs only.
fn next_word(text: &str, at: usize) -> Option<(usize, &str)> {
    let after = &text[at..];
    let trimmed = after.trim_start_matches([' ', '\t']);
    if trimmed.len() == after.len() {
        return None;
    }
    let from = at + (after.len() - trimmed.len());
    let len = trimmed.find(|c: char| !is_word_char(c)).unwrap_or(trimmed.len());
    let word = &trimmed[..len];
    (!word.is_empty()).then_some((from, word))
}

/// Whether `at` begins a sentence, a line or a field ("Title — Company").
fn starts_sentence(text: &str, at: usize) -> bool {
    let before = text[..at].trim_end_matches([' ', '\t', '*', '#', '-', '_', '[', '(']);
    before.chars().next_back().is_none_or(|c| matches!(c, '\n' | '.' | ':' | '!' | '?' | '—' | '–' | '|' | '•'))
}

/// Rule 5: the mention is a whole item of a list of three or more on its line
/// (a parenthesised note after it is allowed: "Docker (basic)").
fn is_list_item(text: &str, start: usize, end: usize) -> bool {
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[end..].find('\n').map_or(text.len(), |i| end + i);
    let separators = text[line_start..line_end].chars().filter(|c| LIST_SEPARATORS.contains(c)).count();
    if separators < 2 {
        return false;
    }
    let before = text[line_start..start].trim_end_matches(|c: char| c.is_whitespace() || c == '*' || c == '_');
    let opens_item = before.chars().next_back().is_none_or(|c| c == ':' || LIST_SEPARATORS.contains(&c));
    let mut after = text[end..line_end].trim_start_matches(|c: char| c.is_whitespace() || c == '*' || c == '_');
    if after.starts_with('(') {
        after = after.find(')').map_or("", |i| after[i + 1..].trim_start());
    }
    let closes_item = after.chars().next().is_none_or(|c| c == '.' || LIST_SEPARATORS.contains(&c));
    opens_item && closes_item
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mention(text: &str, word: &str, nth: usize, probability: f32) -> SkillMention {
        let start = text.match_indices(word).nth(nth).unwrap().0;
        SkillMention { skill: word.to_lowercase(), start, end: start + word.len(), probability }
    }

    fn verdicts(text: &str, mentions: &[SkillMention]) -> Vec<bool> {
        kept(text, mentions, SkillMode::Filtered)
    }

    #[test]
    fn package_mode_is_the_threshold_alone() {
        let text = "I excel at it. linkedin.com/in/x";
        let ms = [mention(text, "excel", 0, 0.8), mention(text, "linkedin", 0, 0.4)];
        assert_eq!(kept(text, &ms, SkillMode::Package), vec![true, false]);
        assert_eq!(verdicts(text, &ms), vec![false, false]);
    }

    #[test]
    fn links_and_contact_labels_are_not_skills() {
        let text = "Jane · linkedin.com/in/jane · GitHub: github.com/jane · https://jane.example.org";
        let ms = [
            mention(text, "linkedin", 0, 0.9),
            mention(text, "GitHub", 0, 0.9),
            mention(text, "github", 0, 0.9),
            mention(text, "https", 0, 0.9),
        ];
        assert_eq!(verdicts(text, &ms), vec![false; 4]);
    }

    #[test]
    fn verbs_seasons_and_adjectives_need_context() {
        let text = "I excel at reports; we go live in spring. Services in Go, reports in Excel.";
        let ms = [
            mention(text, "excel", 0, 0.8),
            mention(text, "go", 0, 0.8),
            mention(text, "spring", 0, 0.6),
            mention(text, "Go", 0, 0.8),
            mention(text, "Excel", 0, 0.8),
        ];
        assert_eq!(verdicts(text, &ms), vec![false, false, false, true, true]);
    }

    #[test]
    fn names_lists_and_acronyms() {
        let text = "Data Scientist — Mosaic Health\nSkills: Go, Swift (basic), statistics\nSenior iOS Engineer; SQL.";
        let ms = [
            mention(text, "Mosaic", 0, 0.97),
            mention(text, "Go", 0, 0.6),
            mention(text, "Swift", 0, 0.6),
            mention(text, "statistics", 0, 0.6),
            mention(text, "iOS", 0, 0.6),
            mention(text, "SQL", 0, 0.6),
        ];
        assert_eq!(verdicts(text, &ms), vec![false, true, true, true, true, true]);
    }

    #[test]
    fn a_listed_spelling_vouches_for_the_same_spelling_in_prose() {
        let text = "Taught statistics to adults.\nSkills: Python, statistics, R";
        let ms = [mention(text, "statistics", 0, 0.6), mention(text, "statistics", 1, 0.6)];
        assert_eq!(verdicts(text, &ms), vec![true, true]);
        let lower = "taught statistics. Skills: Python, Statistics, R";
        let ms = [mention(lower, "statistics", 0, 0.6), mention(lower, "Statistics", 0, 0.6)];
        assert_eq!(verdicts(lower, &ms), vec![false, true], "another spelling does not vouch");
    }

    #[test]
    fn a_capital_at_a_sentence_start_leaves_the_decision_to_the_package() {
        let text = "Internship.\n• Python scripts for tests. Excel at it.";
        let ms = [mention(text, "Python", 0, 0.6), mention(text, "Excel", 0, 0.4)];
        assert_eq!(verdicts(text, &ms), vec![true, false]);
    }

    #[test]
    fn unambiguous_keywords_keep_the_package_decision() {
        let text = "Built Grafana dashboards on kubernetes.";
        let ms = [mention(text, "kubernetes", 0, 0.7), mention(text, "Grafana", 0, 0.4)];
        assert_eq!(verdicts(text, &ms), vec![true, false]);
    }

    #[test]
    fn ambiguous_list_is_generated_from_the_assets() {
        let assets = crate::default_assets_dir();
        let tokenizer: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(assets.join("tokenizer.json")).unwrap()).unwrap();
        let vocab = tokenizer["model"]["vocab"].as_object().unwrap();
        let keywords = std::fs::read_to_string(assets.join(crate::SKILLS_DIR).join(crate::GAZETTEER_FILE)).unwrap();
        let mut want: Vec<&str> = keywords
            .lines()
            .filter(|k| !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphabetic()))
            .filter(|k| vocab.contains_key(*k) || k.strip_suffix('s').is_some_and(|w| vocab.contains_key(w)))
            .collect();
        want.sort_unstable();
        let got: Vec<&str> = AMBIGUOUS.lines().collect();
        assert_eq!(got, want, "regenerate src/skills/ambiguous.txt");
        for word in ["go", "swift", "spring", "excel", "requests", "dashboards", "science", "hybrid", "mosaic"] {
            assert!(is_ambiguous(word), "{word}");
        }
        assert!(!is_ambiguous("kubernetes") && !is_ambiguous("machine learning"));
    }
}
