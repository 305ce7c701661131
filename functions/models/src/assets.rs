//! Where the model files come from: a directory, or the binary itself.

use std::path::{Path, PathBuf};

use ferry_core::ModelError;

/// HF tokenizers file of all-MiniLM-L6-v2 (BERT uncased WordPiece).
pub const TOKENIZER_FILE: &str = "tokenizer.json";
/// all-MiniLM-L6-v2 encoder, ONNX, fp32 weights.
pub const ENCODER_FILE: &str = "encoder.onnx";
/// Sentiment head, ONNX: `features` [N, 388] -> `logits` [N, 3].
pub const HEAD_FILE: &str = "sentiment_head.onnx";

/// The contents of the three model files.
#[derive(Clone, Copy)]
pub struct ModelAssets<'a> {
    /// `tokenizer.json`
    pub tokenizer: &'a [u8],
    /// The encoder ONNX file.
    pub encoder: &'a [u8],
    /// `sentiment_head.onnx`
    pub head: &'a [u8],
}

impl std::fmt::Debug for ModelAssets<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelAssets")
            .field("tokenizer_bytes", &self.tokenizer.len())
            .field("encoder_bytes", &self.encoder.len())
            .field("head_bytes", &self.head.len())
            .finish()
    }
}

impl ModelAssets<'_> {
    /// SHA-256 over the files (each length-prefixed, so moving bytes from
    /// one file to another changes it), hex.
    pub fn sha256(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut hash = Sha256::new();
        for file in [self.tokenizer, self.encoder, self.head] {
            hash.update((file.len() as u64).to_le_bytes());
            hash.update(file);
        }
        hex::encode(hash.finalize())
    }
}

#[cfg(feature = "bundled")]
impl ModelAssets<'static> {
    /// The files in this crate's `assets/`, compiled into the binary.
    pub const BUNDLED: ModelAssets<'static> = ModelAssets {
        tokenizer: include_bytes!("../assets/tokenizer.json"),
        encoder: include_bytes!("../assets/encoder.onnx"),
        head: include_bytes!("../assets/sentiment_head.onnx"),
    };
}

/// This crate's `assets/` directory, as seen at compile time.
pub fn default_assets_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets")
}

pub(crate) struct OwnedAssets {
    tokenizer: Vec<u8>,
    encoder: Vec<u8>,
    head: Vec<u8>,
}

impl OwnedAssets {
    pub(crate) fn as_assets(&self) -> ModelAssets<'_> {
        ModelAssets { tokenizer: &self.tokenizer, encoder: &self.encoder, head: &self.head }
    }
}

pub(crate) fn read_dir(dir: &Path) -> Result<OwnedAssets, ModelError> {
    let read = |name: &str| {
        let path = dir.join(name);
        std::fs::read(&path).map_err(|e| ModelError(format!("cannot read model file {}: {e}", path.display())))
    };
    Ok(OwnedAssets { tokenizer: read(TOKENIZER_FILE)?, encoder: read(ENCODER_FILE)?, head: read(HEAD_FILE)? })
}
