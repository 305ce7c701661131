//! Every entry of tests/fixtures/hostile/manifest.json through `extract` with the
//! default limits, each on its own thread under a wall-clock guard (a hang fails the
//! test instead of hanging it), with the documented outcome asserted, and no
//! /etc/passwd content anywhere.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use ferry_documents::{Document, ExtractError, Format, Limits, extract};
use serde_json::Value;

/// Generous: the default budget is 10 s and unoptimised test builds are slow.
const GUARD: Duration = Duration::from_secs(60);

fn hostile_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/hostile")
}

type Outcome = Result<Document, ExtractError>;

/// What each fixture must yield.
fn expectation(file: &str) -> Option<fn(&Outcome) -> bool> {
    Some(match file {
        "zipbomb_ratio.docx" | "flate_bomb.pdf" => {
            |o| matches!(o, Err(ExtractError::CompressionRatio { .. } | ExtractError::InflateLimit { .. }))
        }
        // Refused when the zip reader sees more bytes than declared, or at a cap.
        "zipbomb_liar.docx" => |o| {
            matches!(
                o,
                Err(ExtractError::Corrupt { format: Format::Docx, .. }
                    | ExtractError::CompressionRatio { .. }
                    | ExtractError::InflateLimit { .. })
            )
        },
        // Plain text by content (the name is not consulted): read as text, not as a DOCX.
        "not_a_zip.docx" => |o| matches!(o, Ok(d) if d.format == Format::Text && d.text.contains("pretending")),
        "zip_without_document.docx" => {
            |o| matches!(o, Err(ExtractError::Corrupt { format: Format::Docx, reason }) if reason.contains("document.xml"))
        }
        "truncated.docx" => |o| matches!(o, Err(ExtractError::Corrupt { format: Format::Docx, .. })),
        "xxe.docx" | "billion_laughs.docx" => |o| matches!(o, Err(ExtractError::Refused { format: Format::Docx, .. })),
        "empty.docx" | "empty.pdf" => |o| matches!(o, Err(ExtractError::Empty)),
        "pages_100k.pdf" => |o| matches!(o, Err(ExtractError::TooManyPages(50))),
        "pages_count_lie.pdf" => |o| one_page(o, "Only one real page."),
        "pages_cycle.pdf" => |o| one_page(o, "Cycle."),
        "nested_arrays.pdf" => |o| one_page(o, "Deep."),
        "xref_prev_loop.pdf" => |o| one_page(o, "Xref loop."),
        // The first 60% of a two-page PDF: what survives is read, or it is refused as damaged.
        "truncated.pdf" => |o| match o {
            Ok(d) => d.text.starts_with("Jordan Example"),
            Err(e) => matches!(e, ExtractError::Corrupt { format: Format::Pdf, .. }),
        },
        "png_as.pdf" => |o| matches!(o, Err(ExtractError::Unsupported("a PNG image"))),
        "image_only.pdf" => |o| matches!(o, Err(ExtractError::NoTextLayer)),
        "encrypted_userpw.pdf" => {
            |o| matches!(o, Err(e @ ExtractError::Encrypted) if e.to_string().contains("password-protected"))
        }
        // Opens without a password, as in viewers.
        "encrypted_ownerpw_only.pdf" => {
            |o| matches!(o, Ok(d) if d.text.starts_with("Jordan Example\njordan.example@example.com"))
        }
        _ => return None,
    })
}

fn one_page(outcome: &Outcome, text: &str) -> bool {
    matches!(outcome, Ok(d) if d.format == Format::Pdf && d.pages == Some(1) && d.text == text)
}

#[test]
fn every_hostile_fixture_has_its_documented_outcome() {
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(hostile_dir().join("manifest.json")).unwrap()).unwrap();
    let files: Vec<String> = manifest.as_object().unwrap().keys().cloned().collect();
    assert_eq!(files.len(), 20, "the manifest lists the committed fixtures");
    let runs: Vec<(String, mpsc::Receiver<Outcome>)> = files.iter().map(|file| (file.clone(), spawn(file))).collect();
    let mut failures = Vec::new();
    for (file, outcome) in runs {
        let Some(expected) = expectation(&file) else {
            failures.push(format!("{file}: no expectation written for it"));
            continue;
        };
        match outcome.recv_timeout(GUARD) {
            Err(_) => failures.push(format!("{file}: no result within {GUARD:?}")),
            Ok(outcome) => {
                println!("{file:<28} {}", describe(&outcome));
                if !expected(&outcome) {
                    failures.push(format!("{file}: unexpected {}", describe(&outcome)));
                }
                if leaks_passwd(&outcome) {
                    failures.push(format!("{file}: /etc/passwd content in the result"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn spawn(file: &str) -> mpsc::Receiver<Outcome> {
    let bytes = std::fs::read(hostile_dir().join(file)).unwrap();
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = send.send(extract(&bytes, &Limits::default()));
    });
    receive
}

fn describe(outcome: &Outcome) -> String {
    match outcome {
        Ok(d) => format!("ok: {} {:?} pages, {:?}", d.format, d.pages, d.text.chars().take(60).collect::<String>()),
        Err(e) => format!("error: {e}"),
    }
}

/// Any line of this machine's /etc/passwd (or the tell-tale `root:x:0:0`) in the result.
fn leaks_passwd(outcome: &Outcome) -> bool {
    let shown = match outcome {
        Ok(d) => d.text.clone(),
        Err(e) => e.to_string(),
    };
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    shown.contains("root:x:0:0") || passwd.lines().filter(|l| l.len() > 8).any(|line| shown.contains(line))
}
