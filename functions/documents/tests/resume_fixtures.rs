//! Every PDF and DOCX rendering of the fixture resumes (tests/fixtures/resumes) against
//! its Markdown or text source: the words, in order (longest common subsequence over
//! words, Markdown and punctuation ignored), the contact facts verbatim, and the line
//! structure the resume parser relies on (the name on a line of its own when the
//! source has it so; a job title and its dates on one line when the source has them so).
//! Prints one row per file.

use std::path::{Path, PathBuf};

use ferry_documents::{Format, Limits, extract};
use serde_json::Value;

/// Share of the source's words that must come out, in order.
const MIN_WORD_RECALL: f64 = 0.95;

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/resumes")
}

fn expected() -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixtures_dir().join("expected.json")).unwrap()).unwrap()
}

/// (resume id, rendered file, source file) for every PDF and DOCX, plus the LibreOffice PDFs.
fn renderings(expected: &Value) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for (id, resume) in expected["resumes"].as_object().unwrap() {
        let files = resume["files"].as_object().unwrap();
        let source = files.get("md").or_else(|| files.get("txt")).and_then(Value::as_str).unwrap().to_owned();
        for kind in ["pdf", "docx"] {
            if let Some(file) = files.get(kind).and_then(Value::as_str) {
                out.push((id.clone(), file.to_owned(), source.clone()));
            }
        }
        let office_pdf = source.rsplit_once('.').unwrap().0.to_owned() + ".lo.pdf";
        if fixtures_dir().join(&office_pdf).exists() {
            out.push((id.clone(), office_pdf, source.clone()));
        }
    }
    out
}

