//! Builds the shipped encoder file from an ONNX export: `infra/models/build.sh`
//! runs it after `fold_encoder.py`. To run Ferry on an encoder of your own,
//! convert its ONNX export the same way and pass the directory as
//! `--model-dir`.
//!
//!   cargo run --release -p ferry-models --example export_encoder -- ENCODER.onnx OUT/encoder.nnef.tar

use std::io::BufWriter;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [onnx, out] = args.as_slice() else {
        return Err("usage: export_encoder ENCODER.onnx OUT/encoder.nnef.tar".into());
    };
    let started = Instant::now();
    let bytes = std::fs::read(onnx)?;
    let mut file = BufWriter::new(std::fs::File::create(out)?);
    ferry_models::encoder_onnx_to_nnef(&bytes, &mut file)?;
    file.into_inner()?.sync_all()?;
    let size = std::fs::metadata(out)?.len();
    println!("{out}: {size} bytes from {onnx} in {} ms", started.elapsed().as_millis());
    Ok(())
}
