//! Skill precision beyond the package (issue 16, item 2): the package's
//! decisions ([`SkillMode::Package`]) and the filtered ones
//! ([`SkillMode::Filtered`]) against the hand-labelled gazetteer mentions of
//! `tests/fixtures/skill_mentions/labels.jsonl` (its README says how they were
//! labelled). The rules were written on the `tuned` split; the `held_out`
//! texts were written afterwards and never used to change them.
//!
//! `cargo test -p ferry-inference --test skill_precision -- --nocapture`
//! prints the side-by-side tables.

use ferry_models::skills::filter;
use ferry_models::{SentimentModel, SkillMention, SkillMode, SkillModel};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

#[derive(Deserialize)]
struct Label {
    doc: String,
    split: String,
    keyword: String,
    start: usize,
    end: usize,
    skill: bool,
}

/// Counts over labelled mentions (or over per-document skill lists).
#[derive(Default, Clone, Copy)]
struct Counts {
    tp: usize,
    fp: usize,
    fn_: usize,
}

impl Counts {
    fn add(&mut self, predicted: bool, truth: bool) {
        match (predicted, truth) {
            (true, true) => self.tp += 1,
            (true, false) => self.fp += 1,
            (false, true) => self.fn_ += 1,
            (false, false) => {}
        }
    }
    fn precision(&self) -> f64 {
        self.tp as f64 / (self.tp + self.fp).max(1) as f64
    }
    fn recall(&self) -> f64 {
        self.tp as f64 / (self.tp + self.fn_).max(1) as f64
    }
    fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) }
    }
    fn row(&self, what: &str) -> String {
        format!(
            "| {what} | {:.3} | {:.3} | {:.3} | {} | {} | {} |",
            self.precision(),
            self.recall(),
            self.f1(),
            self.tp,
            self.fp,
            self.fn_
        )
    }
}

/// One labelled mention with both systems' decisions.
struct Judged<'a> {
    label: &'a Label,
    package: bool,
    filtered: bool,
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

fn labels() -> Vec<Label> {
    let path = fixtures_dir().join("skill_mentions/labels.jsonl");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}"))).collect()
}

/// The text the pipeline reads from a fixture file.
fn document_text(doc: &str) -> String {
    let bytes = std::fs::read(fixtures_dir().join(doc)).unwrap();
    ferry_documents::extract(&bytes, &ferry_documents::Limits::default()).unwrap().text
}

/// Both systems on every labelled document; every gazetteer mention must be
/// labelled, so the set stays complete when the gazetteer or texts change.
fn judge_all<'a>(model: &SkillModel, labels: &'a [Label]) -> Vec<Judged<'a>> {
    let mut by_doc: BTreeMap<&str, Vec<&Label>> = BTreeMap::new();
    labels.iter().for_each(|l| by_doc.entry(l.doc.as_str()).or_default().push(l));
    let mut judged = Vec::new();
    for (doc, doc_labels) in by_doc {
        let text = document_text(doc);
        let mentions: Vec<SkillMention> = model.mentions(&text).unwrap();
        let spans = |m: &SkillMention| (m.start, m.end, m.skill.clone());
        let found: BTreeSet<_> = mentions.iter().map(spans).collect();
        let labelled: BTreeSet<_> = doc_labels.iter().map(|l| (l.start, l.end, l.keyword.clone())).collect();
        assert_eq!(found, labelled, "{doc}: the labels cover exactly the gazetteer's mentions");
        let package = filter::kept(&text, &mentions, SkillMode::Package);
        let filtered = filter::kept(&text, &mentions, SkillMode::Filtered);
        for (i, m) in mentions.iter().enumerate() {
            let label = doc_labels.iter().find(|l| l.start == m.start && l.end == m.end).unwrap();
            judged.push(Judged { label, package: package[i], filtered: filtered[i] });
        }
    }
    judged
}

