//! Ferry's models, run in-process with tract.
//!
//! [`SentimentModel`] is the sentiment classifier behind
//! [`ferry_core::SentimentClassifier`]: all-MiniLM-L6-v2 sentence embeddings
//! of its layer 3 ([`SENTIMENT_OUTPUT`]: 384-d, mean-pooled, L2-normalised)
//! plus the four VADER polarity scores go through a small ONNX head that
//! gives negative / neutral / positive logits.
//!
//! Text that is clearly not English ([`ferry_core::language::Language::sentiment_model`])
//! goes to a second model instead: Universal Sentence Encoder multilingual v3
//! and a head of its own (see [`multilingual`]), read on first use.
//!
//! [`SkillModel`] is a port of the PyPI package skill-extractor 0.2.0: a
//! gazetteer proposes skill mentions, and a small classifier over the MiniLM
//! embedding of each mention's context keeps the real ones (see [`skills`]).
//! It runs on the same encoder as the sentiment model: build it from a
//! [`SentimentModel`] ([`SkillModel::load`], [`SkillModel::from_assets`]) and
//! the 90 MB encoder is loaded once per process.
//!
//! Everything heavy (tokenizer parsing, reading the encoder, tract optimisation)
//! happens once in a constructor; both models are `Send + Sync` and meant
//! to be built once per process and shared (e.g. in an `Arc` or a `OnceLock`).
//! Inference is synchronous and CPU-bound: run it on a blocking thread. The
//! sub-batches of one call run on rayon's pool, so a large call uses every
//! core.

mod alloc;
mod assets;
mod encoder;
mod head;
pub mod multilingual;
pub mod skills;
mod vader;

use std::path::Path;
use std::sync::Arc;

use ferry_core::language::{self, Language, SentimentModelChoice};
use ferry_core::{ModelError, ModelInfo, Sentiment, SentimentClassifier, SentimentScores};

pub use alloc::HugePageAlloc;
pub use assets::{
    ENCODER_FILE, GAZETTEER_FILE, HEAD_FILE, ModelAssets, SKILL_MLP_FILE, SKILLS_DIR, SkillAssets, TOKENIZER_FILE,
    default_assets_dir,
};
pub use encoder::{
    EMBEDDING_DIM, LAST_OUTPUT, MAX_BATCH, MAX_TOKENS, SENTIMENT_OUTPUT, drop_nan_guards, encoder_onnx_to_nnef,
};
pub use multilingual::{
    MULTILINGUAL_DIR, MULTILINGUAL_MAX_TOKENS, MULTILINGUAL_MODEL_ID, MultilingualAssets, USEM3_FILE,
    USEM3_TOKENIZER_FILE,
};
pub use skills::{Candidate, SKILL_MODEL_ID, SKILL_THRESHOLD, SkillMention, SkillMode, SkillModel, skill_set};
pub use vader::vader_features;

use encoder::{Encoder, Layer};
use head::Head;
use multilingual::LazyMultilingual;

/// Identifier reported by [`SentimentClassifier::describe`].
pub const MODEL_ID: &str = "ferry-sentiment-minilm-vader-v1";

/// The sentiment model: tokenizer + MiniLM encoder + VADER + sentiment head,
/// and the multilingual model for text that is clearly not English.
pub struct SentimentModel {
    /// Shared with every [`SkillModel`] built from this model.
    encoder: Arc<Encoder>,
    head: Head,
    /// SHA-256 over the three model files, in a fixed order.
    sha256: String,
    /// SHA-256 over the tokenizer and the encoder only (for [`SkillModel`]'s provenance).
    encoder_sha256: String,
    multilingual: LazyMultilingual,
}

impl std::fmt::Debug for SentimentModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentimentModel").field("id", &MODEL_ID).finish_non_exhaustive()
    }
}

