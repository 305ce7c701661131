//! Random and damaged input never panics (a caught panic would surface as
//! `ExtractError::Internal`, which these tests reject) and never runs long: random bytes
//! (bare, or behind a PDF or zip signature) and the fixture files with bytes flipped,
//! runs overwritten and tails cut off.

mod common;

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use ferry_documents::{ExtractError, Limits, extract};
use proptest::prelude::*;

/// The default budget is 10 s; well within it even unoptimised.
const SLOW: Duration = Duration::from_secs(5);

fn check(bytes: &[u8]) -> Result<(), TestCaseError> {
    let started = Instant::now();
    let result = extract(bytes, &Limits::default());
    let elapsed = started.elapsed();
    prop_assert!(!matches!(result, Err(ExtractError::Internal)), "a parser panicked");
    prop_assert!(elapsed < SLOW, "took {elapsed:?}");
    if let Ok(document) = result {
        prop_assert!(!document.text.trim().is_empty());
    }
    Ok(())
}

/// Fixture files to damage: every PDF and DOCX format variant we read, including an
/// uncompressed PDF whose structure and text operators are exposed to the damage.
fn samples() -> &'static [Vec<u8>] {
    static SAMPLES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SAMPLES.get_or_init(|| {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/");
        let files = [
            "resumes/r01-daniel-okafor.pdf",
            "resumes/r01-daniel-okafor.docx",
            "resumes/r02-priya-raman.docx",
            "resumes/r04-mette-kristensen.docx",
            "resumes/r12-wei-zhang.lo.pdf",
            "hostile/encrypted_ownerpw_only.pdf",
            "hostile/pages_100k.pdf",
        ];
        let mut samples: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(format!("{dir}{f}")).unwrap()).collect();
        samples.push(uncompressed_pdf());
        samples
    })
}

fn uncompressed_pdf() -> Vec<u8> {
    let content = b"BT /F1 12 Tf 14 TL 72 700 Td [(Jane) -300 (Doe)] TJ T* (R\\374st) ' /F2 10 Tf <00010002> Tj ET \
        q 1 0 0 1 5 5 cm /Fm Do Q BI /W 1 /H 1 ID \x00 EI";
    let cmap = b"begincmap 1 begincodespacerange <0000> <FFFF> endcodespacerange \
        2 beginbfchar <0001> <0041> <0002> <4E2D> endbfchar 1 beginbfrange <0003> <0005> <0061> endbfrange endcmap";
    common::pdf(
        &[
            (1, b"<< /Type /Catalog /Pages 2 0 R >>".to_vec()),
            (2, b"<< /Type /Pages /Kids [3 0 R 3 0 R] /Count 2 >>".to_vec()),
            (3, b"<< /Type /Page /Parent 2 0 R /Contents 4 0 R /Resources << /Font << /F1 5 0 R /F2 6 0 R >> /XObject << /Fm 8 0 R >> >> >>".to_vec()),
            (4, common::stream("", content)),
            (5, b"<< /Type /Font /Subtype /TrueType /BaseFont /Arial /Encoding << /Differences [33 /bullet] >> >>".to_vec()),
            (6, b"<< /Type /Font /Subtype /Type0 /Encoding /Identity-H /DescendantFonts [<< /Subtype /CIDFontType2 /W [1 [500 600]] >>] /ToUnicode 7 0 R >>".to_vec()),
            (7, common::stream("", cmap)),
            (8, common::stream("/Subtype /Form /Resources << /Font << /F1 5 0 R >> >>", b"BT /F1 9 Tf (In form) Tj ET /Fm Do")),
        ],
        "/Info << /Title (x) >>",
    )
}

/// What damage to do to a sample.
#[derive(Debug, Clone)]
enum Damage {
    Flip { at: usize, xor: u8 },
    Overwrite { at: usize, bytes: Vec<u8> },
    Truncate { at: usize },
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        4 => (any::<usize>(), 1u8..).prop_map(|(at, xor)| Damage::Flip { at, xor }),
        2 => (any::<usize>(), prop::collection::vec(any::<u8>(), 1..64)).prop_map(|(at, bytes)| Damage::Overwrite { at, bytes }),
        1 => any::<usize>().prop_map(|at| Damage::Truncate { at }),
    ]
}