/// Mentions, and per-document skill lists (a keyword is a true skill of a
/// document when at least one of its mentions is labelled one).
fn counts(judged: &[&Judged], system: fn(&Judged) -> bool) -> (Counts, Counts) {
    let mut mentions = Counts::default();
    let mut lists: BTreeMap<(&str, &str), (bool, bool)> = BTreeMap::new();
    for j in judged {
        mentions.add(system(j), j.label.skill);
        let entry = lists.entry((j.label.doc.as_str(), j.label.keyword.as_str())).or_default();
        entry.0 |= system(j);
        entry.1 |= j.label.skill;
    }
    let mut skill_lists = Counts::default();
    lists.values().for_each(|&(predicted, truth)| skill_lists.add(predicted, truth));
    (mentions, skill_lists)
}

/// `keyword ×n` for the mentions where the two systems differ in one way.
fn differences(judged: &[&Judged], wanted: impl Fn(&Judged) -> bool) -> String {
    let mut by_keyword: BTreeMap<&str, usize> = BTreeMap::new();
    judged.iter().filter(|j| wanted(j)).for_each(|j| *by_keyword.entry(j.label.keyword.as_str()).or_default() += 1);
    let parts: Vec<String> =
        by_keyword.iter().map(|(k, n)| if *n > 1 { format!("{k} ×{n}") } else { (*k).to_owned() }).collect();
    if parts.is_empty() { "—".to_owned() } else { parts.join(", ") }
}

#[test]
fn the_filter_raises_precision_at_a_small_cost_in_recall() {
    let sentiment = SentimentModel::load_default().expect("the encoder loads");
    let model = SkillModel::load_default(&sentiment).expect("the skill model loads");
    let labels = labels();
    let judged = judge_all(&model, &labels);
    let package = |j: &Judged| j.package;
    let filtered = |j: &Judged| j.filtered;

    println!("| split | system | precision | recall | F1 | TP | FP | FN |\n|---|---|---:|---:|---:|---:|---:|---:|");
    let mut results = BTreeMap::new();
    for split in ["tuned", "held_out"] {
        let part: Vec<&Judged> = judged.iter().filter(|j| j.label.split == split).collect();
        assert!(!part.is_empty(), "no {split} labels");
        let docs: BTreeSet<&str> = part.iter().map(|j| j.label.doc.as_str()).collect();
        let (p_mentions, p_lists) = counts(&part, package);
        let (f_mentions, f_lists) = counts(&part, filtered);
        let what = format!("{split} ({} mentions, {} texts)", part.len(), docs.len());
        println!("{}", p_mentions.row(&format!("{what} | package, mentions")));
        println!("{}", f_mentions.row(&format!("{what} | filtered, mentions")));
        println!("{}", p_lists.row(&format!("{what} | package, skill lists")));
        println!("{}", f_lists.row(&format!("{what} | filtered, skill lists")));
        results.insert(split, (p_mentions, f_mentions, p_lists, f_lists));
    }
    for split in ["tuned", "held_out"] {
        let part: Vec<&Judged> = judged.iter().filter(|j| j.label.split == split).collect();
        println!(
            "\n{split}: false positives removed: {}",
            differences(&part, |j| j.package && !j.filtered && !j.label.skill)
        );
        println!("{split}: true positives lost: {}", differences(&part, |j| j.package && !j.filtered && j.label.skill));
        println!("{split}: false positives kept: {}", differences(&part, |j| j.filtered && !j.label.skill));
    }

    // The filter only removes: it never keeps what the package rejected.
    assert!(judged.iter().all(|j| !j.filtered || j.package), "the filter added a mention");
    // Floors at the figures reached on the mentions (precision and recall:
    // tuned 627/683 and 627/797, held out 110/128 and 110/138).
    let floors = [("tuned", 0.918, 0.786), ("held_out", 0.859, 0.797)];
    for (split, min_precision, min_recall) in floors {
        let (package, filtered, _, _) = results[split];
        let at = format!("{split}: filtered {} vs package {}", filtered.row(""), package.row(""));
        assert!(filtered.precision() >= min_precision, "precision fell: {at}");
        assert!(filtered.recall() >= min_recall, "recall fell: {at}");
        assert!(filtered.precision() > package.precision() + 0.05, "{at}");
        assert!(package.recall() - filtered.recall() <= 0.03, "too much recall lost: {at}");
    }
}
