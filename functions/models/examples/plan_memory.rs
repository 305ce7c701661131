//! Prints the process's resident memory as the encoder builds a plan for
//! each sequence bucket, first for the sentiment layer, then for the last
//! layer: what a worker that has seen texts of every length holds.
//!
//! `cargo run --release -p ferry-models --example plan_memory`

use std::time::Instant;

use ferry_core::SentimentClassifier;
use ferry_models::SentimentModel;

/// Word counts that land in each of the encoder's sequence buckets.
const WORDS: [usize; 9] = [5, 15, 25, 40, 60, 90, 120, 180, 250];

fn resident_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let model = SentimentModel::load_default()?;
    let loaded = resident_mb();
    println!("models loaded: {loaded:.0} MB resident");
    for layer in ["sentiment", "last"] {
        for words in WORDS {
            let text = vec!["good"; words].join(" ");
            let started = Instant::now();
            match layer {
                "sentiment" => drop(model.classify(&[text.as_str()])?),
                _ => drop(model.embed(&[text.as_str()])?),
            }
            let ms = started.elapsed().as_millis();
            let now = resident_mb();
            println!("{layer:>9} layer, {words:>3} words: {now:.0} MB (+{:.0}), first run {ms} ms", now - loaded);
        }
    }
    let before = resident_mb();
    let started = Instant::now();
    model.classify(&["Das Paket kam schnell an und alles funktioniert bestens"])?;
    let ms = started.elapsed().as_millis();
    println!(
        "multilingual model read on first use: {:.0} MB (+{:.0}), first run {ms} ms",
        resident_mb(),
        resident_mb() - before
    );
    Ok(())
}
