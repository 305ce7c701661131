//! Sentiment: the labels, the scores a model produces, and the port the worker
//! calls to get them.

use crate::language::{Language, MODEL_LANGUAGES, MULTILINGUAL_LANGUAGES, SentimentModelChoice};
use serde::{Deserialize, Serialize};

/// The three classes, in the order every model file and score vector uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sentiment {
    Negative,
    Neutral,
    Positive,
}

impl Sentiment {
    pub const ALL: [Sentiment; 3] = [Sentiment::Negative, Sentiment::Neutral, Sentiment::Positive];

    pub fn as_str(self) -> &'static str {
        match self {
            Sentiment::Negative => "negative",
            Sentiment::Neutral => "neutral",
            Sentiment::Positive => "positive",
        }
    }
}

/// Class probabilities for one text; they sum to 1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SentimentScores {
    #[serde(serialize_with = "six_places")]
    pub negative: f32,
    #[serde(serialize_with = "six_places")]
    pub neutral: f32,
    #[serde(serialize_with = "six_places")]
    pub positive: f32,
}

/// Probabilities as clients see them: six decimals, not f32's widened noise
/// (0.9944103360176086).
fn six_places<S: serde::Serializer>(x: &f32, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((f64::from(*x) * 1e6).round() / 1e6)
}

impl SentimentScores {
    /// Builds scores from probabilities in [`Sentiment::ALL`] order.
    pub fn from_probs(p: [f32; 3]) -> Self {
        SentimentScores { negative: p[0], neutral: p[1], positive: p[2] }
    }

    pub fn label(&self) -> Sentiment {
        let mut best = (Sentiment::Negative, self.negative);
        for (s, p) in [(Sentiment::Neutral, self.neutral), (Sentiment::Positive, self.positive)] {
            if p > best.1 {
                best = (s, p);
            }
        }
        best.0
    }

    pub fn confidence(&self) -> f32 {
        self.negative.max(self.neutral).max(self.positive)
    }

    /// The prediction for a text in `language` ([`crate::language::identify`]).
    pub fn prediction(self, language: Option<Language>) -> SentimentPrediction {
        SentimentPrediction {
            sentiment: self.label(),
            confidence: self.confidence(),
            scores: self,
            language: language.map(|l| l.code.to_owned()),
            warning: language.and_then(Language::warning),
        }
    }
}

/// What a client sees for one text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentimentPrediction {
    pub sentiment: Sentiment,
    #[serde(serialize_with = "six_places")]
    pub confidence: f32,
    pub scores: SentimentScores,
    /// The text's language (ISO 639-1), `None` for text with no words.
    pub language: Option<String>,
    /// Why the answer should not be trusted: a language the model was not
    /// trained on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

/// The port the worker runs texts through. Implementations are CPU-bound and
/// synchronous: callers run them on a blocking thread, never on the executor.
pub trait SentimentClassifier: Send + Sync + 'static {
    /// One score per text, in input order. Implementations batch internally.
    fn classify(&self, texts: &[&str]) -> Result<Vec<SentimentScores>, ModelError>;

    /// Name and version shown by `GET /v1/models`.
    fn describe(&self) -> ModelInfo;

    /// What every result records as its producer: the model id and a hash of
    /// the exact model files, e.g. `ferry-sentiment-minilm-vader-v1@sha256:0123…`.
    fn provenance(&self) -> String {
        self.describe().id
    }

    /// What a result scored by `model` records as its producer. A classifier
    /// that sends other languages to a model of their own
    /// ([`Language::sentiment_model`]) names it here; one model for every
    /// text names itself.
    fn provenance_of(&self, model: SentimentModelChoice) -> String {
        let _ = model;
        self.provenance()
    }
}

/// The producer each result names, by the model that scored it: asked of the
/// classifier once, not per text.
#[derive(Debug, Clone)]
pub struct Provenances {
    english: String,
    multilingual: String,
}

impl Provenances {
    pub fn of(classifier: &dyn SentimentClassifier) -> Self {
        Provenances {
            english: classifier.provenance_of(SentimentModelChoice::English),
            multilingual: classifier.provenance_of(SentimentModelChoice::Multilingual),
        }
    }

