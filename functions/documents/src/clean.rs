//! Character and line clean-up shared by the PDF and DOCX extractors, so both hand the
//! resume parser the same kind of text: no invisible characters, ligatures spelled out,
//! one blank line at most between blocks.

/// Appends `s` to `out` without control and zero-width characters, with no-break spaces
/// as spaces, ligatures as their letters and private-use glyphs (icon and bullet fonts)
/// as a bullet.
pub(crate) fn push_clean(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '\t' | '\n' => out.push(c),
            '\u{a0}' | '\u{2007}' | '\u{202f}' => out.push(' '),
            '\u{ad}' | '\u{200b}'..='\u{200d}' | '\u{2060}' | '\u{feff}' | '\u{fffd}' => {}
            '\u{fb00}'..='\u{fb06}' => out.push_str(ligature(c)),
            '\u{e000}'..='\u{f8ff}' => out.push('•'),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
}

fn ligature(c: char) -> &'static str {
    match c {
        '\u{fb00}' => "ff",
        '\u{fb01}' => "fi",
        '\u{fb02}' => "fl",
        '\u{fb03}' => "ffi",
        '\u{fb04}' => "ffl",
        _ => "st",
    }
}

/// Joins lines with `\n`: trailing spaces trimmed, runs of blank lines collapsed to one,
/// no blank lines at either end.
pub(crate) fn join_lines<'a>(lines: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::new();
    let mut pending_blank = false;
    for line in lines {
        for piece in line.split('\n') {
            let piece = piece.trim_end();
            if piece.trim().is_empty() {
                pending_blank = !out.is_empty();
                continue;
            }
            if !out.is_empty() {
                out.push_str(if pending_blank { "\n\n" } else { "\n" });
            }
            out.push_str(piece);
            pending_blank = false;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_characters() {
        let mut out = String::new();
        push_clean(&mut out, "\u{feff}of\u{fb01}ce\u{a0}work\u{200b}\u{1}\u{f0b7} x");
        assert_eq!(out, "office work• x");
    }

    #[test]
    fn joins_lines() {
        assert_eq!(join_lines(["", "a  ", "", "", " ", "b\nc", ""]), "a\n\nb\nc");
    }
}
