//! Tokenizer + MiniLM encoder + mean pooling: texts to sentence embeddings.

use std::io::Cursor;
use std::sync::Arc;

use ferry_core::ModelError;
use tokenizers::{Encoding, Tokenizer, TruncationParams};
use tract_onnx::prelude::tract_data::internal::{bail, ensure};
use tract_onnx::prelude::*;

use crate::model_error;

/// Width of the sentence embedding.
pub const EMBEDDING_DIM: usize = 384;
/// Longest input in tokens (all-MiniLM-L6-v2's `max_seq_length`, counting
/// `[CLS]` and `[SEP]`); longer texts are truncated.
pub const MAX_TOKENS: usize = 256;
/// Most texts run through the encoder at once. Texts are sorted by length
/// first, so each sub-batch is padded only to its own longest text.
pub const MAX_BATCH: usize = 32;

/// The encoder's inputs, in the order [`Encoder::run`] builds them.
const INPUTS: [&str; 3] = ["input_ids", "attention_mask", "token_type_ids"];

type Plan = Arc<TypedRunnableModel>;

pub(crate) struct Encoder {
    tokenizer: Tokenizer,
    plan: Plan,
    /// For each of the model's inputs, its index in [`INPUTS`].
    input_order: Vec<usize>,
}

impl Encoder {
    pub(crate) fn new(tokenizer_json: &[u8], onnx: &[u8]) -> Result<Self, ModelError> {
        let tokenizer = load_tokenizer(tokenizer_json)?;
        let (plan, input_order) = load_encoder(onnx).map_err(|e| model_error("cannot load the encoder", e))?;
        Ok(Encoder { tokenizer, plan, input_order })
    }

    /// Tokenises `texts`, sorts them by length, and hands each encoded
    /// sub-batch to `sink` as (original indices, row-major `[n, EMBEDDING_DIM]`
    /// L2-normalised embeddings).
    pub(crate) fn embed_batched(
        &self,
        texts: &[&str],
        mut sink: impl FnMut(&[usize], &[f32]) -> Result<(), ModelError>,
    ) -> Result<(), ModelError> {
        let encodings = texts
            .iter()
            .map(|t| self.tokenizer.encode(*t, true))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| model_error("tokenizer failed", e))?;
        let mut order: Vec<usize> = (0..texts.len()).collect();
        // Stable: equal lengths keep their input order.
        order.sort_by_key(|&i| encodings[i].len());
        for indices in order.chunks(MAX_BATCH) {
            let batch: Vec<&Encoding> = indices.iter().map(|&i| &encodings[i]).collect();
            let embeddings = self.run(&batch)?;
            sink(indices, &embeddings)?;
        }
        Ok(())
    }

    /// Runs one padded batch; returns `[batch.len(), EMBEDDING_DIM]` row-major.
    fn run(&self, batch: &[&Encoding]) -> Result<Vec<f32>, ModelError> {
        let n = batch.len();
        // Never zero: an empty encoding still gets one (masked) position.
        let len = batch.iter().map(|e| e.len()).max().unwrap_or(0).max(1);
        let mut ids = vec![0i64; n * len];
        let mut mask = vec![0i64; n * len];
        for (row, e) in batch.iter().enumerate() {
            let start = row * len;
            for (j, (&id, &m)) in e.get_ids().iter().zip(e.get_attention_mask()).enumerate() {
                ids[start + j] = id as i64;
                mask[start + j] = m as i64;
            }
        }
        let type_ids = vec![0i64; n * len];
        let shape = [n, len];
        let data = [&ids, &mask, &type_ids];
        let inputs = self
            .input_order
            .iter()
            .map(|&k| Tensor::from_shape(&shape, data[k]).map(TValue::from))
            .collect::<TractResult<TVec<_>>>()
            .map_err(|e| model_error("encoder input", e))?;
        let outputs = self.plan.run(inputs).map_err(|e| model_error("encoder failed", e))?;
        let hidden = outputs[0]
            .try_as_plain_ram()
            .and_then(|v| v.as_slice::<f32>())
            .map_err(|e| model_error("encoder output", e))?;
        if hidden.len() != n * len * EMBEDDING_DIM {
            return Err(ModelError(format!(
                "encoder output has {} values, expected {n}x{len}x{EMBEDDING_DIM}",
                hidden.len()
            )));
        }
        let mut pooled = vec![0f32; n * EMBEDDING_DIM];
        for (row, out) in pooled.chunks_exact_mut(EMBEDDING_DIM).enumerate() {
            let tokens = &hidden[row * len * EMBEDDING_DIM..(row + 1) * len * EMBEDDING_DIM];
            let weights = &mask[row * len..(row + 1) * len];
            mean_pool_normalise(tokens, weights, out);
        }
        Ok(pooled)
    }
}

