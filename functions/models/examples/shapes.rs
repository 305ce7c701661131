//! `cargo run --release -p ferry-models --example shapes`: milliseconds per
//! text of the sentiment layer (layer 3) for plans of B texts x L tokens.
use std::time::{Duration, Instant};
use tract_onnx::prelude::*;

fn main() -> TractResult<()> {
    let path = ferry_models::default_assets_dir().join(ferry_models::ENCODER_FILE);
    let mut model = tract_onnx::onnx().with_ignore_value_info(true).model_for_path(&path)?;
    let (b, s) = (model.sym("B"), model.sym("S"));
    for slot in 0..model.inputs.len() {
        model.set_input_fact(slot, InferenceFact::dt_shape(i64::datum_type(), tvec![b.to_dim(), s.to_dim()]))?;
    }
    let layer = std::env::var("LAYER").unwrap_or_else(|_| "layer_norm_6".into());
    model.select_outputs_by_name([layer.as_str()])?;
    let mut typed = model.into_typed()?;
    typed.declutter()?;
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
