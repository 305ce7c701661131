//! A DOCX whose document.xml inflates to 1 GiB (about 1 MB on disk, built here) is
//! refused within bounded memory and time. Alone in its test binary so that the
//! process's peak memory is this test's.

use std::io::{Cursor, Write};
use std::time::{Duration, Instant};

use ferry_documents::{ExtractError, Limits, extract};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

const GIB: u64 = 1 << 30;

fn gigabyte_bomb() -> Vec<u8> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated).large_file(false);
    zip.start_file("[Content_Types].xml", options).unwrap();
    zip.write_all(b"<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"/>").unwrap();
    zip.start_file("word/document.xml", options).unwrap();
    zip.write_all(
        b"<w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:body><w:p><w:r><w:t>",
    )
    .unwrap();
    let chunk = vec![b'A'; 1 << 20];
    for _ in 0..(GIB >> 20) {
        zip.write_all(&chunk).unwrap();
    }
    zip.write_all(b"</w:t></w:r></w:p></w:body></w:document>").unwrap();
    zip.finish().unwrap().into_inner()
}

/// Peak resident memory of this process so far (Linux), in bytes.
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[test]
fn a_gigabyte_docx_bomb_is_refused_in_bounded_memory_and_time() {
    let bomb = gigabyte_bomb();
    assert!(bomb.len() < 2 << 20, "the bomb is small on disk: {} bytes", bomb.len());
    let before = peak_rss();
    let started = Instant::now();
    let result = extract(&bomb, &Limits::default());
    let elapsed = started.elapsed();
    assert!(
        matches!(result, Err(ExtractError::InflateLimit { .. } | ExtractError::CompressionRatio { .. })),
        "{result:?}"
    );
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
    if let (Some(before), Some(after)) = (before, peak_rss()) {
        let grown = after.saturating_sub(before);
        // The inflate cap is 64 MiB; a reader that kept going would need 1 GiB.
        assert!(grown < 200 << 20, "peak memory grew by {} MiB", grown >> 20);
        println!("refused in {elapsed:?}; peak memory grew by {} MiB", grown >> 20);
    }
}
