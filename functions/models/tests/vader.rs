//! Our VADER against Python's vaderSentiment 3.3.2 (the scores the sentiment
//! head was trained on), on fixtures/vader_python.json.

use ferry_models::vader_features;
use serde::Deserialize;

#[derive(Deserialize)]
struct Fixture {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    text: String,
    vader: [f32; 4],
}

#[test]
fn vader_matches_python_vader() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/vader_python.json");
    let fixture: Fixture = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(fixture.cases.len() > 300);
    let mut mismatches = Vec::new();
    for case in &fixture.cases {
        let got = vader_features(&case.text);
        let diff = got.iter().zip(&case.vader).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
        if diff > 1e-6 {
            mismatches.push(format!("{:?}: rust {got:?} python {:?}", case.text, case.vader));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} differ:\n{}",
        mismatches.len(),
        fixture.cases.len(),
        mismatches.join("\n")
    );
}
