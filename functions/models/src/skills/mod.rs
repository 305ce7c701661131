//! Skill extraction: a port of the PyPI package skill-extractor 0.2.0 (MIT,
//! Qarera) that returns what the package returns on the same encoder.
//!
//! The pipeline, per text (`assets/skills/README.md` has the full spec):
//!
//! 1. **Gazetteer** ([`SkillModel::candidates`]): lower-case the text with
//!    Python's `str.lower()` and find the 30,957 keywords of `skills.txt` the
//!    way FlashText does (ASCII-only word characters, longest match, no
//!    overlaps, and its skipping quirks; see the `gazetteer` module).
//! 2. **Context**: the mention's word index is `len(text[:start].split())`,
//!    with Python's whitespace and the package's habit of slicing the original
//!    text with an offset into the lower-cased one; the context is the 20
//!    words before it, that word and the 20 after, joined by single spaces,
//!    in the original case.
//! 3. **Input string**: `"{skill} : {context}"`.
//! 4. **Embedding** ([`SkillModel::embed_candidates`]): the shared MiniLM
//!    encoder (mean-pooled, L2-normalised, truncated at 256 tokens).
//! 5. **Classifier** ([`SkillModel::classify`]): `skill_mlp.onnx` gives a
//!    logit; the probability is its sigmoid and a mention counts iff
//!    `probability >= 0.5` ([`SKILL_THRESHOLD`]).
//! 6. **Output** ([`SkillModel::skills`]): the sorted set of keywords with at
//!    least one kept mention. Skills are the lower-case keywords themselves:
//!    the package has no aliases (`kafka` and `apache kafka` are distinct).
//!
//! On top of the package, [`filter`] removes mentions that are ordinary
//! words in context (issue 16); [`SkillMode::Package`] skips it for parity.
//!
//! The MiniLM encoder is not duplicated: a [`SkillModel`] is built from a
//! [`SentimentModel`] and shares its encoder.

pub mod filter;
mod gazetteer;
mod mlp;
mod pystr;

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;

use ferry_core::ModelError;

use crate::SentimentModel;
use crate::assets::{self, SkillAssets};
use crate::encoder::{EMBEDDING_DIM, Encoder, Layer};
pub use filter::SkillMode;
use gazetteer::{Gazetteer, Hit};
use mlp::{Mlp, sigmoid};
use pystr::{Lowered, py_split, word_counts_at};

/// Identifier used in [`SkillModel::provenance`].
pub const SKILL_MODEL_ID: &str = "skill-extractor-0.2.0-minilm";
/// A mention is a skill iff its probability is at least this (the package's
/// default threshold; it compares the probability, not the logit).
pub const SKILL_THRESHOLD: f32 = 0.5;
/// Words of context before the mention's word (`CONTEXT_WORDS_BEFORE`).
const CONTEXT_BEFORE: usize = 20;
/// The mention's word and the words after it (`CONTEXT_WORDS_AFTER`).
const CONTEXT_AFTER: usize = 21;
/// Between the keyword and the context in the input string.
const SEPARATOR: &str = " : ";

/// A gazetteer match with its context: what the classifier judges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The matched keyword, lower case, as in the gazetteer.
    pub skill: String,
    /// UTF-8 byte offsets of the mention in the original text. When
    /// lower-casing expands a character (`İ` -> `i̇`) and the match covers only
    /// part of the expansion, the span covers the whole original character.
    pub start: usize,
    /// See [`Candidate::start`].
    pub end: usize,
    /// Code-point offsets into Python's `text.lower()`: the package's offsets.
    pub lower_start: usize,
    /// See [`Candidate::lower_start`].
    pub lower_end: usize,
    /// `len(text[:lower_start].split())`: the word the context is centred on.
    pub word_idx: usize,
    /// `"{skill} : {context}"`, the string that is embedded.
    pub input: String,
}

impl Candidate {
    /// The context window (the part of [`Candidate::input`] after the keyword).
    pub fn context(&self) -> &str {
        &self.input[self.skill.len() + SEPARATOR.len()..]
    }

    /// The mention with the classifier's verdict on it.
    pub fn judged(self, probability: f32) -> SkillMention {
        SkillMention { skill: self.skill, start: self.start, end: self.end, probability }
    }
}

