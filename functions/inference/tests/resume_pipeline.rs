//! The real resume pipeline (document extraction, the skill model on tract,
//! the rules, the score) over the fixture resumes and job descriptions in
//! tests/fixtures/resumes, in every format each one is rendered in: the facts
//! `expected.json` states, the skills the Python package must find, and the
//! ranking of candidates per job. Prints the tables the README reports.
//!
//! Skills come in two modes: [`SkillMode::Package`] must reproduce the
//! package exactly; the default [`SkillMode::Filtered`] may only drop some of
//! its skills (tests/skill_precision.rs measures which), never a must-find one.

use ferry_core::ResumeAnalyzer;
use ferry_inference::analyzer::{Description, ResumeFacts, ResumePipeline, StageTimes};
use ferry_models::SkillMode;
use ferry_resume::{JobMatch, YearMonth};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The month expected.json counts "present" as.
const AS_OF: YearMonth = YearMonth { year: 2026, month: 11 };

/// The default pipeline: filtered skills.
fn pipeline() -> &'static ResumePipeline {
    static PIPELINE: OnceLock<ResumePipeline> = OnceLock::new();
    PIPELINE.get_or_init(|| ResumePipeline::load_default().expect("the models load").with_today(AS_OF))
}

/// The package's exact skills, for parity.
fn package_pipeline() -> &'static ResumePipeline {
    static PIPELINE: OnceLock<ResumePipeline> = OnceLock::new();
    PIPELINE.get_or_init(|| {
        ResumePipeline::load_default().expect("the models load").with_today(AS_OF).with_skill_mode(SkillMode::Package)
    })
}

fn fixtures() -> (PathBuf, Value) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/resumes");
    let expected = serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    (dir, expected)
}

fn strings(v: &Value) -> BTreeSet<String> {
    v.as_array().map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect()).unwrap_or_default()
}

fn read(file: &Path) -> ResumeFacts {
    read_with(pipeline(), file)
}