impl SentimentModel {
    /// Loads the model files ([`TOKENIZER_FILE`], [`ENCODER_FILE`],
    /// [`HEAD_FILE`]) from `dir` and optimises them for this machine. The
    /// multilingual model's files ([`MULTILINGUAL_DIR`]) must be there too;
    /// they are read on first use.
    pub fn load(dir: &Path) -> Result<Self, ModelError> {
        let multilingual = LazyMultilingual::in_dir(dir)?;
        let files = assets::read_dir(dir)?;
        let (graph, digests) = Self::read_and_hash(files.as_assets());
        // The mapped encoder file goes before the stacks are cut.
        let (tokenizer, head) = files.into_small_files();
        Self::build(&tokenizer, graph?, &head, digests, multilingual)
    }

    /// Loads the models from the assets shipped in this crate's `assets/`
    /// directory, found through the path the crate was compiled at. Works for
    /// `cargo run` and tests in a checkout; a deployed binary should use
    /// [`SentimentModel::load`] (or `bundled()` with the `bundled` feature).
    pub fn load_default() -> Result<Self, ModelError> {
        Self::load(&default_assets_dir())
    }

    /// Builds the model from in-memory file contents, with the multilingual
    /// model's files in `multilingual_dir`/[`MULTILINGUAL_DIR`].
    pub fn from_assets(assets: ModelAssets<'_>, multilingual_dir: &Path) -> Result<Self, ModelError> {
        let multilingual = LazyMultilingual::in_dir(multilingual_dir)?;
        let (graph, digests) = Self::read_and_hash(assets);
        Self::build(assets.tokenizer, graph?, assets.head, digests, multilingual)
    }

    /// Hashing 90 MB takes a core ~50 ms: done beside the reading.
    fn read_and_hash(assets: ModelAssets<'_>) -> (Result<encoder::EncoderGraph, ModelError>, assets::Digests) {
        std::thread::scope(|scope| {
            let digests = scope.spawn(|| assets.digests());
            let graph = encoder::read_graph(assets.encoder);
            (graph, digests.join().expect("hashing does not panic"))
        })
    }

    fn build(
        tokenizer: &[u8],
        graph: encoder::EncoderGraph,
        head: &[u8],
        digests: assets::Digests,
        multilingual: LazyMultilingual,
    ) -> Result<Self, ModelError> {
        let encoder = Arc::new(Encoder::new(tokenizer, graph)?);
        let head = Head::new(head)?;
        Ok(SentimentModel { encoder, head, sha256: digests.all, encoder_sha256: digests.encoder, multilingual })
    }

    /// Builds the model from the assets compiled into the binary, so it needs
    /// no files at run time (Lambda zips, fresh clones, `cargo run`).
    #[cfg(feature = "bundled")]
    pub fn bundled() -> Result<Self, ModelError> {
        let assets = ModelAssets::BUNDLED;
        let (graph, digests) = Self::read_and_hash(assets);
        Self::build(assets.tokenizer, graph?, assets.head, digests, LazyMultilingual::bundled())
    }

    /// SHA-256 (hex) of the model files this instance was built from.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// The encoder for other models to share, with its digest.
    pub(crate) fn shared_encoder(&self) -> (Arc<Encoder>, &str) {
        (Arc::clone(&self.encoder), &self.encoder_sha256)
    }

    /// Sentence embeddings (the encoder's last layer, [`LAST_OUTPUT`]): one
    /// L2-normalised [`EMBEDDING_DIM`]-d vector per text, in input order.
    /// Texts longer than [`MAX_TOKENS`] tokens are truncated.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, ModelError> {
        let mut out = vec![Vec::new(); texts.len()];
        self.encoder.embed_batched(texts, Layer::Last, |indices, embeddings| {
            for (&i, e) in indices.iter().zip(embeddings.chunks_exact(EMBEDDING_DIM)) {
                out[i] = e.to_vec();
            }
            Ok(())
        })?;
        Ok(out)
    }
}