/// One gazetteer mention and the classifier's verdict on it.
#[derive(Debug, Clone, PartialEq)]
pub struct SkillMention {
    /// The matched keyword, lower case, as in the gazetteer.
    pub skill: String,
    /// UTF-8 byte offsets of the mention in the original text.
    pub start: usize,
    /// See [`SkillMention::start`].
    pub end: usize,
    /// P(this mention is a skill).
    pub probability: f32,
}

impl SkillMention {
    /// Whether the package would count this mention: `probability >= 0.5`.
    pub fn is_skill(&self) -> bool {
        self.probability >= SKILL_THRESHOLD
    }
}

/// The skill extractor: gazetteer + the shared MiniLM encoder + classifier.
/// `Send + Sync`; build once per process.
pub struct SkillModel {
    encoder: Arc<Encoder>,
    gazetteer: Gazetteer,
    mlp: Mlp,
    /// Over the skill files and the encoder's digest.
    sha256: String,
}

impl std::fmt::Debug for SkillModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SkillModel")
            .field("id", &SKILL_MODEL_ID)
            .field("keywords", &self.gazetteer.len())
            .finish_non_exhaustive()
    }
}

impl SkillModel {
    /// Loads [`crate::GAZETTEER_FILE`] and [`crate::SKILL_MLP_FILE`] from
    /// `dir/`[`crate::SKILLS_DIR`] (the layout of this crate's `assets/`) and
    /// shares `sentiment`'s encoder.
    pub fn load(sentiment: &SentimentModel, dir: &Path) -> Result<Self, ModelError> {
        let files = assets::read_skill_dir(dir)?;
        Self::from_assets(sentiment, files.as_assets())
    }

    /// [`SkillModel::load`] from this crate's `assets/` directory, found
    /// through the path the crate was compiled at (checkouts, tests).
    pub fn load_default(sentiment: &SentimentModel) -> Result<Self, ModelError> {
        Self::load(sentiment, &crate::default_assets_dir())
    }

    /// Builds the model from in-memory skill files, sharing `sentiment`'s
    /// encoder and tokenizer (no copy: the encoder is reference-counted).
    pub fn from_assets(sentiment: &SentimentModel, assets: SkillAssets<'_>) -> Result<Self, ModelError> {
        let (encoder, encoder_sha256) = sentiment.shared_encoder();
        let sha256 = assets.sha256(encoder_sha256);
        let gazetteer = Gazetteer::parse(assets.gazetteer)?;
        let mlp = Mlp::new(assets.mlp)?;
        Ok(SkillModel { encoder, gazetteer, mlp, sha256 })
    }

    /// Builds the model from the skill files compiled into the binary.
    #[cfg(feature = "bundled")]
    pub fn bundled(sentiment: &SentimentModel) -> Result<Self, ModelError> {
        Self::from_assets(sentiment, SkillAssets::BUNDLED)
    }

    /// SHA-256 (hex) over the skill files and the encoder + tokenizer digest.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// `skill-extractor-0.2.0-minilm@sha256:<first 16 hex digits>`.
    pub fn provenance(&self) -> String {
        format!("{SKILL_MODEL_ID}@sha256:{}", &self.sha256[..16])
    }

    /// Number of gazetteer keywords.
    pub fn keyword_count(&self) -> usize {
        self.gazetteer.len()
    }

    /// Stage 1-3: every gazetteer match in text order, with its context
    /// window and input string.
    pub fn candidates(&self, text: &str) -> Vec<Candidate> {
        let lowered = Lowered::new(text);
        let hits = self.gazetteer.find(lowered.as_str());
        if hits.is_empty() {
            return Vec::new();
        }
        let words = py_split(text);
        let lower_starts: Vec<usize> = hits.iter().map(|h| lowered.code_point(h.start)).collect();
        // The package slices the original text with offsets into the
        // lower-cased one (`text[:start]`); keep that when they differ.
        let word_idx = word_counts_at(text, &lower_starts);
        hits.iter()
            .zip(lower_starts)
            .zip(word_idx)
            .map(|((hit, lower_start), word_idx)| self.candidate(&lowered, &words, *hit, lower_start, word_idx))
            .collect()
    }

