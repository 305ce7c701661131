//! Tokenizer + MiniLM encoder + mean pooling: texts to sentence embeddings.
//!
//! The ONNX file is read once into a decluttered graph with symbolic batch
//! and sequence dimensions, from which two [`Stack`]s are cut: one ending at
//! layer 3 (what the sentiment head reads) and the whole encoder (what the
//! skill model and document similarity read). tract chooses its matrix
//! kernels when it optimises, and with the token count unknown it falls back
//! to one that ran 1.2–1.6x slower here; so texts run through plans
//! optimised for their exact shape: B texts padded to one sequence bucket (a few
//! lengths, built on first use: ~40 ms and up to ~22 MB of packed weights
//! for layer 3, ~43 MB for layer 6, less where [`SharedWeights`] finds them
//! held already), and the runs of a call go side by side on rayon's pool.
//!
//! Short texts of the sentiment layer run several to a plan: one text of 16
//! tokens streams every weight for 16 rows of work, and on a 2-core AVX2
//! EPYC (`cargo run --release -p ferry-models --example shapes`) layer 3 took
//! 5.9 ms for 1x16 but 3.7 ms/text at 2x16 and 3.1 at 8x16; 6.9 ms at 1x24,
//! 4.3 at 4x24; 9.0 at 1x32, 6.1 at 4x32. From ~48 tokens a row the gain is
//! small or gone (1x64 14.6 ms, 4x64 13.3 ms/text), so a run holds at most
//! [`BATCH_TOKENS`] tokens of texts up to [`MAX_BATCHED_SEQ`]; longer texts
//! run alone, which pads least.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use ferry_core::ModelError;
use rayon::prelude::*;
use tokenizers::{Encoding, Tokenizer, TruncationParams};
use tract_onnx::prelude::tract_data::internal::{bail, ensure};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::element_wise::ElementWiseOp;
use tract_onnx::tract_core::ops::logic::Iff;
use tract_onnx::tract_core::ops::matmul::optimized::{MatMulOperand, OptMatMul, ProtoFusedSpec};
use tract_onnx::tract_core::ops::nn::Softmax;
use tract_onnx::tract_core::tract_linalg::mmm::EagerPackedInput;

use crate::model_error;

/// Width of the sentence embedding.
pub const EMBEDDING_DIM: usize = 384;
/// Longest input in tokens (all-MiniLM-L6-v2's `max_seq_length`, counting
/// `[CLS]` and `[SEP]`); longer texts are truncated.
pub const MAX_TOKENS: usize = 256;
/// Texts in hand at once (in length order), run through the encoder in
/// runs of up to 8 (see [`runs`]), side by side.
pub const MAX_BATCH: usize = 32;
/// The tensor the sentiment head reads: layer 3's output (after its final
/// LayerNorm). As good for sentiment as the last layer on every evaluation
/// set, at half the arithmetic (see `assets/README.md`).
pub const SENTIMENT_OUTPUT: &str = "layer_norm_6";
/// The encoder's own output, layer 6.
pub const LAST_OUTPUT: &str = "last_hidden_state";
/// Most tokens (texts x padded length) in one batched run of the sentiment
/// layer: past this, batching gains nothing (see the module's notes).
const BATCH_TOKENS: usize = 144;
/// The longest bucket whose texts share runs. Past it a shared run gained
/// little or lost (ms a text: 1x48 9.9 = 2x48 9.8; 1x64 14.6, 2x64 12.7;
/// 1x128 27.5, 2x128 28.3), and each batched shape is one more plan.
const MAX_BATCHED_SEQ: usize = 30;
/// The sequence lengths texts run at (padded up to the next). The short
/// ones follow tract's AVX2 kernel, which takes tokens 6 at a time: ms per
/// text at one text a run (`examples/shapes`), 1x16 4.3-4.5, 1x18 4.8-5.0,
/// 1x20 5.1-6.1, 1x24 5.2-5.6, 1x30 6.4-7.2, 1x32 8.1-10.0; so 18 (a 20
/// costs as much as 24) and 30 instead of 32.
const SEQ_BUCKETS: [usize; 10] = [16, 18, 24, 30, 48, 64, 96, 128, 192, MAX_TOKENS];

