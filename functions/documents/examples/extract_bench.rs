//! Extraction time per fixture file, or the text of given files.
//!
//! ```sh
//! cargo run --release -p ferry-documents --example extract_bench            # PDF/DOCX fixtures: ms per file
//! cargo run -p ferry-documents --example extract_bench -- --print a.pdf b.docx  # their text
//! ```

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ferry_documents::{Limits, extract};

/// Runs per file: the median is reported.
const RUNS: usize = 15;
/// At most this many files are timed.
const MAX_FILES: usize = 40;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--print") {
        args[1..].iter().for_each(|path| print_text(Path::new(path)));
        return;
    }
    let files = if args.is_empty() { fixture_files() } else { args.iter().map(PathBuf::from).collect() };
    println!("{:<40} {:>8} {:>10} {:>8}", "file", "bytes", "median ms", "chars");
    for path in files.iter().take(MAX_FILES) {
        time_file(path);
    }
}

fn print_text(path: &Path) {
    let bytes = std::fs::read(path).expect("readable file");
    match extract(&bytes, &Limits::default()) {
        Ok(doc) => println!("== {} ({}, {:?} pages)\n{}", path.display(), doc.format, doc.pages, doc.text),
        Err(e) => println!("== {}: {e}", path.display()),
    }
}

fn time_file(path: &Path) {
    let bytes = std::fs::read(path).expect("readable file");
    let mut times: Vec<Duration> = Vec::with_capacity(RUNS);
    let mut chars = 0;
    for _ in 0..RUNS {
        let start = Instant::now();
        let result = extract(&bytes, &Limits::default());
        times.push(start.elapsed());
        chars = result.map(|doc| doc.text.chars().count()).unwrap_or(0);
    }
    times.sort();
    let median_ms = times[RUNS / 2].as_secs_f64() * 1000.0;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    println!("{name:<40} {:>8} {median_ms:>10.2} {chars:>8}", bytes.len());
}

fn fixture_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/resumes");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/fixtures/resumes")
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "pdf" || ext == "docx"))
        .collect();
    files.sort();
    files
}
