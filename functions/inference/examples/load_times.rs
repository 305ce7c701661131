//! Where the inference function's start-up goes, from the models compiled
//! into the binary (as the Lambda loads them): each phase in ms, best of N
//! runs in one process (the first run pays the page faults a cold start pays;
//! it is printed on its own). The multilingual model is read on the first
//! text that needs it: the last column is that text's wait.
//!
//!   cargo run --release -p ferry-inference --example load_times [-- RUNS]

use ferry_core::SentimentClassifier;
use ferry_models::{SentimentModel, SkillModel};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runs: usize = std::env::args().nth(1).map_or(Ok(3), |r| r.parse())?.clamp(1, 20);
    println!(
        "| run | sentiment model ms | skill model ms | first prediction ms | sentiment model from files ms | first non-English prediction ms |\n|---|---:|---:|---:|---:|---:|"
    );
    for run in 1..=runs {
        let t = Instant::now();
        let sentiment = SentimentModel::bundled()?;
        let loaded = t.elapsed();
        let t = Instant::now();
        let skills = SkillModel::bundled(&sentiment)?;
        let skill_ms = t.elapsed();
        let t = Instant::now();
        sentiment.classify(&["hello"])?;
        let first = t.elapsed();
        drop((skills, sentiment));
        let t = Instant::now();
        let from_files = SentimentModel::load_default()?;
        let files_ms = t.elapsed();
        drop(from_files);
        let sentiment = SentimentModel::bundled()?;
        let t = Instant::now();
        sentiment.classify(&["Das Paket kam schnell an und alles funktioniert bestens"])?;
        let multilingual = t.elapsed();
        println!(
            "| {run} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |",
            ms(loaded),
            ms(skill_ms),
            ms(first),
            ms(files_ms),
            ms(multilingual)
        );
    }
    Ok(())
}

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
