//! Small DOCX and PDF builders for tests that need a specific structure.

#![allow(dead_code)]

use std::io::{Cursor, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

pub const W_NS: &str = r#"xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006""#;

/// A DOCX with this body (the inside of `w:body`) and extra parts (name, content).
pub fn docx(body: &str, parts: &[(&str, &str)]) -> Vec<u8> {
    let document =
        format!(r#"<?xml version="1.0" encoding="UTF-8"?><w:document {W_NS}><w:body>{body}</w:body></w:document>"#);
    let mut all = vec![("word/document.xml", document.as_str())];
    all.extend_from_slice(parts);
    zip_parts(&all)
}

pub fn zip_parts(parts: &[(&str, &str)]) -> Vec<u8> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    for (name, content) in parts {
        zip.start_file(*name, options).unwrap();
        zip.write_all(content.as_bytes()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// `word/_rels/document.xml.rels` with external hyperlinks (id, target).
pub fn hyperlink_rels(links: &[(&str, &str)]) -> String {
    let relationships: String = links
        .iter()
        .map(|(id, target)| {
            format!(
                r#"<Relationship Id="{id}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink" Target="{target}" TargetMode="External"/>"#
            )
        })
        .collect();
    format!(
        r#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{relationships}</Relationships>"#
    )
}

pub fn paragraph(text: &str) -> String {
    format!("<w:p><w:r><w:t xml:space=\"preserve\">{text}</w:t></w:r></w:p>")
}

/// A PDF of these objects (number, body) with a classic cross-reference table; object 1
/// is the catalog.
pub fn pdf(objects: &[(u32, Vec<u8>)], trailer_extra: &str) -> Vec<u8> {
    let mut out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (num, body) in objects {
        offsets.push((*num, out.len()));
        writeln!(out, "{num} 0 obj").unwrap();
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let size = objects.iter().map(|(n, _)| *n).max().unwrap_or(0) + 1;
    let xref_at = out.len();
    write!(out, "xref\n0 {size}\n0000000000 65535 f \n").unwrap();
    for num in 1..size {
        match offsets.iter().find(|(n, _)| *n == num) {
            Some((_, offset)) => writeln!(out, "{offset:010} 00000 n ").unwrap(),
            None => writeln!(out, "0000000000 00000 f ").unwrap(),
        }
    }
    write!(out, "trailer\n<< /Size {size} /Root 1 0 R {trailer_extra} >>\nstartxref\n{xref_at}\n%%EOF\n").unwrap();
    out
}

/// A stream object body, uncompressed.
pub fn stream(dict_extra: &str, data: &[u8]) -> Vec<u8> {
    let mut out = format!("<< /Length {} {dict_extra} >>\nstream\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\nendstream");
    out
}

/// A stream object body, FlateDecode.
pub fn deflated_stream(dict_extra: &str, data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    stream(&format!("/Filter /FlateDecode {dict_extra}"), &encoder.finish().unwrap())
}

/// Catalog (1), pages (2), one page (3) with this content (4) and resources.
pub fn one_page_pdf(content: &[u8], resources: &str, more: &[(u32, Vec<u8>)]) -> Vec<u8> {
    let mut objects = vec![
        (1, b"<< /Type /Catalog /Pages 2 0 R >>".to_vec()),
        (2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec()),
        (
            3,
            format!("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources {resources} >>")
                .into_bytes(),
        ),
        (4, deflated_stream("", content)),
    ];
    objects.extend_from_slice(more);
    pdf(&objects, "")
}

pub const HELVETICA: &[u8] = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>";
