//! The package's context classifier: `skill_mlp.onnx`, embedding [N, 384] ->
//! logit [N, 1].

use std::io::Cursor;
use std::sync::Arc;

use ferry_core::ModelError;
use tract_onnx::prelude::tract_data::internal::ensure;
use tract_onnx::prelude::*;

use crate::encoder::EMBEDDING_DIM;
use crate::model_error;

pub(crate) struct Mlp {
    plan: Arc<TypedRunnableModel>,
}

impl Mlp {
    pub(crate) fn new(onnx: &[u8]) -> Result<Self, ModelError> {
        let plan = load(onnx).map_err(|e| model_error("cannot load the skill classifier", e))?;
        Ok(Mlp { plan })
    }

    /// Logits for `n` row-major embeddings.
    pub(crate) fn logits(&self, embeddings: &[f32], n: usize) -> Result<Vec<f32>, ModelError> {
        if n == 0 {
            return Ok(Vec::new());
        }
        let input = Tensor::from_shape(&[n, EMBEDDING_DIM], embeddings)
            .map_err(|e| model_error("skill classifier input", e))?;
        let outputs = self.plan.run(tvec![input.into()]).map_err(|e| model_error("skill classifier failed", e))?;
        let logits = outputs[0]
            .try_as_plain_ram()
            .and_then(|v| v.as_slice::<f32>())
            .map_err(|e| model_error("skill classifier output", e))?;
        if logits.len() != n {
            return Err(ModelError(format!("skill classifier gave {} values for {n} rows", logits.len())));
        }
        Ok(logits.to_vec())
    }
}

/// The package's `1 / (1 + exp(-h))` in float32, as numpy computes it. Done
/// here rather than by the graph's `Sigmoid`, whose tract kernel is an
/// approximation: decisions are taken at exactly 0.5.
pub(crate) fn sigmoid(logit: f32) -> f32 {
    1.0 / (1.0 + (-logit).exp())
}

fn load(onnx: &[u8]) -> TractResult<Arc<TypedRunnableModel>> {
    // The file names its batch dim `N` in value_info; we declare ours on the
    // input and let tract infer the rest.
    let mut model = tract_onnx::onnx().with_ignore_value_info(true).model_for_read(&mut Cursor::new(onnx))?;
    ensure!(model.inputs.len() == 1, "the skill classifier must have one input");
    let n = model.sym("N");
    model.set_input_fact(0, InferenceFact::dt_shape(f32::datum_type(), tvec![n.to_dim(), EMBEDDING_DIM.to_dim()]))?;
    model.select_outputs_by_name(["logit"])?;
    model.into_optimized()?.into_runnable()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigmoid_is_half_at_zero_and_saturates() {
        assert_eq!(sigmoid(0.0), 0.5);
        // Like numpy float32: a tiny negative logit still rounds to 0.5.
        assert_eq!(sigmoid(-1e-9), 0.5);
        assert_eq!(sigmoid(200.0), 1.0);
        assert_eq!(sigmoid(-200.0), 0.0);
    }
}