/// The encoder's inputs, in the order [`Stack::run`] builds them.
const INPUTS: [&str; 3] = ["input_ids", "attention_mask", "token_type_ids"];

/// Which of the encoder's outputs to pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layer {
    /// [`SENTIMENT_OUTPUT`].
    Sentiment,
    /// [`LAST_OUTPUT`].
    Last,
}

pub(crate) struct Encoder {
    tokenizer: Tokenizer,
    sentiment: Stack,
    last: Stack,
}

impl Encoder {
    /// From the encoder's graph (see [`read_graph`]) and the tokenizer file.
    pub(crate) fn new(tokenizer_json: &[u8], graph: EncoderGraph) -> Result<Self, ModelError> {
        // Parsing the tokenizer (~17 ms) overlaps cutting the stacks.
        let (tokenizer, stacks) = std::thread::scope(|scope| {
            let tokenizer = scope.spawn(|| load_tokenizer(tokenizer_json));
            let stacks = load_stacks(graph);
            (tokenizer.join().expect("loading the tokenizer does not panic"), stacks)
        });
        let tokenizer = tokenizer?;
        let (sentiment, last) = stacks.map_err(|e| model_error("cannot load the encoder", e))?;
        Ok(Encoder { tokenizer, sentiment, last })
    }

    /// Tokenises `texts`, sorts them by length, and hands each encoded
    /// sub-batch to `sink` as (original indices, row-major `[n, EMBEDDING_DIM]`
    /// L2-normalised embeddings of `layer`). Sub-batches run on rayon's pool
    /// (every core; `RAYON_NUM_THREADS` caps it), and reach `sink` in order.
    pub(crate) fn embed_batched(
        &self,
        texts: &[&str],
        layer: Layer,
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
        let stack = match layer {
            Layer::Sentiment => &self.sentiment,
            Layer::Last => &self.last,
        };
        // Up to MAX_BATCH texts in hand at once, in length order, cut into
        // runs (see `runs`), as many at a time as there are cores.
        for indices in order.chunks(MAX_BATCH) {
            let lengths: Vec<usize> = indices.iter().map(|&i| encodings[i].len()).collect();
            let runs = runs(&lengths, stack.batch_tokens);
            let run = |range: &std::ops::Range<usize>| {
                let batch: Vec<&Encoding> = indices[range.clone()].iter().map(|&i| &encodings[i]).collect();
                stack.run(&batch)
            };
            let pooled: Vec<Vec<f32>> = if runs.len() > 1 {
                runs.par_iter().map(run).collect::<Result<_, _>>()?
            } else {
                runs.iter().map(run).collect::<Result<_, _>>()?
            };
            sink(indices, &pooled.concat())?;
        }
        Ok(())
    }
}

/// Cuts texts sorted by length into consecutive runs of 1, 2, 4 or 8 texts,
/// each padded to the bucket of its longest: texts of up to
/// [`MAX_BATCHED_SEQ`] tokens share a run while it stays within
/// `batch_tokens` tokens (0: every text alone); longer texts run alone. Short
/// texts of neighbouring buckets share a run too: padding a 16-token text to
/// 24 costs less than running it alone (6.9 ms a text at 1x24, 5.9 at 1x16,
/// 4.3 at 4x24). Runs are not split to fill every core: under load the other
/// worker loops fill them, and a call with many texts has many runs anyway.
fn runs(sorted_lengths: &[usize], batch_tokens: usize) -> Vec<std::ops::Range<usize>> {
    let fits = |start: usize, size: usize| {
        let longest = seq_bucket(sorted_lengths[start + size - 1]);
        longest <= MAX_BATCHED_SEQ && size * longest <= batch_tokens
    };
    let mut runs = Vec::new();
    let mut start = 0;
    while start < sorted_lengths.len() {
        // The largest power of two that fits: few plan shapes.
        let mut size = 1 << (sorted_lengths.len() - start).min(8).ilog2();
        while size > 1 && !fits(start, size) {
            size /= 2;
        }
        runs.push(start..start + size);
        start += size;
    }
    runs
}