    fn candidate(&self, lowered: &Lowered, words: &[&str], hit: Hit, lower_start: usize, word_idx: usize) -> Candidate {
        let skill = self.gazetteer.keyword(hit.keyword);
        let hi = (word_idx + CONTEXT_AFTER).min(words.len());
        let lo = word_idx.saturating_sub(CONTEXT_BEFORE).min(hi);
        let window = &words[lo..hi];
        let mut input =
            String::with_capacity(skill.len() + SEPARATOR.len() + window.iter().map(|w| w.len() + 1).sum::<usize>());
        input.push_str(skill);
        input.push_str(SEPARATOR);
        for (i, word) in window.iter().enumerate() {
            if i > 0 {
                input.push(' ');
            }
            input.push_str(word);
        }
        Candidate {
            skill: skill.to_string(),
            start: lowered.original_start(hit.start),
            end: lowered.original_end(hit.end),
            lower_start,
            lower_end: lowered.code_point(hit.end),
            word_idx,
            input,
        }
    }

    /// Stage 4: the embeddings of the candidates' input strings, row-major
    /// `[candidates.len(), EMBEDDING_DIM]`.
    pub fn embed_candidates(&self, candidates: &[Candidate]) -> Result<Vec<f32>, ModelError> {
        // In a text shorter than the window every occurrence of a keyword has
        // the same input string: embed each distinct string once.
        let mut unique: Vec<&str> = Vec::new();
        let mut seen: HashMap<&str, usize> = HashMap::new();
        let slots: Vec<usize> = candidates
            .iter()
            .map(|c| {
                *seen.entry(&c.input).or_insert_with(|| {
                    unique.push(&c.input);
                    unique.len() - 1
                })
            })
            .collect();
        let mut rows = vec![0f32; unique.len() * EMBEDDING_DIM];
        self.encoder.embed_batched(&unique, Layer::Last, |indices, embeddings| {
            for (&i, e) in indices.iter().zip(embeddings.chunks_exact(EMBEDDING_DIM)) {
                rows[i * EMBEDDING_DIM..(i + 1) * EMBEDDING_DIM].copy_from_slice(e);
            }
            Ok(())
        })?;
        Ok(slots.iter().flat_map(|&s| &rows[s * EMBEDDING_DIM..(s + 1) * EMBEDDING_DIM]).copied().collect())
    }

    /// Stage 5: P(skill) for `n` row-major embeddings.
    pub fn classify(&self, embeddings: &[f32], n: usize) -> Result<Vec<f32>, ModelError> {
        if embeddings.len() != n * EMBEDDING_DIM {
            return Err(ModelError(format!(
                "skill classifier: {} values are not {n} embeddings of {EMBEDDING_DIM}",
                embeddings.len()
            )));
        }
        Ok(self.mlp.logits(embeddings, n)?.into_iter().map(sigmoid).collect())
    }

    /// Every gazetteer mention in text order with its probability; the
    /// package keeps those with [`SkillMention::is_skill`].
    pub fn mentions(&self, text: &str) -> Result<Vec<SkillMention>, ModelError> {
        let candidates = self.candidates(text);
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        let embeddings = self.embed_candidates(&candidates)?;
        let probabilities = self.classify(&embeddings, candidates.len())?;
        Ok(candidates.into_iter().zip(probabilities).map(|(c, p)| c.judged(p)).collect())
    }

    /// The package's `extract(text)`: the keywords with at least one mention
    /// kept, sorted (byte order = Python's code-point order), no duplicates.
    pub fn skills(&self, text: &str) -> Result<Vec<String>, ModelError> {
        Ok(skill_set(&self.mentions(text)?))
    }
}

/// The skills among `mentions` as [`SkillModel::skills`] reports them, for
/// callers that want the mentions too without running the model twice.
pub fn skill_set(mentions: &[SkillMention]) -> Vec<String> {
    let kept: BTreeSet<&str> = mentions.iter().filter(|m| m.is_skill()).map(|m| m.skill.as_str()).collect();
    kept.into_iter().map(str::to_string).collect()
}
