//! `cargo bench -p ferry-models --bench skills`: the skill extractor's stages
//! on a two-page resume (`tests/fixtures/resumes/r14-grace-whitman.md`).
//!
//! Plain `main` (no harness): each stage runs a bounded number of iterations
//! and stops early at a time cap, so the run takes well under a minute.

use std::time::{Duration, Instant};

use ferry_models::{SentimentModel, SkillModel};

const RESUME: &str = "tests/fixtures/resumes/r14-grace-whitman.md";

/// Mean seconds per call of `f` over at most `max_calls` calls or `cap`.
fn time<T>(max_calls: usize, cap: Duration, mut f: impl FnMut() -> T) -> (f64, usize) {
    std::hint::black_box(f());
    let start = Instant::now();
    let mut calls = 0;
    while calls < max_calls && start.elapsed() < cap {
        std::hint::black_box(f());
        calls += 1;
    }
    (start.elapsed().as_secs_f64() / calls as f64, calls)
}

/// Mean encoder input length in tokens (`[CLS]`/`[SEP]` included).
fn mean_tokens<'a>(inputs: impl Iterator<Item = &'a str>) -> f64 {
    let dir = ferry_models::default_assets_dir();
    let mut tokenizer = tokenizers::Tokenizer::from_file(dir.join(ferry_models::TOKENIZER_FILE)).expect("tokenizer");
    tokenizer.with_padding(None).with_truncation(None).expect("no truncation");
    let lengths: Vec<usize> = inputs.map(|t| tokenizer.encode(t, true).expect("encode").len()).collect();
    lengths.iter().sum::<usize>() as f64 / lengths.len().max(1) as f64
}

fn main() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(RESUME);
    let text = std::fs::read_to_string(&path).expect("resume fixture");

    let start = Instant::now();
    let sentiment = SentimentModel::load_default().expect("sentiment model loads");
    let encoder_load = start.elapsed();
    let start = Instant::now();
    let model = SkillModel::load_default(&sentiment).expect("skill model loads");
    let skill_load = start.elapsed();
    println!(
        "ferry-models skill extractor ({RESUME}: {} bytes, {} words)",
        text.len(),
        text.split_whitespace().count()
    );
    println!(
        "load: encoder + sentiment {:.0} ms; skill model (gazetteer of {} keywords + MLP) {:.1} ms",
        encoder_load.as_secs_f64() * 1e3,
        model.keyword_count(),
        skill_load.as_secs_f64() * 1e3
    );

    let candidates = model.candidates(&text);
    let n = candidates.len();
    let unique = candidates.iter().map(|c| c.input.as_str()).collect::<std::collections::HashSet<_>>().len();
    let tokens = mean_tokens(candidates.iter().map(|c| c.input.as_str()));
    let embeddings = model.embed_candidates(&candidates).expect("embed");
    let skills = model.skills(&text).expect("skills");

    let (gazetteer, g_calls) = time(5000, Duration::from_secs(2), || model.candidates(&text));
    let (embed, e_calls) = time(10, Duration::from_secs(20), || model.embed_candidates(&candidates).expect("embed"));
    let (mlp, m_calls) = time(2000, Duration::from_secs(2), || model.classify(&embeddings, n).expect("classify"));
    let (total, t_calls) = time(3, Duration::from_secs(10), || model.skills(&text).expect("skills"));

    println!();
    println!("| stage | time | calls | notes |");
    println!("|---|---:|---:|---|");
    println!("| gazetteer + context windows (`candidates`) | {:.1} µs | {g_calls} | {n} candidates |", gazetteer * 1e6);
    println!(
        "| embeddings (`embed_candidates`) | {:.1} ms | {e_calls} | {n} candidates, {unique} distinct, {tokens:.1} tokens each |",
        embed * 1e3
    );
    println!("| MLP (`classify`) | {:.3} ms | {m_calls} | {n} rows |", mlp * 1e3);
    println!("| all (`skills`) | {:.1} ms | {t_calls} | {} skills |", total * 1e3, skills.len());
}
