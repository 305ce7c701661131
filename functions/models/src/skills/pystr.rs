//! The bits of Python `str` semantics the package's pipeline depends on:
//! `str.lower()` (with a map back to the original text), `str.split()` and
//! `len(text[:k].split())`.

/// Python's `str.split()` separators: Unicode `White_Space` (what
/// `char::is_whitespace` tests) plus U+001C..U+001F, which CPython also treats
/// as whitespace (they are bidi class B/S).
pub(crate) fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// `text.split()`: the non-empty runs between Python whitespace.
pub(crate) fn py_split(text: &str) -> Vec<&str> {
    text.split(is_py_space).filter(|w| !w.is_empty()).collect()
}

/// `len(text[:k].split())` for each `k` of `prefixes` (code points, in
/// non-decreasing order), in one pass over `text`. A `k` past the end counts
/// every word, as Python's clamped slice does.
pub(crate) fn word_counts_at(text: &str, prefixes: &[usize]) -> Vec<usize> {
    let mut out = Vec::with_capacity(prefixes.len());
    let mut chars = text.chars();
    let (mut seen, mut words, mut in_word) = (0usize, 0usize, false);
    for &k in prefixes {
        while seen < k {
            let Some(c) = chars.next() else { break };
            let space = is_py_space(c);
            // A word is counted at its first character, so a word cut by the
            // slice still counts, as it does in Python.
            words += usize::from(!space && !in_word);
            in_word = !space;
            seen += 1;
        }
        out.push(words);
    }
    out
}

/// Where one original character's lower-case expansion starts.
#[derive(Clone, Copy)]
struct Bound {
    lower_byte: usize,
    original_byte: usize,
    lower_char: usize,
}

/// Python's `text.lower()`, with the offsets needed to map positions in it back
/// to the original text.
pub(crate) struct Lowered {
    text: String,
    /// One entry per original character, plus one for the end. Empty for ASCII
    /// text, where both texts have the same byte and code-point offsets.
    bounds: Vec<Bound>,
}

impl Lowered {
    pub(crate) fn new(original: &str) -> Self {
        if original.is_ascii() {
            return Lowered { text: original.to_ascii_lowercase(), bounds: Vec::new() };
        }
        // `str::to_lowercase` uses the full Unicode mapping (`İ` -> `i̇`, two
        // code points) and the final-sigma rule, like CPython. Per-character
        // lengths are the same either way (σ and ς are both 2 bytes), so the
        // map can be built from `char::to_lowercase`.
        let text = original.to_lowercase();
        let mut bounds = Vec::with_capacity(original.len() + 1);
        let (mut lower_byte, mut lower_char) = (0, 0);
        for (original_byte, c) in original.char_indices() {
            bounds.push(Bound { lower_byte, original_byte, lower_char });
            for l in c.to_lowercase() {
                lower_byte += l.len_utf8();
                lower_char += 1;
            }
        }
        bounds.push(Bound { lower_byte, original_byte: original.len(), lower_char });
        debug_assert_eq!(lower_byte, text.len());
        Lowered { text, bounds }
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }

    /// Index of the last bound at or before lower-case byte `pos`.
    fn floor(&self, pos: usize) -> usize {
        self.bounds.partition_point(|b| b.lower_byte <= pos).saturating_sub(1)
    }

    /// Original byte offset of the character whose expansion holds `pos`.
    pub(crate) fn original_start(&self, pos: usize) -> usize {
        if self.bounds.is_empty() { pos } else { self.bounds[self.floor(pos)].original_byte }
    }

    /// Original byte offset just past the character whose expansion holds the
    /// byte before `pos`: a span ending inside `İ`'s expansion keeps all of `İ`.
    pub(crate) fn original_end(&self, pos: usize) -> usize {
        if self.bounds.is_empty() {
            return pos;
        }
        let i = self.bounds.partition_point(|b| b.lower_byte < pos);
        self.bounds[i.min(self.bounds.len() - 1)].original_byte
    }

    /// Code-point offset of lower-case byte `pos` (what Python reports).
    pub(crate) fn code_point(&self, pos: usize) -> usize {
        if self.bounds.is_empty() {
            return pos;
        }
        let b = self.bounds[self.floor(pos)];
        b.lower_char + self.text[b.lower_byte..pos].chars().count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_uses_pythons_whitespace() {
        assert_eq!(py_split(" a\u{a0}b\u{2003}c\u{202f}d\u{1c}e\u{1f}f\t\ng  "), ["a", "b", "c", "d", "e", "f", "g"]);
        // Zero-width space is not whitespace in Python either.
        assert_eq!(py_split("a\u{200b}b"), ["a\u{200b}b"]);
        assert!(py_split(" \n\t ").is_empty());
    }

    #[test]
    fn word_counts_count_cut_words() {
        // "ab cd  ef": prefixes 0, 1 ("a"), 3 ("ab "), 4 ("ab c"), 99
        assert_eq!(word_counts_at("ab cd  ef", &[0, 1, 3, 4, 99]), [0, 1, 1, 2, 3]);
        assert_eq!(word_counts_at("", &[0, 5]), [0, 0]);
    }

    #[test]
    fn lowering_maps_offsets_back() {
        let l = Lowered::new("İx Straße");
        assert_eq!(l.as_str(), "i\u{307}x straße");
        // 'x' is at lower byte 3, code point 2; original byte 2.
        assert_eq!((l.original_start(3), l.original_end(4), l.code_point(3)), (2, 3, 2));
        // A span ending after the 'i' of İ's expansion keeps the whole İ.
        assert_eq!((l.original_start(0), l.original_end(1)), (0, 2));
        assert_eq!(l.code_point(l.as_str().len()), 10);
        let ascii = Lowered::new("GO Rust");
        assert_eq!((ascii.as_str(), ascii.original_end(2), ascii.code_point(3)), ("go rust", 2, 3));
    }

    #[test]
    fn kelvin_sign_lowers_to_ascii() {
        let l = Lowered::new("\u{212a}afka");
        assert_eq!(l.as_str(), "kafka");
        assert_eq!((l.original_start(0), l.original_end(5), l.code_point(5)), (0, 7, 5));
    }
}