fn apply(mut bytes: Vec<u8>, damages: &[Damage]) -> Vec<u8> {
    for damage in damages {
        let len = bytes.len().max(1);
        match damage {
            Damage::Flip { at, xor } => {
                if let Some(b) = bytes.get_mut(at % len) {
                    *b ^= xor;
                }
            }
            Damage::Overwrite { at, bytes: new } => {
                for (i, b) in new.iter().enumerate() {
                    if let Some(slot) = bytes.get_mut(at % len + i) {
                        *slot = *b;
                    }
                }
            }
            Damage::Truncate { at } => bytes.truncate(at % len),
        }
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(
        prefix in prop_oneof![Just(&b""[..]), Just(&b"%PDF-1.7\n"[..]), Just(&b"PK\x03\x04"[..]), Just(&b"\xef\xbb\xbf"[..])],
        body in prop::collection::vec(any::<u8>(), 0..4096),
    ) {
        check(&[prefix, &body].concat())?;
    }

    #[test]
    fn random_pdf_syntax_never_panics(tokens in prop::collection::vec(pdf_token(), 0..400)) {
        let content = tokens.concat();
        check(&common::one_page_pdf(&content, "<< /Font << /F1 5 0 R >> >>", &[(5, common::HELVETICA.to_vec())]))?;
        let mut file = b"%PDF-1.4\n1 0 obj ".to_vec();
        file.extend_from_slice(&content);
        check(&file)?;
    }

    #[test]
    fn random_filters_and_parameters_never_panic(
        filter in prop::sample::select(vec![
            "/FlateDecode", "/LZWDecode", "/ASCII85Decode", "/ASCIIHexDecode", "/RunLengthDecode",
            "/BrotliDecode", "[/FlateDecode /ASCIIHexDecode]", "/Crypt", "/DCTDecode", "/Nonsense",
        ]),
        predictor in prop_oneof![Just(1i64), Just(2), 10i64..=15, any::<i64>()],
        columns in prop_oneof![0i64..5_000, any::<i64>()],
        colors in prop_oneof![0i64..8, any::<i64>()],
        bits in prop_oneof![Just(1i64), Just(2), Just(4), Just(8), Just(16), any::<i64>()],
        data in prop::collection::vec(any::<u8>(), 0..2048),
        deflate in any::<bool>(),
    ) {
        let data = if deflate { zlib(&data) } else { data };
        let params = format!("/DecodeParms << /Predictor {predictor} /Columns {columns} /Colors {colors} /BitsPerComponent {bits} /EarlyChange 0 >>");
        let content = common::stream(&format!("/Filter {filter} {params}"), &data);
        check(&page_with_content(content))?;
    }

    #[test]
    fn random_font_data_never_panics(
        cmap in prop::collection::vec(pdf_token(), 0..200),
        widths in prop::collection::vec(pdf_token(), 0..60),
        shown in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let hex: String = shown.iter().map(|b| format!("{b:02X}")).collect();
        let content = format!("BT /F1 12 Tf 72 700 Td <{hex}> Tj [<{hex}> -250 (x)] TJ ET");
        let mut font = b"<< /Type /Font /Subtype /Type0 /Encoding /Identity-H /ToUnicode 6 0 R /DescendantFonts [<< /W [".to_vec();
        font.extend(widths.concat());
        font.extend_from_slice(b"] >>] >>");
        let bytes = common::one_page_pdf(content.as_bytes(), "<< /Font << /F1 5 0 R >> >>", &[(5, font), (6, common::stream("", &cmap.concat()))]);
        check(&bytes)?;
    }

    #[test]
    fn damaged_fixtures_never_panic(which in 0usize..8, damages in prop::collection::vec(damage(), 1..12)) {
        let samples = samples();
        check(&apply(samples[which % samples.len()].clone(), &damages))?;
    }
}

fn zlib(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

/// A one-page PDF whose content stream object is `content`.
fn page_with_content(content: Vec<u8>) -> Vec<u8> {
    common::pdf(
        &[
            (1, b"<< /Type /Catalog /Pages 2 0 R >>".to_vec()),
            (2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec()),
            (3, b"<< /Type /Page /Parent 2 0 R /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_vec()),
            (4, content),
            (5, common::HELVETICA.to_vec()),
        ],
        "",
    )
}

/// Fragments of PDF syntax, to reach deeper than random bytes do.
fn pdf_token() -> impl Strategy<Value = Vec<u8>> {
    let fixed: Vec<&'static [u8]> = vec![
        b"BT ",
        b"ET ",
        b"q ",
        b"Q ",
        b"[",
        b"]",
        b"<<",
        b">>",
        b"(x",
        b")",
        b"<41",
        b">",
        b"/F1 ",
        b"12 ",
        b"-3.5 ",
        b"Tf ",
        b"Td ",
        b"TD ",
        b"Tm ",
        b"Tj ",
        b"TJ ",
        b"' ",
        b"\" ",
        b"T* ",
        b"cm ",
        b"Do ",
        b"BI ",
        b"ID ",
        b"EI ",
        b"1 0 R ",
        b"obj ",
        b"endobj ",
        b"stream\n",
        b"endstream ",
        b"xref ",
        b"trailer ",
        b"startxref ",
        b"%",
        b"\n",
        b"1e308 ",
        b"99999999999999999999 ",
        b"\\",
        b"#",
        b"{",
        b"}",
        b"<0000> ",
        b"<FFFF> ",
        b"<00410042> ",
        b"[<0041>] ",
        b"begincodespacerange ",
        b"endcodespacerange ",
        b"beginbfchar ",
        b"endbfchar ",
        b"beginbfrange ",
        b"endbfrange ",
        b"0 ",
        b"65535 ",
        b"4294967295 ",
        b"-1 ",
    ];
    prop_oneof![
        4 => prop::sample::select(fixed).prop_map(<[u8]>::to_vec),
        1 => prop::collection::vec(any::<u8>(), 1..8),
    ]
}

#[test]
fn samples_read_before_damage() {
    for (i, sample) in samples().iter().enumerate() {
        let result = extract(sample, &Limits::default());
        let expected_ok = i != 6; // pages_100k.pdf is refused for its page count
        assert_eq!(result.is_ok(), expected_ok, "sample {i}: {result:?}");
    }
    let text = extract(&uncompressed_pdf(), &Limits::default()).unwrap().text;
    assert!(text.starts_with("Jane Doe\n\nR\u{fc}stA\u{4e2d}\n\nIn form\n\nJane Doe"), "{text}");
}
