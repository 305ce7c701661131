//! The Rust pipeline against the golden values computed in Python with
//! onnxruntime (assets/parity.json), plus the classifier's contract.

use std::sync::OnceLock;

use ferry_core::{Sentiment, SentimentClassifier, SentimentScores};
use ferry_models::{EMBEDDING_DIM, MAX_BATCH, SentimentModel, default_assets_dir, vader_features};
use serde::Deserialize;

#[derive(Deserialize)]
struct Parity {
    sentences: Vec<String>,
    embeddings: Vec<Vec<f32>>,
    vader: Vec<[f32; 4]>,
    probs: Vec<[f32; 3]>,
    predicted: Vec<String>,
}

fn parity() -> &'static Parity {
    static P: OnceLock<Parity> = OnceLock::new();
    P.get_or_init(|| {
        let path = default_assets_dir().join("parity.json");
        let text = std::fs::read_to_string(&path).expect("assets/parity.json");
        serde_json::from_str(&text).expect("parity.json parses")
    })
}

fn model() -> &'static SentimentModel {
    static M: OnceLock<SentimentModel> = OnceLock::new();
    M.get_or_init(|| SentimentModel::load_default().expect("model loads"))
}

fn sentences() -> Vec<&'static str> {
    parity().sentences.iter().map(String::as_str).collect()
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

fn probs(s: &SentimentScores) -> [f32; 3] {
    [s.negative, s.neutral, s.positive]
}

#[test]
fn embeddings_match_reference() {
    let p = parity();
    let got = model().embed(&sentences()).unwrap();
    assert_eq!(got.len(), p.embeddings.len());
    let mut worst = 0f32;
    for (i, (g, want)) in got.iter().zip(&p.embeddings).enumerate() {
        assert_eq!(g.len(), EMBEDDING_DIM);
        let d = max_abs_diff(g, want);
        assert!(d < 1e-4, "sentence {i} {:?}: embedding max abs diff {d}", p.sentences[i]);
        let norm = g.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "sentence {i} not unit length: {norm}");
        worst = worst.max(d);
    }
    println!("embedding parity: max abs diff {worst:.2e}");
}

#[test]
fn rust_vader_is_close_to_python_vader() {
    let p = parity();
    let mut worst = 0f32;
    for (s, want) in p.sentences.iter().zip(&p.vader) {
        let got = vader_features(s);
        let d = max_abs_diff(&got, want);
        println!("vader {d:.4} rust {got:?} python {want:?} {s:?}");
        worst = worst.max(d);
    }
    println!("vader rust vs python: max abs diff {worst:.4}");
    assert!(worst <= 1e-6, "Rust VADER differs from Python VADER by {worst}");
}

#[test]
fn probabilities_match_reference() {
    let p = parity();
    let got = model().classify_english(&sentences()).unwrap();
    let mut worst = 0f32;
    for (i, (g, want)) in got.iter().zip(&p.probs).enumerate() {
        let d = max_abs_diff(&probs(g), want);
        println!("probs {d:.2e} rust {:?} python {want:?} {:?}", probs(g), p.sentences[i]);
        assert!((probs(g).iter().sum::<f32>() - 1.0).abs() < 1e-5);
        assert_eq!(g.label().as_str(), p.predicted[i], "label of {:?}", p.sentences[i]);
        worst = worst.max(d);
    }
    println!("head probabilities: max abs diff {worst:.2e}");
    assert!(worst < 1e-4, "probabilities differ from the reference by {worst}");
}

#[test]
fn obvious_sentences_get_the_obvious_label() {
    let texts = ["I love this, it's wonderful", "This is terrible, I hate it", "The package arrived on Tuesday."];
    let got = model().classify(&texts).unwrap();
    let labels: Vec<Sentiment> = got.iter().map(SentimentScores::label).collect();
    assert_eq!(labels, [Sentiment::Positive, Sentiment::Negative, Sentiment::Neutral], "{got:?}");
}

/// More than one sub-batch, lengths from 2 to 256 tokens, duplicates.
fn mixed_batch() -> Vec<&'static str> {
    let s = sentences();
    let mut texts = Vec::new();
    while texts.len() < 2 * MAX_BATCH + 5 {
        texts.extend(s.iter().rev().copied());
        texts.extend(s.iter().copied());
    }
    texts
}

#[test]
fn scores_do_not_depend_on_the_batch() {
    let texts = mixed_batch();
    let batched = model().classify_english(&texts).unwrap();
    let embedded = model().embed(&texts).unwrap();
    assert_eq!(batched.len(), texts.len());
    for (i, text) in texts.iter().enumerate() {
        let alone = model().classify_english(&[text]).unwrap();
        let d = max_abs_diff(&probs(&alone[0]), &probs(&batched[i]));
        assert!(d < 1e-5, "text {i} {text:?}: alone vs batched differ by {d}");
        let alone = model().embed(&[text]).unwrap();
        let d = max_abs_diff(&alone[0], &embedded[i]);
        assert!(d < 1e-5, "text {i} {text:?}: embedding alone vs batched differ by {d}");
    }
}

#[test]
fn results_keep_the_input_order() {
    let texts = mixed_batch();
    let forward = model().classify_english(&texts).unwrap();
    let reversed: Vec<&str> = texts.iter().rev().copied().collect();
    let backward = model().classify_english(&reversed).unwrap();
    for (i, f) in forward.iter().enumerate() {
        let b = &backward[texts.len() - 1 - i];
        assert!(max_abs_diff(&probs(f), &probs(b)) < 1e-5, "text {i} {:?}", texts[i]);
    }
    // Identical texts at different positions score identically, different
    // texts differently: a shuffle would show.
    let p = parity();
    for (i, text) in texts.iter().enumerate() {
        let k = p.sentences.iter().position(|s| s == text).unwrap();
        assert!(max_abs_diff(&probs(&forward[i]), &p.probs[k]) < 1e-4, "text {i} {text:?}");
    }
}

#[test]
fn empty_inputs_are_handled() {
    assert!(model().classify(&[]).unwrap().is_empty());
    assert!(model().embed(&[]).unwrap().is_empty());
    let got = model().classify(&["", "   ", "fine"]).unwrap();
    assert_eq!(got.len(), 3);
    for s in &got {
        assert!(probs(s).iter().all(|p| p.is_finite()));
        assert!((probs(s).iter().sum::<f32>() - 1.0).abs() < 1e-5);
    }
    let e = model().embed(&[""]).unwrap();
    assert!(e[0].iter().all(|v| v.is_finite()));
}

#[test]
fn long_texts_are_truncated_not_rejected() {
    let long = "the service was slow but the food was great ".repeat(200);
    let got = model().classify(&[&long, "ok"]).unwrap();
    assert_eq!(got.len(), 2);
}

#[test]
fn describe_reports_labels_in_score_order() {
    let info = model().describe();
    assert_eq!(info.labels, ["negative", "neutral", "positive"]);
    assert_eq!(info.max_tokens, 256);
    assert_eq!(info.task, "sentiment");
}

#[cfg(feature = "bundled")]
#[test]
fn bundled_assets_give_the_same_model() {
    let bundled = SentimentModel::bundled().expect("bundled model loads");
    let texts = sentences();
    let a = bundled.classify(&texts).unwrap();
    let b = model().classify(&texts).unwrap();
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(probs(x), probs(y));
    }
}

#[test]
fn the_api_catalog_describes_this_model() {
    assert_eq!(model().describe(), ferry_core::catalog()[0]);
}
