//! The skill extractor against the Python package skill-extractor 0.2.0:
//! `assets/skills/parity.json` (the package's step-by-step output on 27 texts
//! and its matcher on 250 fuzz strings, with Ferry's encoder) and the resume
//! fixtures' `reference_skills_ferry_encoder` (the package's output on them).
//!
//! `cargo test -p ferry-models --test skills_parity -- --nocapture` prints the
//! parity figures and precision/recall against both references.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::OnceLock;

use ferry_models::{
    Candidate, SKILL_THRESHOLD, SentimentModel, SkillMention, SkillModel, default_assets_dir, skill_set,
};
use serde::Deserialize;

#[derive(Deserialize)]
struct Parity {
    cases: Vec<Case>,
    matcher_fuzz: Vec<Fuzz>,
}

#[derive(Deserialize)]
struct Case {
    id: String,
    text: String,
    lower_len_differs: bool,
    matches: Vec<Match>,
    skills_ferry: Vec<String>,
    skills_fp32: Vec<String>,
}

#[derive(Deserialize)]
struct Match {
    skill: String,
    start: usize,
    end: usize,
    start_byte: usize,
    end_byte: usize,
    matched_lower: String,
    word_idx: usize,
    context: String,
    input: String,
    p_ferry: f32,
}

#[derive(Deserialize)]
struct Fuzz {
    text: String,
    /// `[skill, start, end, start_byte, end_byte]` in `text.lower()`.
    matches: Vec<(String, usize, usize, usize, usize)>,
}

/// `tests/fixtures/skills_matcher_quirks.json` (make_skills_matcher_quirks.py).
#[derive(Deserialize)]
struct Quirks {
    rows: Vec<QuirkRow>,
}

#[derive(Deserialize)]
struct QuirkRow {
    text: String,
    /// Python's `text.split()`.
    words: Vec<String>,
    /// `[skill, start, end, word_idx]`, offsets in code points of `text.lower()`.
    matches: Vec<(String, usize, usize, usize)>,
}

#[derive(Deserialize)]
struct Expected {
    resumes: BTreeMap<String, Resume>,
    jobs: BTreeMap<String, Job>,
}

#[derive(Deserialize)]
struct Resume {
    files: BTreeMap<String, String>,
    reference_skills: Vec<String>,
    reference_skills_ferry_encoder: Vec<String>,
}

#[derive(Deserialize)]
struct Job {
    file: String,
    reference_skills: Vec<String>,
    reference_skills_ferry_encoder: Vec<String>,
}

fn parity() -> &'static Parity {
    static P: OnceLock<Parity> = OnceLock::new();
    P.get_or_init(|| {
        let text = std::fs::read_to_string(default_assets_dir().join("skills/parity.json")).expect("parity.json");
        serde_json::from_str(&text).expect("parity.json parses")
    })
}

fn model() -> &'static SkillModel {
    static M: OnceLock<(SentimentModel, SkillModel)> = OnceLock::new();
    &M.get_or_init(|| {
        let sentiment = SentimentModel::load_default().expect("sentiment model loads");
        let skills = SkillModel::load_default(&sentiment).expect("skill model loads");
        (sentiment, skills)
    })
    .1
}

fn resume_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/resumes")
}

/// Byte offset of code point `cp` in `s` (Python offsets are code points).
fn byte_at(s: &str, cp: usize) -> usize {
    s.char_indices().nth(cp).map_or(s.len(), |(b, _)| b)
}

/// What the original-text span says, checked against the lower-case span.
fn check_original_span(text: &str, lower_differs: bool, c: &Candidate, matched_lower: &str, what: &str) {
    let original =
        text.get(c.start..c.end).unwrap_or_else(|| panic!("{what}: span {}..{} not in text", c.start, c.end));
    if lower_differs {
        assert!(original.to_lowercase().contains(matched_lower), "{what}: {original:?} vs {matched_lower:?}");
    } else {
        assert_eq!(original.to_lowercase(), matched_lower, "{what}: original span");
    }
}

#[test]
fn matcher_matches_flashtext_on_fuzz_strings() {
    let mut total = 0;
    for (i, row) in parity().matcher_fuzz.iter().enumerate() {
        let got = model().candidates(&row.text);
        let lower = row.text.to_lowercase();
        let lower_differs = lower.chars().count() != row.text.chars().count();
        let spans: Vec<_> = got.iter().map(|c| (c.skill.as_str(), c.lower_start, c.lower_end)).collect();
        let want: Vec<_> = row.matches.iter().map(|m| (m.0.as_str(), m.1, m.2)).collect();
        assert_eq!(spans, want, "fuzz {i}: {:?}", row.text);
        for (c, m) in got.iter().zip(&row.matches) {
            assert_eq!((byte_at(&lower, m.1), byte_at(&lower, m.2)), (m.3, m.4), "fuzz {i}: lower-case byte offsets");
            check_original_span(&row.text, lower_differs, c, &lower[m.3..m.4], &format!("fuzz {i}"));
        }
        total += got.len();
    }
    println!("matcher fuzz: {} texts, {total} matches, all equal", parity().matcher_fuzz.len());
}