impl SentimentModel {
    /// The English model's scores for `texts`, in order, whatever their
    /// language (what `assets/parity.json`'s reference computes).
    pub fn classify_english(&self, texts: &[&str]) -> Result<Vec<SentimentScores>, ModelError> {
        let mut out = vec![None; texts.len()];
        self.encoder.embed_batched(texts, Layer::Sentiment, |indices, embeddings| {
            let mut features = Vec::with_capacity(indices.len() * head::FEATURES);
            for (&i, e) in indices.iter().zip(embeddings.chunks_exact(EMBEDDING_DIM)) {
                features.extend_from_slice(e);
                features.extend_from_slice(&vader_features(texts[i]));
            }
            let probs = self.head.probabilities(&features, indices.len())?;
            for (&i, p) in indices.iter().zip(probs) {
                out[i] = Some(SentimentScores::from_probs(p));
            }
            Ok(())
        })?;
        out.into_iter().map(|s| s.ok_or_else(|| ModelError("internal: a text got no score".into()))).collect()
    }

    /// The multilingual model's scores for `texts`, in order.
    pub fn classify_multilingual(&self, texts: &[&str]) -> Result<Vec<SentimentScores>, ModelError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        self.multilingual.get()?.classify(texts)
    }

    /// The multilingual model's token ids for `text` (`<s>` and `</s>` included).
    pub fn multilingual_token_ids(&self, text: &str) -> Result<Vec<i64>, ModelError> {
        self.multilingual.get()?.token_ids(text)
    }
}

impl SentimentClassifier for SentimentModel {
    /// Each text goes to the model its language picks
    /// ([`Language::sentiment_model`]), then the scores go back in order.
    fn classify(&self, texts: &[&str]) -> Result<Vec<SentimentScores>, ModelError> {
        let (english, other): (Vec<usize>, Vec<usize>) = (0..texts.len())
            .partition(|&i| Language::sentiment_model(language::identify(texts[i])) == SentimentModelChoice::English);
        let pick = |indices: &[usize]| indices.iter().map(|&i| texts[i]).collect::<Vec<_>>();
        let mut out = vec![None; texts.len()];
        for (indices, scores) in
            [(&english, self.classify_english(&pick(&english))?), (&other, self.classify_multilingual(&pick(&other))?)]
        {
            for (&i, s) in indices.iter().zip(scores) {
                out[i] = Some(s);
            }
        }
        out.into_iter().map(|s| s.ok_or_else(|| ModelError("internal: a text got no score".into()))).collect()
    }

    fn provenance_of(&self, model: SentimentModelChoice) -> String {
        match model {
            SentimentModelChoice::English => self.provenance(),
            SentimentModelChoice::Multilingual => self.multilingual.provenance(),
        }
    }

    /// `ferry-sentiment-minilm-vader-v1@sha256:<first 16 hex digits>`: enough
    /// to tell model builds apart in every result without bloating them.
    fn provenance(&self) -> String {
        format!("{MODEL_ID}@sha256:{}", &self.sha256[..16])
    }

    fn describe(&self) -> ModelInfo {
        ModelInfo {
            id: MODEL_ID.to_string(),
            task: "sentiment".to_string(),
            encoder: "all-MiniLM-L6-v2".to_string(),
            labels: Sentiment::ALL.iter().map(|s| s.as_str().to_string()).collect(),
            max_tokens: MAX_TOKENS,
            languages: ferry_core::sentiment::model_languages(),
        }
    }
}

/// Turns any displayable error (tract's `anyhow`, tokenizers' boxed errors)
/// into the port's error, keeping the cause chain.
pub(crate) fn model_error(context: &str, e: impl std::fmt::Display) -> ModelError {
    ModelError(format!("{context}: {e:#}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync + 'static>() {}

    #[test]
    fn models_are_shareable_across_threads() {
        assert_send_sync::<SentimentModel>();
        assert_send_sync::<SkillModel>();
    }
}
