//! Document structures the fixtures do not cover, built in the test: DOCX tables, text
//! boxes, fields, revisions, headers; PDF composite fonts with `/ToUnicode`, glyph-name
//! encodings, link annotations, form XObjects, compressed cross-reference data, damaged
//! offsets and the time budget.

mod common;

use std::io::Write;
use std::time::Duration;

use common::{HELVETICA, deflated_stream, docx, hyperlink_rels, one_page_pdf, paragraph, pdf, stream};
use ferry_documents::{ExtractError, Format, Limits, extract};

fn text_of(bytes: &[u8]) -> String {
    match extract(bytes, &Limits::default()) {
        Ok(document) => document.text,
        Err(e) => panic!("extraction failed: {e}"),
    }
}

// DOCX -------------------------------------------------------------------------------------

#[test]
fn docx_tables_read_by_row_or_by_cell() {
    let short_cells = "<w:tr><w:tc><w:p><w:r><w:t>Senior Engineer, Acme</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>2019 – 2021</w:t></w:r></w:p></w:tc></w:tr>";
    let columns = format!(
        "<w:tr><w:tc>{}{}</w:tc><w:tc>{}</w:tc></w:tr>",
        paragraph("SKILLS"),
        paragraph("Rust"),
        paragraph("EXPERIENCE")
    );
    let body = format!("{}<w:tbl>{short_cells}{columns}</w:tbl>{}", paragraph("Jane Doe"), paragraph("After"));
    assert_eq!(
        text_of(&docx(&body, &[])),
        "Jane Doe\nSenior Engineer, Acme | 2019 – 2021\nSKILLS\nRust\n\nEXPERIENCE\nAfter"
    );
}

#[test]
fn docx_text_boxes_are_read_once() {
    let boxed = "<w:txbxContent><w:p><w:r><w:t>Boxed</w:t></w:r></w:p></w:txbxContent>";
    let body = format!(
        "<w:p><w:r><mc:AlternateContent><mc:Choice Requires=\"wps\"><w:drawing>{boxed}</w:drawing></mc:Choice>\
         <mc:Fallback><w:pict>{boxed}</w:pict></mc:Fallback></mc:AlternateContent></w:r><w:r><w:t>After</w:t></w:r></w:p>"
    );
    assert_eq!(text_of(&docx(&body, &[])), "Boxed\nAfter");
}

#[test]
fn docx_links_keep_targets_behind_labels() {
    let field = "<w:p><w:r><w:fldChar w:fldCharType=\"begin\"/></w:r><w:r><w:instrText xml:space=\"preserve\"> HYPERLINK \"https://github.com/x-example\" </w:instrText></w:r>\
         <w:r><w:fldChar w:fldCharType=\"separate\"/></w:r><w:r><w:t>GitHub</w:t></w:r><w:r><w:fldChar w:fldCharType=\"end\"/></w:r></w:p>";
    let links = "<w:p><w:hyperlink r:id=\"rId1\"><w:r><w:t>LinkedIn</w:t></w:r></w:hyperlink><w:r><w:t xml:space=\"preserve\"> · </w:t></w:r>\
         <w:hyperlink r:id=\"rId2\"><w:r><w:t>x.example.com</w:t></w:r></w:hyperlink></w:p>";
    let rels = hyperlink_rels(&[("rId1", "https://www.linkedin.com/in/x-example"), ("rId2", "https://x.example.com/")]);
    let bytes = docx(&format!("{field}{links}"), &[("word/_rels/document.xml.rels", &rels)]);
    assert_eq!(
        text_of(&bytes),
        "GitHub (https://github.com/x-example)\nLinkedIn (https://www.linkedin.com/in/x-example) · x.example.com"
    );
}