/// Attention-mask weighted mean of the token vectors, then L2 normalisation,
/// as sentence-transformers' `Pooling(mean)` + `Normalize` do.
fn mean_pool_normalise(tokens: &[f32], mask: &[i64], out: &mut [f32]) {
    out.fill(0.0);
    let mut count = 0f32;
    for (token, &m) in tokens.chunks_exact(out.len()).zip(mask) {
        if m != 0 {
            count += 1.0;
            for (o, &v) in out.iter_mut().zip(token) {
                *o += v;
            }
        }
    }
    let count = count.max(1e-9);
    out.iter_mut().for_each(|o| *o /= count);
    let norm = out.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
    out.iter_mut().for_each(|o| *o /= norm);
}

fn load_tokenizer(json: &[u8]) -> Result<Tokenizer, ModelError> {
    let mut tokenizer = Tokenizer::from_bytes(json).map_err(|e| model_error("cannot load the tokenizer", e))?;
    // The shipped file pads to a fixed 128 and truncates at 128; we pad each
    // sub-batch ourselves and keep the model's full 256-token window.
    tokenizer
        .with_truncation(Some(TruncationParams { max_length: MAX_TOKENS, ..Default::default() }))
        .map_err(|e| model_error("cannot configure the tokenizer", e))?;
    tokenizer.with_padding(None);
    Ok(tokenizer)
}

fn load_encoder(onnx: &[u8]) -> TractResult<(Plan, Vec<usize>)> {
    // The file's own value_info names its dims `batch`/`sequence`; we declare
    // ours on the inputs and let tract infer everything else.
    let mut model = tract_onnx::onnx().with_ignore_value_info(true).model_for_read(&mut Cursor::new(onnx))?;
    let batch = model.sym("B");
    let seq = model.sym("S");
    let mut order = Vec::with_capacity(INPUTS.len());
    for slot in 0..model.inputs.len() {
        let name = &model.node(model.inputs[slot].node).name;
        let Some(k) = INPUTS.iter().position(|n| n == name) else {
            bail!("unexpected encoder input {name:?}");
        };
        order.push(k);
        model.set_input_fact(slot, InferenceFact::dt_shape(i64::datum_type(), tvec![batch.to_dim(), seq.to_dim()]))?;
    }
    ensure!(order.len() == INPUTS.len(), "encoder inputs are not {INPUTS:?}");
    let mut model = model.into_typed()?;
    // tract 0.23.9's declutter folds the export's always-true causal term
    // `And([1,1,S,1], mask[B,1,1,S])` into `mask` but leaves the old
    // [B,1,S,S] fact on its consumer; the values are right (they broadcast
    // into the attention scores) but debug builds assert facts at run time.
    // Recomputing the facts once after declutter makes the graph consistent.
    model.declutter()?;
    model.refresh_output_facts()?;
    let plan = model.into_optimized()?.into_runnable()?;
    Ok((plan, order))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_pool_ignores_masked_tokens_and_normalises() {
        let tokens = [3.0, 4.0, 100.0, -100.0, 0.0, 0.0];
        let mut out = [0.0; 2];
        mean_pool_normalise(&tokens, &[1, 0, 1], &mut out);
        // mean of (3,4) and (0,0) = (1.5, 2) -> normalised (0.6, 0.8)
        assert!((out[0] - 0.6).abs() < 1e-6 && (out[1] - 0.8).abs() < 1e-6, "{out:?}");
    }

    #[test]
    fn mean_pool_of_nothing_is_zero_not_nan() {
        let mut out = [1.0; 2];
        mean_pool_normalise(&[1.0, 2.0], &[0], &mut out);
        assert_eq!(out, [0.0, 0.0]);
    }
}
