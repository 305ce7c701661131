//! Where the model files come from: a directory, or the binary itself.

use std::path::{Path, PathBuf};

use ferry_core::ModelError;
use sha2::{Digest, Sha256};

/// HF tokenizers file of all-MiniLM-L6-v2 (BERT uncased WordPiece).
pub const TOKENIZER_FILE: &str = "tokenizer.json";
/// all-MiniLM-L6-v2 encoder, fp32 weights, as NNEF (a tar) decluttered by
/// tract: built from the ONNX export by [`crate::encoder_onnx_to_nnef`].
pub const ENCODER_FILE: &str = "encoder.nnef.tar";
/// Sentiment head, ONNX: `features` [N, 388] -> `logits` [N, 3].
pub const HEAD_FILE: &str = "sentiment_head.onnx";

/// The contents of the three model files.
#[derive(Clone, Copy)]
pub struct ModelAssets<'a> {
    /// `tokenizer.json`
    pub tokenizer: &'a [u8],
    /// The encoder file ([`ENCODER_FILE`]).
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
        self.digests().all
    }

    /// [`Self::sha256`], and the same hash stopped after the tokenizer and the
    /// encoder (the part the skill model shares), for the price of one pass.
    pub(crate) fn digests(&self) -> Digests {
        let mut hash = Sha256::new();
        for file in [self.tokenizer, self.encoder] {
            hash_file(&mut hash, file);
        }
        let encoder = hex::encode(hash.clone().finalize());
        hash_file(&mut hash, self.head);
        Digests { encoder, all: hex::encode(hash.finalize()) }
    }
}

pub(crate) struct Digests {
    /// Over the tokenizer and the encoder.
    pub(crate) encoder: String,
    /// Over all three files: [`ModelAssets::sha256`].
    pub(crate) all: String,
}

/// SHA-256 over `files`, each length-prefixed, hex.
pub(crate) fn sha256_of(files: &[&[u8]]) -> String {
    let mut hash = Sha256::new();
    for file in files {
        hash_file(&mut hash, file);
    }
    hex::encode(hash.finalize())
}

fn hash_file(hash: &mut Sha256, file: &[u8]) {
    hash.update((file.len() as u64).to_le_bytes());
    hash.update(file);
}

/// Subdirectory of the model directory that holds the skill files.
pub const SKILLS_DIR: &str = "skills";
/// The skill gazetteer: UTF-8, one lower-case keyword per line.
pub const GAZETTEER_FILE: &str = "skills.txt";
/// The skill context classifier, ONNX: `embedding` [N, 384] -> `logit` [N, 1].
pub const SKILL_MLP_FILE: &str = "skill_mlp.onnx";

/// The contents of the skill model's own files (the encoder and tokenizer
/// come from the [`crate::SentimentModel`] it is built with).
#[derive(Clone, Copy)]
pub struct SkillAssets<'a> {
    /// `skills/skills.txt`
    pub gazetteer: &'a [u8],
    /// `skills/skill_mlp.onnx`
    pub mlp: &'a [u8],
}

impl std::fmt::Debug for SkillAssets<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SkillAssets")
            .field("gazetteer_bytes", &self.gazetteer.len())
            .field("mlp_bytes", &self.mlp.len())
            .finish()
    }
}

impl SkillAssets<'_> {
    /// SHA-256 over the two skill files and the hex digest of the shared
    /// encoder + tokenizer, each length-prefixed, hex.
    pub(crate) fn sha256(&self, encoder_digest: &str) -> String {
        let mut hash = Sha256::new();
        for file in [self.gazetteer, self.mlp, encoder_digest.as_bytes()] {
            hash_file(&mut hash, file);
        }
        hex::encode(hash.finalize())
    }
}

#[cfg(feature = "bundled")]
impl SkillAssets<'static> {
    /// The files in this crate's `assets/skills/`, compiled into the binary.
    pub const BUNDLED: SkillAssets<'static> = SkillAssets {
        gazetteer: include_bytes!("../assets/skills/skills.txt"),
        mlp: include_bytes!("../assets/skills/skill_mlp.onnx"),
    };
}

#[cfg(feature = "bundled")]
impl ModelAssets<'static> {
    /// The files in this crate's `assets/`, compiled into the binary.
    pub const BUNDLED: ModelAssets<'static> = ModelAssets {
        tokenizer: include_bytes!("../assets/tokenizer.json"),
        encoder: include_bytes!("../assets/encoder.nnef.tar"),
        head: include_bytes!("../assets/sentiment_head.onnx"),
    };
}

/// This crate's `assets/` directory, as seen at compile time.
pub fn default_assets_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets")
}

pub(crate) struct OwnedAssets {
    tokenizer: Vec<u8>,
    /// Mapped, not read: decoding copies out what it needs, so reading the
    /// 90 MB into a buffer of its own first only cost a copy and its page
    /// faults (78-98 ms of a 370-400 ms `ferry predict hello` here).
    encoder: memmap2::Mmap,
    head: Vec<u8>,
}

impl OwnedAssets {
    pub(crate) fn as_assets(&self) -> ModelAssets<'_> {
        ModelAssets { tokenizer: &self.tokenizer, encoder: &self.encoder, head: &self.head }
    }

    /// The tokenizer and the head, dropping the encoder file's bytes.
    pub(crate) fn into_small_files(self) -> (Vec<u8>, Vec<u8>) {
        (self.tokenizer, self.head)
    }
}

pub(crate) fn read(dir: &Path, name: &str) -> Result<Vec<u8>, ModelError> {
    let path = dir.join(name);
    std::fs::read(&path).map_err(|e| ModelError(format!("cannot read model file {}: {e}", path.display())))
}

pub(crate) fn map(dir: &Path, name: &str) -> Result<memmap2::Mmap, ModelError> {
    let path = dir.join(name);
    let failed = |e: std::io::Error| ModelError(format!("cannot read model file {}: {e}", path.display()));
    let file = std::fs::File::open(&path).map_err(failed)?;
    // SAFETY: a read-only mapping, dropped once the encoder is decoded. Model
    // files are not written while a process loads them; one replaced by a
    // rename leaves this mapping on the old file. (One truncated in place at
    // that instant would fault the process, as with any mapped model file.)
    unsafe { memmap2::Mmap::map(&file) }.map_err(failed)
}

pub(crate) fn read_dir(dir: &Path) -> Result<OwnedAssets, ModelError> {
    Ok(OwnedAssets {
        tokenizer: read(dir, TOKENIZER_FILE)?,
        encoder: map(dir, ENCODER_FILE)?,
        head: read(dir, HEAD_FILE)?,
    })
}

pub(crate) struct OwnedSkillAssets {
    gazetteer: Vec<u8>,
    mlp: Vec<u8>,
}

impl OwnedSkillAssets {
    pub(crate) fn as_assets(&self) -> SkillAssets<'_> {
        SkillAssets { gazetteer: &self.gazetteer, mlp: &self.mlp }
    }
}

/// Reads `dir/skills/…`: the layout of this crate's `assets/`.
pub(crate) fn read_skill_dir(dir: &Path) -> Result<OwnedSkillAssets, ModelError> {
    let dir = dir.join(SKILLS_DIR);
    Ok(OwnedSkillAssets { gazetteer: read(&dir, GAZETTEER_FILE)?, mlp: read(&dir, SKILL_MLP_FILE)? })
}