#[test]
fn docx_revisions_lists_tabs_and_entities() {
    let body = "<w:p><w:del><w:r><w:delText>old</w:delText></w:r></w:del><w:ins><w:r><w:t>new</w:t></w:r></w:ins></w:p>\
        <w:p><w:pPr><w:pStyle w:val=\"ListBullet\"/></w:pPr><w:r><w:t>Rust</w:t></w:r></w:p>\
        <w:p><w:pPr><w:tabs><w:tab w:val=\"right\" w:pos=\"9000\"/></w:tabs></w:pPr><w:r><w:t>Engineer</w:t><w:tab/><w:t>2020</w:t><w:br/><w:t>R&amp;D &#233;</w:t></w:r></w:p>";
    assert_eq!(text_of(&docx(body, &[])), "new\n• Rust\nEngineer\t2020\nR&D é");
}

#[test]
fn docx_numbered_lists_are_numbered() {
    let item = |style: &str, text: &str| {
        format!("<w:p><w:pPr><w:pStyle w:val=\"{style}\"/></w:pPr><w:r><w:t>{text}</w:t></w:r></w:p>")
    };
    let body =
        [item("ListNumber", "First"), item("ListNumber", " Second"), paragraph("Then"), item("ListNumber", "Again")];
    assert_eq!(text_of(&docx(&body.concat(), &[])), "1. First\n2. Second\nThen\n1. Again");
}

#[test]
fn docx_headers_come_first_and_footers_last() {
    let part = |root: &str, text: &str| format!("<w:{root} {}>{}</w:{root}>", common::W_NS, paragraph(text));
    let (header, footer) = (part("hdr", "jane@example.com"), part("ftr", "Page 1"));
    let bytes = docx(&paragraph("Jane Doe"), &[("word/header1.xml", &header), ("word/footer1.xml", &footer)]);
    assert_eq!(text_of(&bytes), "jane@example.com\nJane Doe\nPage 1");
}

#[test]
fn docx_with_thousands_of_header_parts_reads_a_bounded_number_quickly() {
    // 40,000 tiny distinct headers once took 11.7 s against the 10 s budget:
    // the clock was read only inside parts, and each header was compared
    // with every line kept before it. 35,000 is about what fits in 10 MiB.
    let part = |i: usize| format!("<w:hdr {}>{}</w:hdr>", common::W_NS, paragraph(&format!("Header {i}")));
    let parts: Vec<(String, String)> = (1..=35_000).map(|i| (format!("word/header{i}.xml"), part(i))).collect();
    let refs: Vec<(&str, &str)> = parts.iter().map(|(n, c)| (n.as_str(), c.as_str())).collect();
    let bytes = docx(&paragraph("Jane Doe"), &refs);
    let started = std::time::Instant::now();
    let text = text_of(&bytes);
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "took {:?}", started.elapsed());
    assert!(text.ends_with("Jane Doe"), "the body is still read");
    assert_eq!(text.lines().filter(|l| l.starts_with("Header ")).count(), 64, "at most 64 header parts");
}

#[test]
fn docx_deep_nesting_is_flattened() {
    let depth = 5_000;
    let body = format!(
        "{}{}{}",
        "<w:tbl><w:tr><w:tc>".repeat(depth),
        paragraph("Deep"),
        "</w:tc></w:tr></w:tbl>".repeat(depth)
    );
    assert_eq!(text_of(&docx(&body, &[])), "Deep");
}

// PDF --------------------------------------------------------------------------------------

/// Glyph ids for "Jane", "Doe", "–", "张伟", "ABC" in a subset font, as Word and LibreOffice write them.
const TO_UNICODE: &[u8] = b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap
    1 begincodespacerange <0000> <FFFF> endcodespacerange
    3 beginbfchar <0001> <004A> <0008> <2013> <0009> <5F20> endbfchar
    3 beginbfrange <0002> <0004> [<0061> <006E> <0065>] <0005> <0007> [<0044> <006F> <0065>] <000B> <000D> <0041> endbfrange
    1 beginbfchar <000A> <4F1F> endbfchar
    endcmap CMapName currentdict /CMap defineresource pop end end";