/// The padded sequence length a text of `tokens` tokens runs at.
fn seq_bucket(tokens: usize) -> usize {
    SEQ_BUCKETS.iter().copied().find(|&b| b >= tokens).unwrap_or(MAX_TOKENS)
}

type Plan = Arc<TypedRunnableModel>;

/// A plan's input shape: (texts, sequence length).
type Shape = (usize, usize);

/// One output of the encoder: its graph with symbolic dimensions, and the
/// plans optimised from it for each shape in use (texts x sequence bucket).
struct Stack {
    base: TypedModel,
    batch: Symbol,
    seq: Symbol,
    /// For each of the model's inputs, its index in [`INPUTS`].
    input_order: Vec<usize>,
    /// By (texts, sequence length); most recently used first.
    plans: Mutex<Vec<(Shape, Arc<Runner>)>>,
    /// Most tokens in one batched run; 0: every text runs alone.
    batch_tokens: usize,
    /// Most plans kept (the least recently used one goes).
    capacity: usize,
    /// Shared by both stacks.
    shared: Arc<SharedWeights>,
}

/// A plan, run on a state of its own each time. tract 0.23.10 keeps each
/// matrix product's scratch per state (keyed on its session) until the
/// state is dropped, so states kept idle between runs held ~120-150 MB more
/// in the hostile-resume cases (one state per plan and thread, every plan
/// in use); a state dropped after its run gives its scratch back.
struct Runner {
    plan: Plan,
}

impl Runner {
    fn new(model: TypedModel, shared: &SharedWeights) -> TractResult<Arc<Runner>> {
        let mut optimized = model.into_optimized()?;
        shared.share(&mut optimized);
        let plan = optimized.into_runnable()?;
        Ok(Arc::new(Runner { plan }))
    }

    fn run(&self, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        self.plan.run(inputs)
    }
}

/// The packed weights of every plan built so far, by value. tract packs
/// each weight matrix for the kernel it picks when it optimises a plan and
/// bakes it into the matrix product, so each plan held its own copy (~22 MB
/// for layer 3, ~43 MB for layer 6: ~400 MB with every bucket in use). A
/// packed matrix equal to one already held (same kernel packing; the two
/// stacks share layers 1-3) is swapped for that one, so only packings that
/// differ cost memory: about half of a new plan's matrices are found here
/// (`cargo run --release -p ferry-models --example plan_memory`). A matrix
/// only this set still holds belonged to evicted plans and is let go.
#[derive(Default)]
struct SharedWeights(Mutex<HashSet<Arc<Blob>>>);

impl SharedWeights {
    fn share(&self, model: &mut TypedModel) {
        let mut held = self.0.lock().unwrap_or_else(|p| p.into_inner());
        held.retain(|blob| Arc::strong_count(blob) > 1);
        let baked = model
            .nodes
            .iter_mut()
            .filter_map(|node| node.op_as_mut::<OptMatMul>())
            .flat_map(|op| op.micro_ops.iter_mut())
            .filter_map(|spec| match spec {
                ProtoFusedSpec::AddMatMul { a: MatMulOperand::Const(value), .. } => {
                    value.downcast_mut::<EagerPackedInput>()
                }
                _ => None,
            });
        for packed in baked {
            match held.get(&packed.packed) {
                Some(same) => packed.packed = Arc::clone(same),
                None => {
                    held.insert(Arc::clone(&packed.packed));
                }
            }
        }
    }
}

