//! Lines of a document with their byte offsets.

/// A line and where it starts in the text.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Line<'a> {
    pub text: &'a str,
    pub start: usize,
}

pub(crate) fn lines(text: &str) -> Vec<Line<'_>> {
    let mut out = Vec::new();
    let mut start = 0;
    for piece in text.split_inclusive('\n') {
        let line = piece.trim_end_matches(['\n', '\r']);
        out.push(Line { text: line, start });
        start += piece.len();
    }
    out
}

/// Columns of a two-column plain-text layout: segments split on `|` or on
/// runs of 3+ spaces, each with its offset in the line.
pub(crate) fn segments(line: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let bytes = line.as_bytes();
    let (mut seg_start, mut i) = (0, 0);
    while i < bytes.len() {
        let gap = if bytes[i] == b'|' {
            1
        } else if line[i..].starts_with("   ") {
            line[i..].len() - line[i..].trim_start_matches(' ').len()
        } else {
            0
        };
        if gap > 0 {
            push_segment(&mut out, line, seg_start, i);
            i += gap;
            seg_start = i;
        } else {
            i += line[i..].chars().next().map_or(1, char::len_utf8);
        }
    }
    push_segment(&mut out, line, seg_start, line.len());
    out
}

fn push_segment<'a>(out: &mut Vec<(usize, &'a str)>, line: &'a str, start: usize, end: usize) {
    let raw = &line[start..end];
    let trimmed = raw.trim();
    if !trimmed.is_empty() {
        let lead = raw.len() - raw.trim_start().len();
        out.push((start + lead, trimmed));
    }
}

/// Strips Markdown decoration (`#`, `*`, `_`, `>`), keeping the words.
pub(crate) fn plain(s: &str) -> String {
    s.trim_start_matches(['#', '>', ' ']).replace(['*', '_'], "").trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_keep_offsets_and_columns_split() {
        let text = "a\r\nbb\ncc";
        let l = lines(text);
        assert_eq!((l[1].text, l[1].start), ("bb", 3));
        assert_eq!(&text[l[2].start..], "cc");
        let segs = segments("SKILLS        | EXPERIENCE");
        assert_eq!(segs.iter().map(|s| s.1).collect::<Vec<_>>(), ["SKILLS", "EXPERIENCE"]);
        assert_eq!(segments("Nordlys Energy A/S, Copenhagen     09/2020 - present")[1], (35, "09/2020 - present"));
        assert_eq!(plain("### **Staff** Engineer"), "Staff Engineer");
    }
}
