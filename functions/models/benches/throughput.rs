//! `cargo bench -p ferry-models`: load time and throughput. The texts of one
//! call run in parallel on rayon's pool: `RAYON_NUM_THREADS=1` measures one
//! core (onnxruntime's single-thread figures are `infra/models/bench_ort.py`).
//!
//! Plain `main` (no harness): every cell runs a bounded number of iterations
//! and stops early at a time cap, so the whole run takes well under a minute.

use std::time::{Duration, Instant};

use ferry_core::SentimentClassifier;
use ferry_models::{ENCODER_FILE, SentimentModel, default_assets_dir};

const WORDS: &[&str] = &[
    "the",
    "service",
    "was",
    "quick",
    "and",
    "friendly",
    "but",
    "food",
    "arrived",
    "cold",
    "delivery",
    "took",
    "three",
    "days",
    "longer",
    "than",
    "promised",
    "i",
    "really",
    "like",
    "new",
    "update",
    "battery",
    "life",
    "is",
    "much",
    "better",
    "now",
    "staff",
    "were",
    "rude",
    "to",
    "my",
    "mother",
    "price",
    "seems",
    "fair",
    "for",
    "what",
    "you",
    "get",
    "screen",
    "cracked",
    "after",
    "one",
    "week",
    "support",
    "answered",
    "within",
    "an",
    "hour",
    "hotel",
    "room",
    "clean",
    "quiet",
    "would",
    "not",
    "recommend",
    "this",
    "place",
    "anyone",
    "great",
];

/// Deterministic pseudo-sentences of `words` words (about one token each).
fn texts(count: usize, words: usize, seed: u64) -> Vec<String> {
    let mut state = seed;
    (0..count)
        .map(|_| {
            (0..words)
                .map(|_| {
                    state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    WORDS[(state >> 33) as usize % WORDS.len()]
                })
                .collect::<Vec<_>>()
                .join(" ")
                + "."
        })
        .collect()
}

struct Cell {
    texts_per_s: f64,
    ms_per_call: f64,
    calls: usize,
}

fn measure(model: &SentimentModel, pool: &[String], batch: usize) -> Cell {
    const MAX_CALLS: usize = 200;
    const TIME_CAP: Duration = Duration::from_secs(3);
    let batches: Vec<Vec<&str>> = pool.chunks(batch).map(|c| c.iter().map(String::as_str).collect()).collect();
    model.classify(&batches[0]).expect("warm-up");
    let start = Instant::now();
    let mut calls = 0;
    let mut done = 0;
    while calls < MAX_CALLS && start.elapsed() < TIME_CAP {
        let b = &batches[calls % batches.len()];
        let scores = model.classify(b).expect("classify");
        assert_eq!(scores.len(), b.len());
        done += b.len();
        calls += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    Cell { texts_per_s: done as f64 / secs, ms_per_call: secs * 1e3 / calls as f64, calls }
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not supported.
    let dir = default_assets_dir();
    let start = Instant::now();
    let model = SentimentModel::load(&dir).expect("model loads");
    let load = start.elapsed();
    let start = Instant::now();
    model.classify(&["warming up the model"]).expect("first call");
    let first = start.elapsed();
    let threads = rayon::current_num_threads();
    println!("ferry-models throughput ({ENCODER_FILE}, {threads} thread(s); RAYON_NUM_THREADS sets it)");
    println!(
        "load (read + parse + optimise): {:.0} ms; first call: {:.1} ms",
        load.as_secs_f64() * 1e3,
        first.as_secs_f64() * 1e3
    );

    let mut tokenizer = tokenizers::Tokenizer::from_file(dir.join("tokenizer.json")).expect("tokenizer");
    tokenizer.with_padding(None).with_truncation(None).expect("no truncation");
    let mean_tokens = |pool: &[String]| {
        let total: usize = pool.iter().map(|t| tokenizer.encode(t.as_str(), true).expect("encode").len()).sum();
        total as f64 / pool.len() as f64
    };

    let pools = [("short", texts(256, 14, 1)), ("medium", texts(256, 60, 2))];
    println!();
    println!("| texts  | tokens | batch | texts/s | ms/call | calls |");
    println!("|--------|-------:|------:|--------:|--------:|------:|");
    for (name, pool) in &pools {
        let tokens = mean_tokens(pool);
        for batch in [1, 8, 32] {
            let c = measure(&model, pool, batch);
            println!(
                "| {name:<6} | {tokens:>6.1} | {batch:>5} | {:>7.1} | {:>7.2} | {:>5} |",
                c.texts_per_s, c.ms_per_call, c.calls
            );
        }
    }
    // Mixed lengths (2..=64 words) in calls of 128 texts: sorted into
    // sub-batches of 32, each padded only to its own longest text.
    let mut mixed: Vec<String> = Vec::new();
    for (i, words) in (0..256).map(|i| (i, 2 + (i * 37) % 63)) {
        mixed.extend(texts(1, words, 100 + i as u64));
    }
    let tokens = mean_tokens(&mixed);
    let c = measure(&model, &mixed, 128);
    println!(
        "| mixed  | {tokens:>6.1} | {:>5} | {:>7.1} | {:>7.2} | {:>5} |",
        128, c.texts_per_s, c.ms_per_call, c.calls
    );
}