impl Stack {
    /// The runner for `batch` texts of `seq` tokens, optimised on first use.
    fn runner(&self, batch: usize, seq: usize) -> TractResult<Arc<Runner>> {
        let shape: Shape = (batch, seq);
        {
            let mut plans = self.plans.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(at) = plans.iter().position(|(k, _)| *k == shape) {
                let found = plans.remove(at);
                let runner = Arc::clone(&found.1);
                plans.insert(0, found);
                return Ok(runner);
            }
        }
        // Built outside the lock: texts of other lengths need not wait.
        let subs: HashMap<Symbol, TDim> =
            [(self.batch.clone(), TDim::from(batch as i64)), (self.seq.clone(), (seq as i64).into())].into();
        let runner = Runner::new(self.base.set_symbols(&subs)?, &self.shared)?;
        let mut plans = self.plans.lock().unwrap_or_else(|p| p.into_inner());
        plans.retain(|(k, _)| *k != shape);
        plans.insert(0, (shape, Arc::clone(&runner)));
        plans.truncate(self.capacity);
        Ok(runner)
    }

    /// Runs texts together, each padded to the bucket of the longest; returns
    /// their pooled embeddings, row after row.
    fn run(&self, encodings: &[&Encoding]) -> Result<Vec<f32>, ModelError> {
        let batch = encodings.len();
        let len = encodings.iter().map(|e| seq_bucket(e.len())).max().unwrap_or(SEQ_BUCKETS[0]);
        let mut ids = vec![0i64; batch * len];
        let mut mask = vec![0i64; batch * len];
        for (row, encoding) in encodings.iter().enumerate() {
            let tokens = encoding.get_ids().iter().zip(encoding.get_attention_mask()).take(len);
            for (j, (&id, &m)) in tokens.enumerate() {
                ids[row * len + j] = id as i64;
                mask[row * len + j] = m as i64;
            }
        }
        let type_ids = vec![0i64; batch * len];
        let shape = [batch, len];
        let data = [&ids, &mask, &type_ids];
        let inputs = self
            .input_order
            .iter()
            .map(|&k| Tensor::from_shape(&shape, data[k]).map(TValue::from))
            .collect::<TractResult<TVec<_>>>()
            .map_err(|e| model_error("encoder input", e))?;
        let runner = self.runner(batch, len).map_err(|e| model_error("cannot optimise the encoder", e))?;
        let outputs = runner.run(inputs).map_err(|e| model_error("encoder failed", e))?;
        let hidden = outputs[0]
            .try_as_plain_ram()
            .and_then(|v| v.as_slice::<f32>())
            .map_err(|e| model_error("encoder output", e))?;
        if hidden.len() != batch * len * EMBEDDING_DIM {
            return Err(ModelError(format!(
                "encoder output has {} values, expected {batch}x{len}x{EMBEDDING_DIM}",
                hidden.len()
            )));
        }
        let mut pooled = vec![0f32; batch * EMBEDDING_DIM];
        let rows = hidden.chunks_exact(len * EMBEDDING_DIM).zip(mask.chunks_exact(len));
        for ((tokens, mask), out) in rows.zip(pooled.chunks_exact_mut(EMBEDDING_DIM)) {
            mean_pool_normalise(tokens, mask, out);
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

/// The encoder read into tract's graph, not yet cut into stacks.
pub(crate) struct EncoderGraph(TypedModel);

/// NNEF with tract's extensions (and the ONNX ones, should an export need them).
fn nnef() -> tract_nnef::framework::Nnef {
    tract_nnef::nnef().with_onnx()
}

/// Reads the shipped encoder file: NNEF, the graph as tract holds it after
/// decluttering (see [`encoder_onnx_to_nnef`]). From ONNX the same graph
/// took protobuf decoding, ONNX-to-tract translation, typing and
/// decluttering on every start (~150 ms more on a 2-core EPYC).
pub(crate) fn read_graph(bytes: &[u8]) -> Result<EncoderGraph, ModelError> {
    nnef().model_for_read(&mut &*bytes).map(EncoderGraph).map_err(|e| model_error("cannot read the encoder", e))
}

/// The build step that makes the shipped encoder file: reads an ONNX export
/// of the encoder (inputs `input_ids`, `attention_mask`, `token_type_ids`),
/// declares its batch and sequence dimensions as the symbols `B` and `S`,
/// keeps the two outputs the models read ([`SENTIMENT_OUTPUT`],
/// [`LAST_OUTPUT`], in that order), declutters it and writes it as NNEF (a
/// tar with fixed timestamps: the same input gives the same bytes).
pub fn encoder_onnx_to_nnef(onnx: &[u8], out: impl std::io::Write) -> TractResult<()> {
    // The file's own value_info names its dims `batch`/`sequence`; we declare
    // ours on the inputs and let tract infer everything else.
    let mut model = tract_onnx::onnx().with_ignore_value_info(true).model_for_read(&mut &*onnx)?;
    let (batch, seq) = (model.sym("B"), model.sym("S"));
    for slot in 0..model.inputs.len() {
        let name = &model.node(model.inputs[slot].node).name;
        ensure!(INPUTS.contains(&name.as_str()), "unexpected encoder input {name:?}");
        model.set_input_fact(slot, InferenceFact::dt_shape(i64::datum_type(), tvec![batch.to_dim(), seq.to_dim()]))?;
    }
    model.select_outputs_by_name([SENTIMENT_OUTPUT, LAST_OUTPUT])?;
    let mut typed = model.into_typed()?;
    typed.declutter()?;
    nnef().write_to_tar_with_config(&typed, out, false, true)?;
    Ok(())
}

/// The graph cut into one stack per output. The two share their weights
/// (`Arc`ed constants).
fn load_stacks(graph: EncoderGraph) -> TractResult<(Stack, Stack)> {
    let mut typed = graph.0;
    let batch = typed.symbols.sym("B");
    let seq = typed.symbols.sym("S");
    let mut order = Vec::with_capacity(INPUTS.len());
    for input in &typed.inputs {
        let name = &typed.node(input.node).name;
        let Some(k) = INPUTS.iter().position(|n| n == name) else {
            bail!("unexpected encoder input {name:?}");
        };
        order.push(k);
    }
    ensure!(order.len() == INPUTS.len(), "encoder inputs are not {INPUTS:?}");
    ensure!(typed.outputs.len() == 2, "the encoder file has {} outputs, not 2", typed.outputs.len());
    // tract 0.23.9's declutter folds the export's always-true causal term
    // `And([1,1,S,1], mask[B,1,1,S])` into `mask` but can leave the old
    // [B,1,S,S] fact on its consumer; the values are right (they broadcast
    // into the attention scores) but debug builds assert facts at run time.
    typed.refresh_output_facts()?;
    drop_nan_guards(&mut typed)?;
    let shared = Arc::new(SharedWeights::default());
    let cut = |output: usize, capacity: usize, batch_tokens: usize| -> TractResult<Stack> {
        let mut base = typed.clone();
        let outlet = base.output_outlets()?[output];
        base.select_output_outlets(&[outlet])?;
        Ok(Stack {
            base: base.into_compact()?,
            batch: batch.clone(),
            seq: seq.clone(),
            input_order: order.clone(),
            plans: Mutex::default(),
            capacity,
            batch_tokens,
            shared: Arc::clone(&shared),
        })
    };
    // Sentiment texts use every bucket, and batched shapes of the four
    // shortest (2, 4, 8 x 16 and x 18; 2, 4 x 24 and x 30); the skill model's contexts
    // and document pieces a few buckets (up to ~43 MB each), a text at a time:
    // the resume path's memory budget has no room for more plans.
    Ok((cut(0, SEQ_BUCKETS.len() + 10, BATCH_TOKENS)?, cut(1, 4, 0)?))
}

/// The export guards each attention softmax with `Iff(IsNan(p), 0, p)`,
/// PyTorch's care for a row whose every key is masked with -inf. This
/// export masks with -f32::MAX, so such a row is uniform, never NaN, and the
/// guard only reads and writes every B x 12 x S x S score tensor twice more:
/// ~3% of an 8x64 run, almost nothing at one text, where the scores are small.
/// Each guard's uses are rewired to the softmax it guards; returns how many.
pub fn drop_nan_guards(model: &mut TypedModel) -> TractResult<usize> {
    let guards: Vec<(usize, OutletId)> = model
        .nodes()
        .iter()
        .filter(|node| node.op_is::<Iff>() && node.inputs.len() == 3)
        .filter_map(|node| {
            let (test, zero, value) = (node.inputs[0], node.inputs[1], node.inputs[2]);
            let is_nan = model.node(test.node);
            let tests_value = model.node(value.node).op_is::<Softmax>()
                && is_nan.inputs == [value]
                && is_nan.op_as::<ElementWiseOp>().is_some_and(|op| op.0.name() == "IsNan");
            let zero = model.outlet_fact(zero).ok()?.konst.as_ref()?;
            let zero = zero.to_plain_array_view::<f32>().ok()?.iter().all(|z| *z == 0.0);
            (tests_value && zero).then_some((node.id, value))
        })
        .collect();
    for &(guard, value) in &guards {
        let mut patch = TypedModelPatch::default();
        let tap = patch.tap_model(model, value)?;
        patch.shunt_outside(model, guard.into(), tap)?;
        patch.apply(model)?;
    }
    Ok(guards.len())
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
    fn the_shipped_encoder_loses_its_six_nan_guards_and_nothing_else() {
        let bytes = std::fs::read(crate::default_assets_dir().join(crate::ENCODER_FILE)).unwrap();
        let EncoderGraph(mut model) = read_graph(&bytes).unwrap();
        let count = |model: &TypedModel, name: &str| model.nodes().iter().filter(|n| n.op().name() == name).count();
        let (softmaxes, nodes) = (count(&model, "Softmax"), model.clone().into_compact().unwrap().nodes().len());
        assert_eq!((count(&model, "IsNan"), count(&model, "Iff")), (6, 7), "the export's guards and its mask");
        assert_eq!(drop_nan_guards(&mut model).unwrap(), 6);
        let model = model.into_compact().unwrap();
        assert_eq!((count(&model, "IsNan"), count(&model, "Iff")), (0, 1), "the mask's Iff stays");
        assert_eq!(count(&model, "Softmax"), softmaxes);
        assert_eq!(model.nodes().len(), nodes - 12);
    }

    #[test]
    fn mean_pool_of_nothing_is_zero_not_nan() {
        let mut out = [1.0; 2];
        mean_pool_normalise(&[1.0, 2.0], &[0], &mut out);
        assert_eq!(out, [0.0, 0.0]);
    }

    #[test]
    fn short_texts_share_runs_of_at_most_144_tokens() {
        let sizes = |lengths: &[usize], tokens| runs(lengths, tokens).iter().map(|r| r.len()).collect::<Vec<_>>();
        // 16 and 18 tokens: 8 a run (144 tokens); the rest in powers of two.
        assert_eq!(sizes(&[10; 16], BATCH_TOKENS), [8, 8]);
        assert_eq!(sizes(&[10, 10, 17, 17, 18, 18, 18, 18, 18], BATCH_TOKENS), [8, 1]);
        assert_eq!(sizes(&[10; 7], BATCH_TOKENS), [4, 2, 1]);
        // 24 and 30 tokens: 4 a run; a 16-token text joins 24-token ones.
        assert_eq!(sizes(&[10, 20, 20, 20, 20, 20, 30], BATCH_TOKENS), [4, 2, 1]);
        assert_eq!(sizes(&[30; 9], BATCH_TOKENS), [4, 4, 1]);
        // 31 tokens pads to 48: alone.
        assert_eq!(sizes(&[31, 31], BATCH_TOKENS), [1, 1]);
        // From 48 tokens a text runs alone, and never pulls short ones along.
        assert_eq!(sizes(&[10, 10, 50, 50], BATCH_TOKENS), [2, 1, 1]);
        // Batching off: one text a run.
        assert_eq!(sizes(&[10; 3], 0), [1, 1, 1]);
        assert!(runs(&[], BATCH_TOKENS).is_empty());
    }

    #[test]
    fn sequences_fall_in_few_buckets() {
        let buckets: Vec<usize> = [0, 1, 16, 17, 64, 65, 128, 129, 200, 256].into_iter().map(seq_bucket).collect();
        assert_eq!(buckets, [16, 16, 16, 18, 64, 96, 128, 192, 256, 256]);
    }
}