/// The package's matcher on strings aimed at FlashText's skipping rules, with
/// Python's word split (`FERRY_SKILLS_QUIRKS=<file>` runs a bigger set made by
/// the same script).
#[test]
fn matcher_matches_flashtext_quirks() {
    let path = std::env::var("FERRY_SKILLS_QUIRKS").map(PathBuf::from).unwrap_or_else(|_| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/skills_matcher_quirks.json")
    });
    let quirks: Quirks =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("quirks fixture")).expect("parses");
    let mut total = 0;
    for (i, row) in quirks.rows.iter().enumerate() {
        let got = model().candidates(&row.text);
        let spans: Vec<_> = got.iter().map(|c| (c.skill.as_str(), c.lower_start, c.lower_end, c.word_idx)).collect();
        let want: Vec<_> = row.matches.iter().map(|m| (m.0.as_str(), m.1, m.2, m.3)).collect();
        assert_eq!(spans, want, "quirk row {i}: {:?}", row.text);
        for c in &got {
            let hi = (c.word_idx + 21).min(row.words.len());
            let context = row.words[c.word_idx.saturating_sub(20).min(hi)..hi].join(" ");
            assert_eq!(c.context(), context, "quirk row {i}: {:?}", row.text);
        }
        total += got.len();
    }
    println!("matcher quirks: {} texts, {total} matches, all equal", quirks.rows.len());
}

#[test]
fn candidates_match_the_package_step_by_step() {
    for case in &parity().cases {
        let got = model().candidates(&case.text);
        let skills: Vec<&str> = got.iter().map(|c| c.skill.as_str()).collect();
        let want: Vec<&str> = case.matches.iter().map(|m| m.skill.as_str()).collect();
        assert_eq!(skills, want, "case {}", case.id);
        let lower = case.text.to_lowercase();
        for (c, m) in got.iter().zip(&case.matches) {
            let what = format!("case {} match {} at {}", case.id, m.skill, m.start);
            assert_eq!((c.lower_start, c.lower_end), (m.start, m.end), "{what}: code-point offsets");
            assert_eq!((byte_at(&lower, m.start), byte_at(&lower, m.end)), (m.start_byte, m.end_byte), "{what}");
            assert_eq!(&lower[m.start_byte..m.end_byte], m.matched_lower, "{what}: matched text");
            check_original_span(&case.text, case.lower_len_differs, c, &m.matched_lower, &what);
            assert_eq!(c.word_idx, m.word_idx, "{what}: word_idx");
            assert_eq!(c.context(), m.context, "{what}: context");
            assert_eq!(c.input, m.input, "{what}: input string");
        }
    }
}

#[test]
fn probabilities_and_skill_sets_match_the_package() {
    let (mut worst, mut n, mut agree_fp32) = (0f32, 0, 0);
    for case in &parity().cases {
        let mentions = model().mentions(&case.text).expect("mentions");
        assert_eq!(mentions.len(), case.matches.len(), "case {}", case.id);
        for (got, want) in mentions.iter().zip(&case.matches) {
            let d = (got.probability - want.p_ferry).abs();
            assert!(d <= 1e-3, "case {} {}: p {} vs p_ferry {}", case.id, want.skill, got.probability, want.p_ferry);
            worst = worst.max(d);
            n += 1;
        }
        let skills = model().skills(&case.text).expect("skills");
        assert_eq!(skills, case.skills_ferry, "case {}", case.id);
        agree_fp32 += usize::from(skills == case.skills_fp32);
    }
    println!(
        "parity: {n} candidates in {} texts, max |p - p_ferry| = {worst:.2e}; skill sets equal to skills_ferry: all; \
         to skills_fp32: {agree_fp32}/{}",
        parity().cases.len(),
        parity().cases.len()
    );
}

#[test]
fn provenance_names_the_model_and_its_files() {
    let p = model().provenance();
    assert!(p.starts_with("skill-extractor-0.2.0-minilm@sha256:"), "{p}");
    assert_eq!(p.len(), "skill-extractor-0.2.0-minilm@sha256:".len() + 16);
    assert_eq!(model().keyword_count(), 30_957);
}

#[test]
fn empty_and_keywordless_texts_have_no_skills() {
    for text in ["", "   \n\t ", "nothing to see here, zzz qqq"] {
        assert!(model().mentions(text).unwrap().is_empty(), "{text:?}");
        assert!(model().skills(text).unwrap().is_empty(), "{text:?}");
    }
    assert!(model().classify(&[], 0).unwrap().is_empty());
    assert!(model().classify(&[0.0; 10], 1).is_err());
}

