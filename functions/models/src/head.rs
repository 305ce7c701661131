//! The sentiment head: [embedding ++ VADER] features to class probabilities.

use std::io::Cursor;
use std::sync::Arc;

use ferry_core::ModelError;
use tract_onnx::prelude::tract_data::internal::ensure;
use tract_onnx::prelude::*;

use crate::encoder::EMBEDDING_DIM;
use crate::model_error;

/// Width of one feature row: the embedding, then VADER neg, neu, pos, compound.
pub(crate) const FEATURES: usize = EMBEDDING_DIM + 4;
const CLASSES: usize = 3;

pub(crate) struct Head {
    plan: Arc<TypedRunnableModel>,
}

impl Head {
    pub(crate) fn new(onnx: &[u8]) -> Result<Self, ModelError> {
        let plan = load(onnx).map_err(|e| model_error("cannot load the sentiment head", e))?;
        Ok(Head { plan })
    }

    /// Softmax of the head's logits for `n` row-major feature rows.
    pub(crate) fn probabilities(&self, features: &[f32], n: usize) -> Result<Vec<[f32; CLASSES]>, ModelError> {
        if n == 0 {
            return Ok(Vec::new());
        }
        let input = Tensor::from_shape(&[n, FEATURES], features).map_err(|e| model_error("head input", e))?;
        let outputs = self.plan.run(tvec![input.into()]).map_err(|e| model_error("head failed", e))?;
        let logits = outputs[0]
            .try_as_plain_ram()
            .and_then(|v| v.as_slice::<f32>())
            .map_err(|e| model_error("head output", e))?;
        if logits.len() != n * CLASSES {
            return Err(ModelError(format!("head output has {} values, expected {n}x{CLASSES}", logits.len())));
        }
        Ok(logits.chunks_exact(CLASSES).map(softmax).collect())
    }
}

pub(crate) fn softmax(logits: &[f32]) -> [f32; CLASSES] {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut p = [0f32; CLASSES];
    for (p, &l) in p.iter_mut().zip(logits) {
        *p = (l - max).exp();
    }
    let sum: f32 = p.iter().sum();
    p.iter_mut().for_each(|p| *p /= sum);
    p
}

fn load(onnx: &[u8]) -> TractResult<Arc<TypedRunnableModel>> {
    // The file's own value_info names its dims `batch`/`sequence`; we declare
    // ours on the inputs and let tract infer everything else.
    let mut model = tract_onnx::onnx().with_ignore_value_info(true).model_for_read(&mut Cursor::new(onnx))?;
    ensure!(model.inputs.len() == 1, "the head must have one input");
    let n = model.sym("N");
    model.set_input_fact(0, InferenceFact::dt_shape(f32::datum_type(), tvec![n.to_dim(), FEATURES.to_dim()]))?;
    model.into_optimized()?.into_runnable()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_sums_to_one_and_keeps_order() {
        let p = softmax(&[1.0, 2.0, 3.0]);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(p[0] < p[1] && p[1] < p[2]);
        let big = softmax(&[1000.0, 0.0, -1000.0]);
        assert!(big.iter().all(|v| v.is_finite()));
        assert!((big[0] - 1.0).abs() < 1e-6);
    }
}
