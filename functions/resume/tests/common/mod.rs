//! What the corpus tests share: reading a corpus and holding figures to floors.

use serde_json::Value;

/// `tests/fixtures/<folder>/corpus.json`.
pub fn corpus(folder: &str) -> Value {
    let path = format!("{}/../../tests/fixtures/{folder}/corpus.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Every figure at or above its floor.
pub fn at_least<const N: usize>(figures: [f64; N], floor: [f64; N]) {
    for (got, min) in figures.into_iter().zip(floor) {
        assert!(got + 1e-9 >= min, "a figure fell below its floor: {figures:.2?} against {floor:.2?}");
    }
}
