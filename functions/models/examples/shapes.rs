//! `cargo run --release -p ferry-models --example shapes -- 1x16 8x64`:
//! milliseconds per run and per text for plans of B texts x L tokens, the
//! encoder as Ferry loads it. `infra/models/bench_ort_shapes.py` is the same
//! loop in onnxruntime. Environment:
//! - `LAYER=last`: the whole encoder (layer 6) instead of the sentiment layer (3);
//! - `GUARDS=keep`: keep the export's NaN guards (see `drop_nan_guards`);
//! - `RUNS=n`: exactly n timed runs (to time the whole process), not up to 400 in 3 s;
//! - `PROFILE=1` (by operator) or `PROFILE=nodes` (by node): where a run's time
//!   goes, the `TOP` (20) largest;
//! - `DUMP=1`: print each optimised plan, node by node.
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::plan::eval;

// As the binaries that serve the models allocate.
#[global_allocator]
static ALLOC: ferry_models::HugePageAlloc = ferry_models::HugePageAlloc;

fn main() -> TractResult<()> {
    let path = ferry_models::default_assets_dir().join(ferry_models::ENCODER_FILE);
    let mut typed = tract_nnef::nnef().model_for_path(&path)?;
    // As Ferry loads it, unless GUARDS=keep.
    if std::env::var("GUARDS").is_ok_and(|g| g == "keep") {
        typed.refresh_output_facts()?;
    } else {
        ferry_models::drop_nan_guards(&mut typed)?;
    }
    let (b, s) = (typed.symbols.sym("B"), typed.symbols.sym("S"));
    // The file's outputs: layer 3 (the sentiment layer), then layer 6.
    let output = if std::env::var("LAYER").is_ok_and(|l| l == "last") { 1 } else { 0 };
    let outlet = typed.output_outlets()?[output];
    typed.select_output_outlets(&[outlet])?;
    typed.refresh_output_facts()?;
    let shapes: Vec<(usize, usize)> = std::env::args()
        .skip(1)
        .map(|a| {
            let (x, y) = a.split_once('x').unwrap();
            (x.parse().unwrap(), y.parse().unwrap())
        })
        .collect();
    for (bb, ll) in shapes {
        let subs = [(b.clone(), TDim::from(bb as i64)), (s.clone(), TDim::from(ll as i64))].into();
        let plan = typed.set_symbols(&subs)?.into_optimized()?.into_runnable()?;
        if std::env::var("DUMP").is_ok() {
            for node in plan.model().nodes() {
                let inputs: Vec<_> = node.inputs.iter().map(|i| i.node).collect();
                println!("{} {} {:?} <- {inputs:?} : {:?}", node.id, node.op().name(), node.op(), node.outputs[0].fact);
            }
        }
        let mut state = plan.spawn()?;
        let ids = Tensor::from_shape(&[bb, ll], &vec![1037i64; bb * ll])?;
        let mask = Tensor::from_shape(&[bb, ll], &vec![1i64; bb * ll])?;
        let tt = Tensor::from_shape(&[bb, ll], &vec![0i64; bb * ll])?;
        let inputs = || tvec![ids.clone().into(), mask.clone().into(), tt.clone().into()];
        for _ in 0..5 {
            state.run(inputs())?;
        }
        let fixed: Option<usize> = std::env::var("RUNS").ok().and_then(|r| r.parse().ok());
        let (t0, mut n) = (Instant::now(), 0);
        while n < fixed.unwrap_or(400) && (fixed.is_some() || t0.elapsed() < Duration::from_secs(3)) {
            state.run(inputs())?;
            n += 1;
        }
        let ms = t0.elapsed().as_secs_f64() * 1000.0 / n as f64;
        println!("{bb}x{ll}: {ms:.2} ms/run, {:.2} ms/text", ms / bb as f64);
        if std::env::var("PROFILE").is_ok() {
            print_profile(&mut state, inputs, n.max(1))?;
        }
    }
    Ok(())
}

/// Runs the plan `runs` times, timing each node, and prints the operators
/// (or nodes) that take the most time, in ms per run.
fn print_profile(state: &mut TypedSimpleState, inputs: impl Fn() -> TVec<TValue>, runs: usize) -> TractResult<()> {
    let by_node = std::env::var("PROFILE").is_ok_and(|p| p == "nodes");
    let top = std::env::var("TOP").ok().and_then(|t| t.parse().ok()).unwrap_or(20);
    let mut by_op: HashMap<String, (Duration, usize)> = HashMap::new();
    for _ in 0..runs {
        state.run_plan_with_eval(inputs(), |ctx, op_state, node, input| {
            let t0 = Instant::now();
            let out = eval(ctx, op_state, node, input);
            let key = if by_node { format!("#{} {}", node.id, node.op().name()) } else { node.op().name().to_string() };
            let entry = by_op.entry(key).or_default();
            entry.0 += t0.elapsed();
            entry.1 += 1;
            out
        })?;
    }
    let mut rows: Vec<_> = by_op.into_iter().collect();
    rows.sort_by_key(|row| std::cmp::Reverse(row.1.0));
    for (op, (time, count)) in rows.iter().take(top) {
        let ms = time.as_secs_f64() * 1000.0 / runs as f64;
        println!("  {ms:8.3} ms  {:4} nodes  {op}", count / runs);
    }
    Ok(())
}