#[test]
fn renderings_read_like_their_sources() {
    let expected = expected();
    let renderings = renderings(&expected);
    assert!(renderings.len() >= 21, "9 PDFs, 10 DOCX and the LibreOffice PDFs: {}", renderings.len());
    assert!(renderings.iter().any(|(_, file, _)| file.ends_with(".lo.pdf")), "the LibreOffice PDFs are there");
    let mut failures = Vec::new();
    println!("{:<34} {:>6} {:>7} {:>8}", "file", "format", "words", "recall");
    for (id, file, source) in &renderings {
        let facts = &expected["resumes"][id];
        if let Err(problem) = check_rendering(facts, file, source) {
            failures.push(format!("{file}: {problem}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn check_rendering(facts: &Value, file: &str, source_file: &str) -> Result<(), String> {
    let bytes = std::fs::read(fixtures_dir().join(file)).unwrap();
    let document = extract(&bytes, &Limits::default()).map_err(|e| e.to_string())?;
    let want_format = if file.ends_with(".pdf") { Format::Pdf } else { Format::Docx };
    if document.format != want_format {
        return Err(format!("read as {:?}", document.format));
    }
    let source = std::fs::read_to_string(fixtures_dir().join(source_file)).unwrap();
    let reference = reference_text(&source, file);
    let recall = word_recall(&reference, &document.text);
    println!("{file:<34} {:>6} {:>7} {:>7.1}%", document.format, words(&reference).len(), recall * 100.0);
    if recall < MIN_WORD_RECALL {
        return Err(format!("only {:.1}% of the source's words in order:\n{}", recall * 100.0, document.text));
    }
    check_contacts(facts, &document.text)?;
    check_name_line(facts, &source, &document.text)?;
    check_title_date_lines(facts, &source, &document.text)
}

/// What the rendering should read like: the source, except that a table rendering of
/// r04's two columns reads column by column (see `column_major`).
fn reference_text(source: &str, file: &str) -> String {
    let two_column_table = file.starts_with("r04") && (file.ends_with(".docx") || file.ends_with(".lo.pdf"));
    if two_column_table { column_major(source) } else { source.to_owned() }
}

/// r04's header block (left: name, title, city; right: contacts) and body (`skills |
/// experience`) one column after the other, as make_resume_fixtures.py lays them out in
/// the DOCX.
fn column_major(source: &str) -> String {
    let lines: Vec<&str> = source.lines().collect();
    let rule = lines.iter().position(|l| l.starts_with("----")).unwrap();
    let (head, body) = (&lines[..rule], &lines[rule + 1..]);
    let left_head = head.iter().map(|l| l.get(..50).unwrap_or(l));
    let right_head = head.iter().filter_map(|l| l.get(50..));
    let cells: Vec<(&str, &str)> = body.iter().filter_map(|l| l.split_once('|')).collect();
    let left_body = cells.iter().map(|c| c.0);
    let right_body = cells.iter().map(|c| c.1);
    let columns: Vec<&str> = left_head.chain(right_head).chain(left_body).chain(right_body).collect();
    columns.join("\n")
}

// Words ----------------------------------------------------------------------------------

/// Lower-case words (letters and digits), with Markdown link targets removed (their
/// text stays) and typographic punctuation irrelevant.
fn words(text: &str) -> Vec<String> {
    let without_targets = remove_markdown_link_targets(text);
    without_targets.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

/// `[text](url)` -> `text`.
fn remove_markdown_link_targets(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("](") {
        let Some(close) = rest[at..].find(')') else { break };
        out.push_str(&rest[..at]);
        rest = &rest[at + close + 1..];
    }
    out.push_str(rest);
    out
}

/// Longest common subsequence of the reference's and the text's words, over the
/// reference's word count.
fn word_recall(reference: &str, text: &str) -> f64 {
    let (a, b) = (words(reference), words(text));
    let mut previous = vec![0u32; b.len() + 1];
    let mut current = vec![0u32; b.len() + 1];
    for word in &a {
        for (j, other) in b.iter().enumerate() {
            current[j + 1] = if word == other { previous[j] + 1 } else { current[j].max(previous[j + 1]) };
        }
        std::mem::swap(&mut previous, &mut current);
    }
    f64::from(previous[b.len()]) / a.len().max(1) as f64
}

/// The fpdf PDFs write typographic characters as ASCII (see the fixtures' README).
fn ascii_punctuation(text: &str) -> String {
    text.replace(['–', '—', '•'], "-").replace('’', "'").replace('→', "->")
}

// Facts and lines ------------------------------------------------------------------------

fn check_contacts(facts: &Value, text: &str) -> Result<(), String> {
    let contacts = &facts["contacts"];
    let text = ascii_punctuation(text);
    for key in ["email", "phone"] {
        let value = ascii_punctuation(contacts[key].as_str().unwrap());
        if !text.contains(&value) {
            return Err(format!("{key} {value:?} is not in the text"));
        }
    }
    let flat = text.to_lowercase().replace("www.", "");
    for link in contacts["links"].as_object().unwrap().values() {
        let link = link.as_str().unwrap();
        if !flat.contains(link) {
            return Err(format!("link {link} is not in the text"));
        }
    }
    Ok(())
}

/// A source line as the parser sees it: no Markdown heading or emphasis marks.
fn plain(line: &str) -> String {
    ascii_punctuation(line.trim_start_matches('#').replace("**", "").replace('*', "").trim()).to_lowercase()
}

/// If the source puts the name on a line of its own, so must the text, near the top.
fn check_name_line(facts: &Value, source: &str, text: &str) -> Result<(), String> {
    let name = facts["contacts"]["name"].as_str().unwrap().to_lowercase();
    let Some(name_line) = source.lines().map(plain).find(|line| line.starts_with(&name)) else { return Ok(()) };
    if !is_own_line(&name_line, &name) {
        return Ok(());
    }
    let top: Vec<String> = text.lines().map(plain).filter(|l| !l.is_empty()).take(3).collect();
    match top.iter().any(|line| is_own_line(line, &name)) {
        true => Ok(()),
        false => Err(format!("the name {name:?} is not on a line of its own at the top: {top:?}")),
    }
}

/// The name alone, or with a short suffix such as ", phd".
fn is_own_line(line: &str, name: &str) -> bool {
    line.starts_with(name) && line.len() <= name.len() + 6
}

/// For each job whose title and start year share a source line, they share a line of
/// the text too.
fn check_title_date_lines(facts: &Value, source: &str, text: &str) -> Result<(), String> {
    for job in facts["employment"].as_array().unwrap() {
        let title = words(job["title"].as_str().unwrap()).join(" ");
        let year = &job["start"].as_str().unwrap()[..4];
        let together = |line: &str| {
            let line_words = words(line);
            line_words.join(" ").contains(&title) && line_words.iter().any(|w| w.contains(year))
        };
        if source.lines().any(together) && !text.lines().any(together) {
            return Err(format!("{title:?} and {year} are not on one line"));
        }
    }
    Ok(())
}

#[test]
fn the_measures_can_fail() {
    assert!(word_recall("alpha beta gamma delta", "alpha gamma beta") < 0.6);
    assert_eq!(word_recall("[LinkedIn](https://x.example.com) — Rust", "LinkedIn - rust"), 1.0);
    let facts: Value = serde_json::json!({"employment": [{"title": "Data Engineer", "start": "2019-09"}]});
    assert!(
        check_title_date_lines(&facts, "Data Engineer, Acme, 2019 - 2022", "Data Engineer, Acme\n2019 - 2022").is_err()
    );
    let two_columns = column_major(&format!("{:<50}x@example.com\n----\na | b\nc | d", "NAME"));
    assert_eq!(words(&two_columns), ["name", "x", "example", "com", "a", "c", "b", "d"]);
}