#[test]
fn pdf_composite_font_with_to_unicode() {
    // J a n e, D o e: "Jane" then a word gap (-300), "Doe", kerning (-20) inside "D o".
    let content = b"BT /F1 12 Tf 72 700 Td [<0001000200030004> -300 <0005> -20 <00060007>] TJ ET\n\
        BT /F1 12 Tf 72 686 Td <00080009000A> Tj ET BT /F1 12 Tf 72 672 Td <000B000C000D> Tj ET";
    let font = b"<< /Type /Font /Subtype /Type0 /BaseFont /ABCDEF+Calibri /Encoding /Identity-H \
        /DescendantFonts [6 0 R] /ToUnicode 7 0 R >>"
        .to_vec();
    let descendant = b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /ABCDEF+Calibri /DW 1000 \
        /W [1 [500 500 500 500] 5 7 550 8 [500 1000 1000]] >>"
        .to_vec();
    let bytes = one_page_pdf(
        content,
        "<< /Font << /F1 5 0 R >> >>",
        &[(5, font), (6, descendant), (7, deflated_stream("", TO_UNICODE))],
    );
    assert_eq!(text_of(&bytes), "Jane Doe\n–张伟\nABC");
}

#[test]
fn pdf_simple_font_differences() {
    let content = b"BT /F1 11 Tf 72 700 Td (\x01 Rust\x02s crate) Tj ET";
    let font = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica \
        /Encoding << /BaseEncoding /WinAnsiEncoding /Differences [1 /bullet /quoteright] >> >>"
        .to_vec();
    let bytes = one_page_pdf(content, "<< /Font << /F1 5 0 R >> >>", &[(5, font)]);
    assert_eq!(text_of(&bytes), "• Rust’s crate");
}

#[test]
fn pdf_link_labels_get_their_targets() {
    let content = b"BT /F1 10 Tf 72 700 Td (Jane Doe  LinkedIn  x.example.com) Tj ET";
    // Helvetica 10 pt: "Jane Doe  " is 47.8 pt wide, "LinkedIn" 37.8 pt.
    let link = |x0: f64, x1: f64, uri: &str| {
        format!("<< /Type /Annot /Subtype /Link /Rect [{x0} 698 {x1} 710] /A << /S /URI /URI ({uri}) >> >>")
            .into_bytes()
    };
    let page =
        b"<< /Type /Page /Parent 2 0 R /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> /Annots [6 0 R 7 0 R] >>";
    let bytes = pdf(
        &[
            (1, b"<< /Type /Catalog /Pages 2 0 R >>".to_vec()),
            (2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec()),
            (3, page.to_vec()),
            (4, stream("", content)),
            (5, HELVETICA.to_vec()),
            (6, link(120.0, 158.0, "https://www.linkedin.com/in/jane-example")),
            (7, link(170.0, 230.0, "https://x.example.com")),
        ],
        "",
    );
    assert_eq!(text_of(&bytes), "Jane Doe  LinkedIn  x.example.com (https://www.linkedin.com/in/jane-example)");
}

#[test]
fn pdf_forms_are_drawn_and_cycles_stopped() {
    let content = b"q 1 0 0 1 0 -20 cm /Fm1 Do Q BT /F1 10 Tf 72 600 Td (Body) Tj ET";
    let form_content = b"BT /F1 10 Tf 72 700 Td (In a form) Tj ET /Fm1 Do";
    let form = stream("/Type /XObject /Subtype /Form /BBox [0 0 612 792] /Resources 7 0 R", form_content);
    let resources = b"<< /Font << /F1 5 0 R >> /XObject << /Fm1 6 0 R >> >>".to_vec();
    let bytes = one_page_pdf(content, "7 0 R", &[(5, HELVETICA.to_vec()), (6, form), (7, resources)]);
    assert_eq!(text_of(&bytes), "In a form\n\nBody");
}