    /// The producer of the result for a text in `language`.
    pub fn for_language(&self, language: Option<Language>) -> &str {
        match Language::sentiment_model(language) {
            SentimentModelChoice::English => &self.english,
            SentimentModelChoice::Multilingual => &self.multilingual,
        }
    }
}

/// Identifier of the sentiment model for text that is clearly not English.
pub const MULTILINGUAL_MODEL_ID: &str = "ferry-sentiment-usem3-v1";
/// Its longest input in tokens; longer texts are cut.
pub const MULTILINGUAL_MAX_TOKENS: usize = 512;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ModelInfo {
    pub id: String,
    pub task: String,
    pub encoder: String,
    pub labels: Vec<String>,
    pub max_tokens: usize,
    /// What it was trained on (ISO 639-1); results for other languages carry
    /// a warning.
    pub languages: Vec<String>,
}

/// [`MODEL_LANGUAGES`] as a [`ModelInfo`] lists them.
pub fn model_languages() -> Vec<String> {
    MODEL_LANGUAGES.iter().map(|&l| l.to_owned()).collect()
}

#[derive(Debug, thiserror::Error)]
#[error("model failed: {0}")]
pub struct ModelError(pub String);

/// The models this build of Ferry serves, for `GET /v1/models`. The API
/// answers from here without linking the model crate.
pub fn catalog() -> Vec<ModelInfo> {
    vec![
        ModelInfo {
            id: "ferry-sentiment-minilm-vader-v1".into(),
            task: "sentiment".into(),
            encoder: "all-MiniLM-L6-v2".into(),
            labels: Sentiment::ALL.iter().map(|s| s.as_str().to_owned()).collect(),
            max_tokens: 256,
            languages: model_languages(),
        },
        ModelInfo {
            id: MULTILINGUAL_MODEL_ID.into(),
            task: "sentiment".into(),
            encoder: "Universal Sentence Encoder multilingual v3".into(),
            labels: Sentiment::ALL.iter().map(|s| s.as_str().to_owned()).collect(),
            max_tokens: MULTILINGUAL_MAX_TOKENS,
            languages: MULTILINGUAL_LANGUAGES.iter().map(|&l| l.to_owned()).collect(),
        },
        ModelInfo {
            id: crate::resume::RESUME_MODEL_ID.into(),
            task: "resume-match".into(),
            encoder: "all-MiniLM-L6-v2".into(),
            // A required skill's status in the match.
            labels: ["matched", "near", "missing"].map(String::from).to_vec(),
            max_tokens: 256,
            languages: model_languages(),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_is_the_most_probable_class() {
        let s = SentimentScores::from_probs([0.1, 0.2, 0.7]);
        assert_eq!(s.label(), Sentiment::Positive);
        assert!((s.confidence() - 0.7).abs() < 1e-6);
        let s = SentimentScores::from_probs([0.5, 0.4, 0.1]);
        assert_eq!(s.label(), Sentiment::Negative);
        assert_eq!(serde_json::to_string(&s.label()).unwrap(), "\"negative\"");
    }

    #[test]
    fn a_prediction_names_its_language_and_warns_only_off_the_model() {
        let scores = SentimentScores::from_probs([0.1, 0.8, 0.1]);
        let english =
            serde_json::to_value(scores.prediction(crate::language::identify("It arrived on Tuesday"))).unwrap();
        assert_eq!(english["language"], "en");
        assert!(english.get("warning").is_none(), "{english}");
        let swedish =
            serde_json::to_value(scores.prediction(crate::language::identify("Fantastisk telefon, jag älskar den")))
                .unwrap();
        assert_eq!(swedish["language"], "sv");
        assert!(swedish["warning"].as_str().unwrap().starts_with("the text looks Swedish (sv)"), "{swedish}");
        let nothing = serde_json::to_value(scores.prediction(None)).unwrap();
        assert!(nothing["language"].is_null() && nothing.get("warning").is_none(), "{nothing}");
    }
}
