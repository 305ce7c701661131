//! Small inputs that would make a naive reader allocate or work far beyond their size:
//! each is refused (or read) quickly, and the process's peak memory stays bounded.
//! One test in its own binary, so the peak memory measured is its own.

mod common;

use std::io::Write;
use std::time::{Duration, Instant};

use common::{HELVETICA, deflated_stream, one_page_pdf, pdf, stream};

use ferry_documents::{Document, ExtractError, Limits, extract};

/// 10 MiB of `[][][]…` (3.5 million empty arrays, which lopdf's loader turns into 2 GB)
/// as a font's `/Widths`, so that reading the page needs it (unused objects are never parsed).
fn empty_arrays() -> Vec<u8> {
    let mut junk = b"[".to_vec();
    junk.extend(b"[]".repeat(((10 << 20) - 4096) / 2));
    junk.push(b']');
    let font = b"<< /Type /Font /Subtype /TrueType /BaseFont /Arial /FirstChar 0 /Widths 6 0 R >>".to_vec();
    one_page_pdf(b"BT /F1 10 Tf 72 700 Td (Text) Tj ET", "<< /Font << /F1 5 0 R >> >>", &[(5, font), (6, junk)])
}

/// 40 object streams of one 450,000-number array each (~1 MB inflated, 5 KB on disk),
/// all referenced by the page (as annotations), in a file whose cross-reference data is
/// broken so that the repair scan indexes them all.
fn object_stream_arrays() -> Vec<u8> {
    let mut objects = vec![
        (1, b"<< /Type /Catalog /Pages 2 0 R >>".to_vec()),
        (2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec()),
        (4, deflated_stream("", b"BT /F1 10 Tf 72 700 Td (Text) Tj ET")),
        (5, HELVETICA.to_vec()),
    ];
    let annotations: String = (0..40).map(|i| format!("{} 0 R ", 1000 + i)).collect();
    let page = format!(
        "<< /Type /Page /Parent 2 0 R /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> /Annots [{annotations}] >>"
    );
    objects.push((3, page.into_bytes()));
    for i in 0..40u32 {
        let header = format!("{} 0 ", 1000 + i);
        let body = format!("{header}[{}]", "0 ".repeat(450_000));
        let extra = format!("/Type /ObjStm /N 1 /First {}", header.len());
        objects.push((100 + i, deflated_stream(&extra, body.as_bytes())));
    }
    let mut bytes = pdf(&objects, "");
    let at = bytes.windows(9).rposition(|w| w == b"startxref").unwrap();
    bytes.truncate(at);
    bytes.extend_from_slice(b"startxref\n999999\n%%EOF\n");
    bytes
}

/// 3000 distinct fonts on one page, each with a ToUnicode map of 20,000 entries.
fn many_fonts() -> Vec<u8> {
    let mut cmap = b"begincmap 1 begincodespacerange <00> <FF> endcodespacerange 100 beginbfrange ".to_vec();
    for i in 0..20_000u32 {
        write!(cmap, "<{:04X}> <{:04X}> <0041> ", i, i).unwrap();
    }
    cmap.extend_from_slice(b"endbfrange endcmap");
    let mut content = b"BT 72 700 Td ".to_vec();
    let mut fonts = String::new();
    for i in 0..3000 {
        write!(content, "/F{i} 10 Tf (a) Tj ").unwrap();
        fonts.push_str(&format!("/F{i} {} 0 R ", 10 + i));
    }
    content.extend_from_slice(b"ET");
    let mut objects = vec![(6, deflated_stream("", &cmap))];
    for i in 0..3000u32 {
        objects.push((10 + i, b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /ToUnicode 6 0 R >>".to_vec()));
    }
    one_page_pdf(&content, &format!("<< /Font << {fonts} >> >>"), &objects)
}

/// A page drawing one form 10,000 times, the form drawing another 10,000 times…
fn form_fan_out() -> Vec<u8> {
    let draw_many = |name: &str| format!("q /{name} Do Q ").repeat(10_000).into_bytes();
    let resources = "<< /Font << /F1 5 0 R >> /XObject << /A 6 0 R /B 7 0 R >> >>";
    one_page_pdf(
        &draw_many("A"),
        resources,
        &[
            (5, HELVETICA.to_vec()),
            (6, stream(&format!("/Subtype /Form /Resources {resources}"), &draw_many("B"))),
            (7, stream("/Subtype /Form", b"BT /F1 10 Tf (leaf) Tj ET")),
        ],
    )
}

/// 190,000 one-letter runs on one baseline: one line to assemble (uncompressed: such a
/// repetitive stream would be refused as a decompression bomb).
fn one_long_line() -> Vec<u8> {
    let mut content = b"BT /F1 10 Tf ".to_vec();
    content.extend(b"6 0 Td (a) Tj ".repeat(190_000));
    content.extend_from_slice(b"ET");
    let page = b"<< /Type /Page /Parent 2 0 R /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>";
    pdf(
        &[
            (1, b"<< /Type /Catalog /Pages 2 0 R >>".to_vec()),
            (2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec()),
            (3, page.to_vec()),
            (4, stream("", &content)),
            (5, HELVETICA.to_vec()),
        ],
        "",
    )
}

fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib: u64 = status.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn run(name: &str, bytes: &[u8]) -> Result<Document, ExtractError> {
    let started = Instant::now();
    let result = extract(bytes, &Limits::default());
    let elapsed = started.elapsed();
    println!("{name}: {} bytes in {elapsed:?}: {:?}", bytes.len(), result.as_ref().map(|d| d.text.len()));
    assert!(elapsed < Duration::from_secs(12), "{name} took {elapsed:?}");
    result
}

#[test]
fn amplifying_inputs_are_bounded() {
    let inputs = [empty_arrays(), object_stream_arrays(), many_fonts(), form_fan_out(), one_long_line()];
    let before = peak_rss();
    let arrays = run("empty arrays", &inputs[0]);
    assert!(matches!(arrays, Err(ExtractError::TooComplex { .. })), "{arrays:?}");
    let object_streams = run("object stream arrays", &inputs[1]);
    assert!(matches!(object_streams, Err(ExtractError::TooComplex { .. })), "{object_streams:?}");
    let fonts = run("many fonts", &inputs[2]);
    assert!(matches!(fonts, Err(ExtractError::TooComplex { .. })), "{fonts:?}");
    // Drawing stops at 10,000 forms per page.
    let forms = run("form fan-out", &inputs[3]);
    assert!(matches!(&forms, Ok(d) if d.text.starts_with("leaf")), "{forms:?}");
    let line = run("one long line", &inputs[4]);
    assert!(matches!(&line, Ok(d) if d.text.len() == 190_000), "{:?}", line.map(|d| d.text.len()));
    if let (Some(before), Some(after)) = (before, peak_rss()) {
        let grown = after.saturating_sub(before) >> 20;
        println!("peak memory grew by {grown} MiB");
        assert!(grown < 400, "peak memory grew by {grown} MiB");
    }
}