#[test]
fn pdf_inline_images_are_not_read_as_text() {
    let content = b"BT /F1 10 Tf 72 700 Td (Before) Tj ET BI /W 4 /H 1 /BPC 8 /CS /G ID BT (x) Tj ET\xff\x00 EI\n\
        BT /F1 10 Tf 72 688 Td (After) Tj ET";
    let bytes = one_page_pdf(content, "<< /Font << /F1 5 0 R >> >>", &[(5, HELVETICA.to_vec())]);
    assert_eq!(text_of(&bytes), "Before\nAfter");
}

#[test]
fn pdf_compressed_cross_reference_data_and_object_streams() {
    assert_eq!(text_of(&compressed_pdf()), "Compressed structure");
}

#[test]
fn pdf_damaged_offsets_are_repaired_by_a_scan() {
    let mut bytes = one_page_pdf(
        b"BT /F1 10 Tf 72 700 Td (Repaired) Tj ET",
        "<< /Font << /F1 5 0 R >> >>",
        &[(5, HELVETICA.to_vec())],
    );
    // Shift every object by inserting junk after the header: all offsets are now wrong.
    bytes.splice(15..15, b"% junk inserted by a broken mail gateway\n".iter().copied());
    assert_eq!(text_of(&bytes), "Repaired");
}

#[test]
fn pdf_time_budget_is_enforced() {
    let busy = b"q Q ".repeat(2_000_000);
    let bytes = one_page_pdf(&busy, "<< >>", &[]);
    let limits = Limits { budget: Duration::from_millis(1), max_ratio: 10_000, ..Limits::default() };
    assert!(matches!(extract(&bytes, &limits), Err(ExtractError::Timeout { .. })));
    let no_time = Limits { budget: Duration::ZERO, ..Limits::default() };
    let fixture =
        std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/resumes/r01-daniel-okafor.pdf"))
            .unwrap();
    assert!(matches!(extract(&fixture, &no_time), Err(ExtractError::Timeout { .. })));
}

#[test]
fn pdf_hostile_content_streams_end_quickly() {
    let mut content = b"BT /F1 10 Tf 72 700 Td (Kept) Tj ET ".to_vec();
    content.extend(b"[".repeat(100_000));
    content.extend(b"q ".repeat(10_000));
    let bytes = one_page_pdf(&content, "<< /Font << /F1 5 0 R >> >>", &[(5, HELVETICA.to_vec())]);
    let document = extract(&bytes, &Limits::default()).unwrap();
    assert_eq!((document.format, document.text.as_str()), (Format::Pdf, "Kept"));
}

