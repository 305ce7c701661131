//! Where a resume analysis spends its time, by stage, and how many documents
//! one core gets through. Bounded: a few rounds of one resume, then each
//! rendered fixture resume once.
//!
//!   cargo run --release -p ferry-inference --example resume_bench [-- ROUNDS]

use ferry_inference::analyzer::{ResumePipeline, StageTimes};
use std::path::Path;
use std::time::{Duration, Instant};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rounds: usize = std::env::args().nth(1).map_or(Ok(5), |r| r.parse())?.clamp(1, 50);
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/resumes");
    let started = Instant::now();
    let pipeline = ResumePipeline::load_default()?;
    println!("models loaded in {} ms", started.elapsed().as_millis());
    let description = std::fs::read(fixtures.join("jd1-backend-rust-go.md"))?;

    // A 2-page resume, stage by stage (median of the rounds).
    let resume = std::fs::read(fixtures.join("r14-grace-whitman.pdf"))?;
    let mut runs: Vec<StageTimes> = Vec::new();
    for _ in 0..rounds {
        runs.push(pipeline.analyze_timed(&resume, &description)?.1);
    }
    println!("\nr14-grace-whitman.pdf (2 pages) against jd1, median of {rounds}:");
    println!("| stage | ms |\n|---|---:|");
    let stages: [(&str, Stage); 7] = [
        ("extract (both documents)", |t| t.extract),
        ("gazetteer + context windows", |t| t.gazetteer),
        ("embeddings (candidates, documents)", |t| t.embeddings),
        ("skill MLP", |t| t.mlp),
        ("rules (contacts, history)", |t| t.rules),
        ("match (skill names, score)", |t| t.compare),
        ("total", StageTimes::total),
    ];
    for (name, stage) in stages {
        println!("| {name} | {:.2} |", median(runs.iter().map(stage)).as_secs_f64() * 1000.0);
    }

    // Every PDF and DOCX fixture once, one after the other on this thread.
    let mut files: Vec<_> = std::fs::read_dir(&fixtures)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "pdf" || x == "docx"))
        .collect();
    files.sort();
    let started = Instant::now();
    for file in &files {
        pipeline.analyze_timed(&std::fs::read(file)?, &description)?;
    }
    let elapsed = started.elapsed();
    println!(
        "\n{} PDF/DOCX resumes against jd1 on one thread: {:.1} s, {:.1} documents/minute",
        files.len(),
        elapsed.as_secs_f64(),
        files.len() as f64 * 60.0 / elapsed.as_secs_f64()
    );
    Ok(())
}

/// How to read one stage's time.
type Stage = fn(&StageTimes) -> Duration;

fn median(values: impl Iterator<Item = Duration>) -> Duration {
    let mut values: Vec<Duration> = values.collect();
    values.sort();
    values[values.len() / 2]
}
