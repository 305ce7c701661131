//! The `ferry` command line without a server: `predict --input` streaming a
//! large file in flat memory, and `ferry match` on the fixture resumes.

mod common;

use common::FERRY;
use serde_json::Value;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/resumes");

fn run(args: &[&str], input: Option<&Path>) -> Output {
    let mut command = Command::new(FERRY);
    command.args(args);
    if let Some(input) = input {
        command.arg("--input").arg(input);
    }
    let out = command.output().unwrap();
    assert!(out.status.success(), "ferry {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

/// `lines` inputs of ~4 KB each; every 500th is a real review, the rest are
/// blank texts (answered "empty text" without the model, so the run is
/// quick but every line is still read, parsed and answered).
fn write_input(path: &Path, lines: usize) {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let blank = format!("{{\"text\": \"{}\"}}", " ".repeat(4096));
    for i in 0..lines {
        if i % 500 == 0 {
            writeln!(file, "{{\"text\": \"Review {i}: I love it, it works perfectly\"}}").unwrap();
        } else {
            writeln!(file, "{blank}").unwrap();
        }
    }
}

/// The peak memory `predict` reports in its summary on stderr, in MB.
fn peak_mb(stderr: &[u8]) -> u64 {
    let text = String::from_utf8_lossy(stderr);
    let summary = text.lines().find(|l| l.starts_with("predict: ")).unwrap_or_else(|| panic!("no summary: {text}"));
    let mb = summary.split("peak memory ").nth(1).and_then(|s| s.split(' ').next()).unwrap();
    mb.parse().unwrap()
}

#[test]
fn predict_streams_a_large_file_in_flat_memory() {
    let dir = tempfile::tempdir().unwrap();
    let (small, large) = (dir.path().join("small.jsonl"), dir.path().join("large.jsonl"));
    write_input(&small, 1_000);
    // 20,000 lines, ~82 MB: held in memory whole, it would show at once.
    write_input(&large, 20_000);
    let small_out = run(&["predict"], Some(&small));
    let large_out = run(&["predict"], Some(&large));
    let stdout = String::from_utf8(large_out.stdout).unwrap();
    let lines: Vec<Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 20_000, "one answer per input line");
    for i in (0..20_000).step_by(500) {
        assert!(lines[i]["sentiment"].is_string(), "line {i} is the review: {}", lines[i]);
        assert_eq!(lines[i + 1]["error"], "empty text", "answers stay in input order");
    }
    let stderr = String::from_utf8_lossy(&large_out.stderr);
    assert!(stderr.contains("predict: 20000 inputs (19960 errors)"), "{stderr}");
    let (small_mb, large_mb) = (peak_mb(&small_out.stderr), peak_mb(&large_out.stderr));
    assert!(large_mb <= small_mb + 20, "peak memory grew with the input: {small_mb} MB -> {large_mb} MB");
}

#[test]
fn predict_reads_strings_skips_blank_lines_and_names_bad_ones() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.jsonl");
    let long = format!("\"{}\"", "a".repeat(1024 * 1024 + 10));
    let mut body = format!("\u{feff}\"I hate it\"\n\n{{\"txt\": 1}}\n{long}\n").into_bytes();
    body.extend_from_slice(b"\xff\n{\"text\": \"I love it\", \"label\": \"positive\"}");
    std::fs::write(&input, body).unwrap();
    let out = run(&["predict"], Some(&input));
    let lines: Vec<Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 5, "{lines:?}");
    assert_eq!(lines[0]["sentiment"], "negative", "a BOM and a plain JSON string are read");
    assert_eq!(lines[1]["error"], "expected a JSON string or an object with a string \"text\"");
    assert!(lines[2]["error"].as_str().unwrap().starts_with("line longer than"), "{}", lines[2]);
    assert!(lines[3]["error"].as_str().unwrap().starts_with("not JSON"), "{}", lines[3]);
    assert_eq!(lines[4]["sentiment"], "positive", "a last line without a newline, with a label, is read");
}

#[test]
fn match_summarises_a_resume_against_a_job_description() {
    let resume = format!("{FIXTURES}/r01-daniel-okafor.pdf");
    let job = format!("{FIXTURES}/jd1-backend-rust-go.md");
    let json = run(&["match", &resume, "--job", &job, "--json"], None);
    let result: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(result["candidate"]["name"]["value"], "Daniel Okafor");
    let score = result["match"]["score"].as_u64().unwrap();
    assert!(score >= 70, "{}", result["match"]["explanation"]);

    let text = String::from_utf8(run(&["match", &resume, "--job", &job], None).stdout).unwrap();
    assert!(text.starts_with(&format!("Score {score}/100\n")), "{text}");
    assert!(text.contains("Candidate: Daniel Okafor · daniel.okafor@example.com"), "{text}");
    for skill in result["match"]["skills"].as_array().unwrap() {
        let line = format!("  {}", skill["skill"].as_str().unwrap());
        assert!(text.contains(&line), "{line} missing from:\n{text}");
    }

    let description = std::fs::read_to_string(&job).unwrap();
    let by_text = run(&["match", &resume, "--job-text", &description, "--json"], None);
    let by_text: Value = serde_json::from_slice(&by_text.stdout).unwrap();
    assert_eq!(by_text["match"]["score"], score, "a file and the same text score alike");
}