/// PDF 1.5 layout: catalog, pages, page and font in an object stream (5), located by a
/// cross-reference stream (7) with `/W [1 4 2]`.
fn compressed_pdf() -> Vec<u8> {
    let members = [
        (1, "<< /Type /Catalog /Pages 2 0 R >>"),
        (2, "<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
        (3, "<< /Type /Page /Parent 2 0 R /Contents 4 0 R /Resources << /Font << /F1 6 0 R >> >> >>"),
        (6, std::str::from_utf8(HELVETICA).unwrap()),
    ];
    let mut header = String::new();
    let mut bodies = String::new();
    for (num, body) in members {
        header.push_str(&format!("{num} {} ", bodies.len()));
        bodies.push_str(body);
        bodies.push('\n');
    }
    let object_stream = format!("{header}{bodies}");
    let mut out = b"%PDF-1.5\n".to_vec();
    let content_at = out.len();
    out.extend_from_slice(b"4 0 obj\n");
    out.extend(deflated_stream("", b"BT /F1 10 Tf 72 700 Td (Compressed structure) Tj ET"));
    out.extend_from_slice(b"\nendobj\n");
    let objstm_at = out.len();
    out.extend_from_slice(b"5 0 obj\n");
    out.extend(deflated_stream(&format!("/Type /ObjStm /N 4 /First {}", header.len()), object_stream.as_bytes()));
    out.extend_from_slice(b"\nendobj\n");
    let xref_at = out.len();
    let row = |kind: u8, field: u32, index: u16| {
        let mut r = vec![kind];
        r.extend_from_slice(&field.to_be_bytes());
        r.extend_from_slice(&index.to_be_bytes());
        r
    };
    let as_u32 = |n: usize| u32::try_from(n).unwrap();
    let rows = [
        row(0, 0, 0xffff),
        row(2, 5, 0),
        row(2, 5, 1),
        row(2, 5, 2),
        row(1, as_u32(content_at), 0),
        row(1, as_u32(objstm_at), 0),
        row(2, 5, 3),
        row(1, as_u32(xref_at), 0),
    ]
    .concat();
    writeln!(out, "7 0 obj").unwrap();
    out.extend(stream("/Type /XRef /Size 8 /W [1 4 2] /Root 1 0 R", &rows));
    write!(out, "\nendobj\nstartxref\n{xref_at}\n%%EOF\n").unwrap();
    out
}

/// Forms nested past the depth cap and a chain of indirect `/Length`s, each `/Length`
/// the next object's, read on a thread with a quarter of the usual stack: what little
/// recursion there is stays shallow (an overflow would abort the test run).
#[test]
fn recursion_is_shallow() {
    let forms: Vec<(u32, Vec<u8>)> = (0..20u32)
        .map(|i| {
            let inner = format!("BT /F1 10 Tf 72 {} Td (Level {i}) Tj ET /X Do", 700 - 14 * i);
            let resources = format!("/Resources << /Font << /F1 5 0 R >> /XObject << /X {} 0 R >> >>", 11 + i);
            // The last /Length wins: the first form's is the head of the chain.
            let length = if i == 0 { " /Length 100 0 R" } else { "" };
            (10 + i, stream(&format!("/Subtype /Form {resources}{length}"), inner.as_bytes()))
        })
        .collect();
    let mut lengths: Vec<(u32, Vec<u8>)> =
        (0..40u32).map(|i| (100 + i, stream(&format!("/Length {} 0 R", 101 + i), b"x"))).collect();
    lengths.push((140, b"99".to_vec()));
    let mut objects = vec![(5, HELVETICA.to_vec())];
    objects.extend(forms);
    objects.extend(lengths);
    let bytes = one_page_pdf(b"/X Do", "<< /XObject << /X 10 0 R >> >>", &objects);
    let text = std::thread::Builder::new()
        .stack_size(512 << 10)
        .spawn(move || extract(&bytes, &Limits::default()).map(|d| d.text))
        .unwrap()
        .join()
        .unwrap()
        .unwrap();
    assert!(text.starts_with("Level 0\nLevel 1"), "{text}");
    assert!(text.contains("Level 7") && !text.contains("Level 8"), "forms stop 8 deep: {text}");
}

#[test]
fn a_pdf_cut_short_is_called_damaged_not_a_scan() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/");
    // Each fixture PDF cut to its first 600 / 1,200 / 2,400 bytes: what survives is
    // read, or it is called cut short; never "no text layer (a scanned image?)".
    let mut cut_short = 0;
    for entry in std::fs::read_dir(format!("{dir}resumes")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "pdf") {
            continue;
        }
        let whole = std::fs::read(&path).unwrap();
        for len in [600, 1200, 2400] {
            match extract(&whole[..len.min(whole.len() - 1)], &Limits::default()) {
                Ok(document) => assert!(!document.text.trim().is_empty()),
                Err(e) => {
                    assert!(matches!(e, ExtractError::Corrupt { format: Format::Pdf, .. }), "{path:?} {len}: {e:?}");
                    assert!(e.to_string().contains("cut short"), "{path:?} {len}: {e}");
                    cut_short += 1;
                }
            }
        }
    }
    assert!(cut_short > 0, "no truncation gave nothing to read");
    // A whole file that draws no text at all is still the scan case.
    let image_only = std::fs::read(format!("{dir}hostile/image_only.pdf")).unwrap();
    assert_eq!(extract(&image_only, &Limits::default()).unwrap_err(), ExtractError::NoTextLayer);
}