fn read_with(pipeline: &ResumePipeline, file: &Path) -> ResumeFacts {
    let bytes = std::fs::read(file).unwrap();
    pipeline.read_resume(&bytes, &mut StageTimes::default()).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

fn skill_set(facts: &ResumeFacts) -> BTreeSet<String> {
    facts.skills.iter().map(|s| s.skill.clone()).collect()
}

fn value(found: &Option<ferry_resume::Found<String>>) -> Option<&str> {
    found.as_ref().map(|f| f.value.as_str())
}

/// Precision and recall of `got` against `want`, summed over documents.
#[derive(Default)]
struct Agreement {
    true_positive: usize,
    got: usize,
    want: usize,
}

impl Agreement {
    fn add(&mut self, got: &BTreeSet<String>, want: &BTreeSet<String>) {
        self.true_positive += got.intersection(want).count();
        self.got += got.len();
        self.want += want.len();
    }

    fn row(&self, what: &str) -> String {
        let p = self.true_positive as f64 / self.got.max(1) as f64;
        let r = self.true_positive as f64 / self.want.max(1) as f64;
        format!("| {what} | {:.3} | {:.3} | {} | {} |", p, r, self.got, self.want)
    }
}

#[test]
fn every_rendering_of_every_resume_gives_its_facts() {
    let (dir, expected) = fixtures();
    let mut agreement: BTreeMap<(String, &str), Agreement> = BTreeMap::new();
    for (id, want) in expected["resumes"].as_object().unwrap() {
        let must = strings(&want["must_find_skills"]);
        for (format, file) in want["files"].as_object().unwrap() {
            let path = dir.join(file.as_str().unwrap());
            let facts = read(&path);
            let at = format!("{id} ({format})");
            let skills = skill_set(&facts);
            let missing: Vec<&String> = must.difference(&skills).collect();
            assert!(missing.is_empty(), "{at}: must-find skills missing: {missing:?}");
            let kind = if matches!(format.as_str(), "md" | "txt") { "source" } else { "rendered" };
            // The package's own skills on the package's own text (each read
            // costs a few seconds of encoder time: not for every rendering).
            let package = (kind == "source").then(|| skill_set(&read_with(package_pipeline(), &path)));
            if let Some(package) = &package {
                let added: Vec<&String> = skills.difference(package).collect();
                assert!(added.is_empty(), "{at}: the filter only removes skills, it added {added:?}");
            }
            let contacts = &want["contacts"];
            assert_eq!(value(&facts.candidate.email), contacts["email"].as_str(), "{at}: email");
            assert_eq!(value(&facts.candidate.name), contacts["name"].as_str(), "{at}: name");
            let phone = value(&facts.candidate.phone).map(digits);
            assert_eq!(phone, contacts["phone"].as_str().map(digits), "{at}: phone");
            let years = &want["years_experience"];
            let (lo, hi) = (years["min"].as_f64().unwrap() as f32, years["max"].as_f64().unwrap() as f32);
            let got = facts.experience.years;
            assert!(got.is_some_and(|y| (lo - 0.05..=hi + 0.05).contains(&y)), "{at}: {got:?} years, want {lo}–{hi}");
            for skill in &facts.skills {
                let text = &facts.document.text;
                assert_eq!(
                    text[skill.start..skill.end].to_lowercase(),
                    skill.skill,
                    "{at}: offsets of {}",
                    skill.skill
                );
            }
            for (reference, field) in
                [("ferry encoder", "reference_skills_ferry_encoder"), ("fp32", "reference_skills")]
            {
                if let Some(package) = &package {
                    agreement
                        .entry((format!("{kind} vs {reference}"), field))
                        .or_default()
                        .add(package, &strings(&want[field]));
                }
                let entry = agreement.entry((format!("{kind}, filtered vs {reference}"), field)).or_default();
                entry.add(&skills, &strings(&want[field]));
            }
        }
    }
    println!("| texts | precision | recall | found | reference |\n|---|---:|---:|---:|---:|");
    for ((what, _), a) in &agreement {
        println!("{}", a.row(what));
    }
    // An exact port on the package's own text agrees exactly with it
    // (in package mode).
    let exact = &agreement[&("source vs ferry encoder".to_owned(), "reference_skills_ferry_encoder")];
    assert_eq!((exact.true_positive, exact.got), (exact.want, exact.want), "{}", exact.row("source"));
}

/// The stored result, as the worker records it, against its published schema.
#[test]
fn results_follow_the_published_schema() {
    let (dir, _) = fixtures();
    let schema: Value =
        serde_json::from_str(include_str!("../../../schemas/resume-result.schema.json")).expect("the schema is JSON");
    let validator = jsonschema::draft202012::new(&schema).expect("a valid draft 2020-12 schema");
    for example in schema["examples"].as_array().unwrap() {
        assert!(validator.is_valid(example), "the schema's example: {:?}", errors(&validator, example));
    }
    let description = std::fs::read(dir.join("jd1-backend-rust-go.md")).unwrap();
    for file in ["r01-daniel-okafor.pdf", "r04-mette-kristensen.docx", "r12-wei-zhang.txt"] {
        let resume = std::fs::read(dir.join(file)).unwrap();
        let mut result = pipeline().analyze(&resume, &description).unwrap();
        // What the worker adds around the analysis.
        result["i"] = 0.into();
        result["model"] = pipeline().provenance().into();
        assert!(validator.is_valid(&result), "{file}: {:?}", errors(&validator, &result));
        // Offsets point into the text they claim to.
        let text = result["document"]["text"].as_str().unwrap();
        let email = &result["candidate"]["email"];
        let (start, end) = (email["start"].as_u64().unwrap() as usize, email["end"].as_u64().unwrap() as usize);
        assert_eq!(&text[start..end], email["value"]);
    }
    let mut broken = pipeline().analyze(b"Jane Doe\njane@example.com\nRust", &description).unwrap();
    broken["score"] = 101.into();
    assert!(!validator.is_valid(&broken), "the schema refuses what is out of range");
}

/// Long documents: skills are read from the first mentions only, and say
/// so; text no resume has is refused with the reason.
#[test]
fn long_documents_are_bounded() {
    let pipeline = ResumePipeline::load_default().unwrap().with_mention_cap(6);
    let resume = "Jane Doe\njane@example.com\nSkills: Python, Rust, Go, Kafka, Docker, Kubernetes, Terraform, AWS.\n";
    let facts = pipeline.read_resume(resume.as_bytes(), &mut StageTimes::default()).unwrap();
    // At least the 8 skills of the last line are mentions; 6 are read.
    assert!(facts.document.unread_skill_mentions >= 2, "{}", facts.document.unread_skill_mentions);
    assert!(facts.skills.iter().all(|s| !["terraform", "aws"].contains(&s.skill.as_str())));
    assert_eq!(facts.candidate.email.unwrap().value, "jane@example.com", "the rules read everything");

    let huge = "Rust developer. ".repeat(ferry_inference::analyzer::MAX_TEXT_BYTES / 16 + 1);
    let refused = pipeline.read_resume(huge.as_bytes(), &mut StageTimes::default()).unwrap_err();
    assert!(refused.to_string().contains("bytes of text; at most 200000"), "{refused}");
}

fn errors(validator: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    validator.iter_errors(instance).map(|e| format!("{}: {e}", e.instance_path())).collect()
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

#[test]
fn candidates_rank_as_a_recruiter_would() {
    let (dir, expected) = fixtures();
    let resumes: BTreeMap<String, ResumeFacts> = expected["resumes"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(id, want)| {
            let files = &want["files"];
            let source = files.get("md").or_else(|| files.get("txt")).and_then(Value::as_str).unwrap();
            (id.clone(), read(&dir.join(source)))
        })
        .collect();
    let mut failures = Vec::new();
    for (jd_id, job) in expected["jobs"].as_object().unwrap() {
        let bytes = std::fs::read(dir.join(job["file"].as_str().unwrap())).unwrap();
        let jd = pipeline().read_description(&bytes, &mut StageTimes::default()).unwrap();
        check_description(jd_id, &jd, job, &bytes);
        let mut matches: Vec<(JobMatch, &str)> = resumes
            .iter()
            .map(|(id, facts)| (pipeline().compare(facts, &jd, &mut StageTimes::default()).unwrap(), id.as_str()))
            .collect();
        matches.sort_by(|a, b| b.0.score.cmp(&a.0.score).then(a.1.cmp(b.1)));
        println!("{jd_id} (score: coverage/similarity/experience):");
        for (m, id) in &matches {
            println!("  {id} {:3}: {:.2}/{:.2}/{:.2}", m.score, m.coverage, m.similarity, m.experience);
        }
        let scores: Vec<(u8, &str)> = matches.iter().map(|(m, id)| (m.score, *id)).collect();
        failures.extend(ranking_failures(jd_id, &scores, &job["ranking"]));
        // Stable: the same input gives the same result.
        let facts = &resumes["r01"];
        let again = |_| pipeline().compare(facts, &jd, &mut StageTimes::default()).unwrap();
        assert_eq!(again(0), again(1), "{jd_id}: the score is stable");
    }
    assert!(failures.is_empty(), "ranking expectations not met:\n{}", failures.join("\n"));
}

/// The required skills the description itself yields are the hand-picked ones.
fn check_description(jd_id: &str, jd: &Description, job: &Value, bytes: &[u8]) {
    let found: BTreeSet<String> = jd.required_skills.iter().chain(&jd.preferred_skills).cloned().collect();
    let extractable: BTreeSet<String> = strings(&job["required_skills"])
        .difference(&strings(&job["required_not_extracted_from_jd"]))
        .cloned()
        .collect();
    let missing: Vec<&String> = extractable.difference(&found).collect();
    assert!(missing.is_empty(), "{jd_id}: required skills not extracted: {missing:?} (found {found:?})");
    // A skill named only under "Nice to have" is not required.
    let text = std::str::from_utf8(bytes).unwrap().to_lowercase();
    let before_nice = &text[..text.find("nice to have").unwrap()];
    for nice in strings(&job["nice_to_have"]) {
        let required = jd.required_skills.contains(&nice);
        assert!(!required || before_nice.contains(&nice), "{jd_id}: {nice} is only nice to have");
    }
    assert!(jd.required_years.is_some(), "{jd_id}: years asked for");
}

fn ranking_failures(jd_id: &str, scores: &[(u8, &str)], ranking: &Value) -> Vec<String> {
    let rank = |id: &str| scores.iter().position(|s| s.1 == id).unwrap();
    let mut failures = Vec::new();
    let mut expect = |ok: bool, what: String| {
        if !ok {
            failures.push(format!("{jd_id}: {what}"));
        }
    };
    if let Some(first) = ranking["first"].as_str() {
        expect(scores[0].1 == first, format!("{first} first, not {}", scores[0].1));
    }
    let last = scores.last().unwrap().1;
    if let Some(want) = ranking["last"].as_str() {
        expect(last == want, format!("{want} last, not {last}"));
    }
    if let Some(any) = ranking["last_any_of"].as_array() {
        expect(any.iter().any(|v| v == last), format!("last one of {any:?}, not {last}"));
    }
    if let Some(top) = ranking["top3_any_order"].as_array() {
        let got: BTreeSet<&str> = scores[..3].iter().map(|s| s.1).collect();
        let want: BTreeSet<&str> = top.iter().filter_map(Value::as_str).collect();
        expect(got == want, format!("top three {want:?}, not {got:?}"));
    }
    for pair in ranking["above"].as_array().into_iter().flatten() {
        let (a, b) = (pair[0].as_str().unwrap(), pair[1].as_str().unwrap());
        expect(rank(a) < rank(b), format!("{a} above {b}"));
    }
    failures
}
