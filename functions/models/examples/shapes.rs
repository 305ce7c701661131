//! `cargo run --release -p ferry-models --example shapes`: milliseconds per
//! text of the sentiment layer (layer 3; `LAYER=last`: layer 6) for plans of
//! B texts x L tokens.
use std::time::{Duration, Instant};
use tract_onnx::prelude::*;

fn main() -> TractResult<()> {
    let path = ferry_models::default_assets_dir().join(ferry_models::ENCODER_FILE);
    let mut typed = tract_nnef::nnef().model_for_path(&path)?;
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
        let mut state = plan.spawn()?;
        let ids = Tensor::from_shape(&[bb, ll], &vec![1037i64; bb * ll])?;
        let mask = Tensor::from_shape(&[bb, ll], &vec![1i64; bb * ll])?;
        let tt = Tensor::from_shape(&[bb, ll], &vec![0i64; bb * ll])?;
        let inputs = || tvec![ids.clone().into(), mask.clone().into(), tt.clone().into()];
        for _ in 0..5 {
            state.run(inputs())?;
        }
        let (t0, mut n) = (Instant::now(), 0);
        while n < 400 && t0.elapsed() < Duration::from_secs(3) {
            state.run(inputs())?;
            n += 1;
        }
        let ms = t0.elapsed().as_secs_f64() * 1000.0 / n as f64;
        println!("{bb}x{ll}: {ms:.2} ms/run, {:.2} ms/text", ms / bb as f64);
    }
    Ok(())
}