/// Micro-averaged precision / recall of `got` against `want` over all texts.
#[derive(Default)]
struct Score {
    tp: usize,
    got: usize,
    want: usize,
}

impl Score {
    fn add(&mut self, got: &[String], want: &[String]) {
        let want: BTreeSet<&String> = want.iter().collect();
        self.tp += got.iter().filter(|s| want.contains(s)).count();
        self.got += got.len();
        self.want += want.len();
    }

    fn line(&self, name: &str) -> String {
        let p = self.tp as f64 / self.got.max(1) as f64;
        let r = self.tp as f64 / self.want.max(1) as f64;
        format!("{name}: precision {p:.4} ({}/{}), recall {r:.4} ({}/{})", self.tp, self.got, self.tp, self.want)
    }
}

/// The deciding probability of each skill: its best mention.
fn best_probability(mentions: &[SkillMention]) -> BTreeMap<&str, f32> {
    let mut best = BTreeMap::new();
    for m in mentions {
        let p = best.entry(m.skill.as_str()).or_insert(m.probability);
        *p = p.max(m.probability);
    }
    best
}

/// Differences between `got` and `want`, each with its deciding probability.
fn differences(mentions: &[SkillMention], got: &[String], want: &[String]) -> Vec<String> {
    let best = best_probability(mentions);
    let (got, want): (BTreeSet<&String>, BTreeSet<&String>) = (got.iter().collect(), want.iter().collect());
    let extra = got.difference(&want).map(|s| format!("+{s} (p {:.5})", best[s.as_str()]));
    let missing = want.difference(&got).map(|s| match best.get(s.as_str()) {
        Some(p) => format!("-{s} (p {p:.5})"),
        None => format!("-{s} (not a gazetteer match)"),
    });
    extra.chain(missing).collect()
}

/// A difference is acceptable only if the decision was a coin toss at float
/// precision: its deciding probability is within 1e-3 of the threshold.
fn only_coin_tosses(mentions: &[SkillMention], got: &[String], want: &[String]) -> bool {
    let best = best_probability(mentions);
    let (got, want): (BTreeSet<&String>, BTreeSet<&String>) = (got.iter().collect(), want.iter().collect());
    got.symmetric_difference(&want).all(|s| best.get(s.as_str()).is_some_and(|p| (p - SKILL_THRESHOLD).abs() <= 1e-3))
}

#[test]
fn resume_skills_match_the_package_on_ferrys_encoder() {
    let expected: Expected =
        serde_json::from_str(&std::fs::read_to_string(resume_dir().join("expected.json")).expect("expected.json"))
            .expect("expected.json parses");
    let mut sources: Vec<(String, String, &[String], &[String])> = Vec::new();
    for (id, r) in &expected.resumes {
        let file = r.files.get("md").or_else(|| r.files.get("txt")).expect("a .md or .txt source");
        sources.push((id.clone(), file.clone(), &r.reference_skills_ferry_encoder, &r.reference_skills));
    }
    let resumes = sources.len();
    for (id, j) in &expected.jobs {
        sources.push((id.clone(), j.file.clone(), &j.reference_skills_ferry_encoder, &j.reference_skills));
    }
    assert_eq!(resumes, 14);
    let (mut vs_ferry, mut vs_fp32, mut resume_candidates, mut failures) =
        (Score::default(), Score::default(), 0, Vec::new());
    for (i, (id, file, ferry, fp32)) in sources.iter().enumerate() {
        let text = std::fs::read_to_string(resume_dir().join(file)).expect("source text");
        let mentions = model().mentions(&text).expect("mentions");
        let got = skill_set(&mentions);
        if i < resumes {
            resume_candidates += mentions.len();
            vs_ferry.add(&got, ferry);
            vs_fp32.add(&got, fp32);
        }
        if got != **ferry {
            let diff = differences(&mentions, &got, ferry);
            println!("{id}: differs from reference_skills_ferry_encoder: {}", diff.join(", "));
            if !only_coin_tosses(&mentions, &got, ferry) {
                failures.push(format!("{id}: {}", diff.join(", ")));
            }
        }
        if got != **fp32 {
            println!("{id}: vs reference_skills (fp32): {}", differences(&mentions, &got, fp32).join(", "));
        }
    }
    println!("{resumes} resumes ({resume_candidates} candidates) + {} job descriptions", sources.len() - resumes);
    println!("{}", vs_ferry.line("14 resumes vs reference_skills_ferry_encoder"));
    println!("{}", vs_fp32.line("14 resumes vs reference_skills (fp32)"));
    assert!(failures.is_empty(), "skill sets differ from the package on Ferry's encoder:\n{}", failures.join("\n"));
}
