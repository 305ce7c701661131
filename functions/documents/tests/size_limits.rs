//! The input size limit applies before any parsing, and the defaults are the documented ones.

use std::time::{Duration, Instant};

use ferry_documents::{ExtractError, Limits, detect_format, extract};

#[test]
fn a_50_mb_upload_is_refused_by_size_before_parsing() {
    // Starts like a PDF, so only the size check can stop it before the parser.
    let mut upload = b"%PDF-1.7\n".to_vec();
    upload.resize(50 << 20, b'0');
    let started = Instant::now();
    let result = extract(&upload, &Limits::default());
    let elapsed = started.elapsed();
    assert_eq!(result, Err(ExtractError::TooLarge { size: 50 << 20, limit: 10 << 20 }));
    assert!(elapsed < Duration::from_millis(50), "took {elapsed:?}: something looked at the bytes");
    assert_eq!(
        detect_format(&upload, &Limits::default()),
        Err(ExtractError::TooLarge { size: 50 << 20, limit: 10 << 20 })
    );
}

#[test]
fn defaults_are_the_documented_limits() {
    let limits = Limits::default();
    assert_eq!(limits.max_bytes, 10 * 1024 * 1024);
    assert_eq!(limits.max_pages, 50);
    assert_eq!(limits.max_inflated_bytes, 64 * 1024 * 1024);
    assert_eq!(limits.max_ratio, 200);
    assert_eq!(limits.budget, Duration::from_secs(10));
}

#[test]
fn empty_and_blank_documents() {
    assert_eq!(extract(b"", &Limits::default()), Err(ExtractError::Empty));
    assert_eq!(extract(b" \n\t\n", &Limits::default()), Err(ExtractError::Empty));
}

#[test]
fn tighter_limits_are_honoured() {
    let fixture =
        std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/resumes/r14-grace-whitman.pdf"))
            .unwrap();
    let one_page = Limits { max_pages: 1, ..Limits::default() };
    assert_eq!(extract(&fixture, &one_page), Err(ExtractError::TooManyPages(1)));
    let tiny = Limits { max_bytes: 1000, ..Limits::default() };
    assert!(matches!(extract(&fixture, &tiny), Err(ExtractError::TooLarge { limit: 1000, .. })));
    // Its document.xml, rels and package rels inflate to 7.9 KB.
    let docx =
        std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/resumes/r01-daniel-okafor.docx"))
            .unwrap();
    let little_inflation = Limits { max_inflated_bytes: 5_000, ..Limits::default() };
    assert!(matches!(extract(&docx, &little_inflation), Err(ExtractError::InflateLimit { limit: 5_000, .. })));
}
