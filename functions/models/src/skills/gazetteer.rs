//! The package's keyword matcher (a 1:1 port of FlashText's
//! `extract_keywords`), reproduced with an anchored Aho-Corasick automaton.
//!
//! FlashText walks a character trie left to right. Reading its code, what it
//! returns reduces to this scan over the lower-cased text:
//!
//! * at a scan position `s`, take the longest keyword starting at `s` whose
//!   end is the end of the text or a boundary (anything but ASCII
//!   `[A-Za-z0-9_]`); if there is one, emit it and resume one character
//!   **after** its end (the boundary character that ended it is skipped);
//! * otherwise, if `s` is a word character, resume one character after the
//!   end of that word (again skipping the boundary), so `vb.net` never yields
//!   `.net`; if `s` is a boundary, resume at the next character.
//!
//! A leftmost-longest search over the whole text followed by boundary filtering
//! would pick different winners (`node.js` in `node.jsx` hides `node`), so the
//! automaton is only ever asked for anchored matches at the scan positions.
//! It is not asked to fold case either: Python's `str.lower()` is applied to
//! the text first (its offsets are the package's offsets, and some keywords
//! and texts are not ASCII).

use aho_corasick::{AhoCorasick, AhoCorasickKind, Anchored, Input, MatchKind, StartKind};
use ferry_core::ModelError;

use crate::model_error;

/// One gazetteer match, in byte offsets of the lower-cased text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Hit {
    pub(crate) keyword: usize,
    pub(crate) start: usize,
    pub(crate) end: usize,
}

pub(crate) struct Gazetteer {
    keywords: Vec<String>,
    automaton: AhoCorasick,
}

/// FlashText's `non_word_boundaries`: ASCII letters, digits and `_` only.
fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The offset just past the character at `pos` (`pos` itself at the end).
fn after_char(text: &str, pos: usize) -> usize {
    text[pos..].chars().next().map_or(pos, |c| pos + c.len_utf8())
}

impl Gazetteer {
    /// Parses `skills.txt`: UTF-8, one keyword per line.
    pub(crate) fn parse(file: &[u8]) -> Result<Self, ModelError> {
        let text = std::str::from_utf8(file).map_err(|e| model_error("the skill gazetteer is not UTF-8", e))?;
        Self::new(text.lines().filter(|k| !k.is_empty()))
    }

    pub(crate) fn new<'k>(keywords: impl IntoIterator<Item = &'k str>) -> Result<Self, ModelError> {
        // The package's `add()` stores `keyword.lower()`.
        let keywords: Vec<String> = keywords.into_iter().map(str::to_lowercase).collect();
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .start_kind(StartKind::Anchored)
            // A full DFA over 30K keywords would take ~100 MB.
            .kind(Some(AhoCorasickKind::ContiguousNFA))
            .build(&keywords)
            .map_err(|e| model_error("cannot build the skill gazetteer", e))?;
        Ok(Gazetteer { keywords, automaton })
    }

    pub(crate) fn len(&self) -> usize {
        self.keywords.len()
    }

    pub(crate) fn keyword(&self, id: usize) -> &str {
        &self.keywords[id]
    }

    /// Every match in `lower` (already lower-cased), in order, as FlashText
    /// finds them.
    pub(crate) fn find(&self, lower: &str) -> Vec<Hit> {
        let hay = lower.as_bytes();
        let mut hits = Vec::new();
        let mut pos = 0;
        while pos < hay.len() {
            if let Some(hit) = self.longest_at(hay, pos) {
                hits.push(hit);
                pos = after_char(lower, hit.end);
            } else if is_word_byte(hay[pos]) {
                let word_end = hay[pos..].iter().position(|&b| !is_word_byte(b)).map_or(hay.len(), |n| pos + n);
                pos = after_char(lower, word_end);
            } else {
                pos = after_char(lower, pos);
            }
        }
        hits
    }

    /// The longest keyword at `start` that ends at a boundary or the end.
    fn longest_at(&self, hay: &[u8], start: usize) -> Option<Hit> {
        let mut limit = hay.len();
        while limit > start {
            let input = Input::new(hay).range(start..limit).anchored(Anchored::Yes);
            // Cannot panic: the automaton was built for anchored searches.
            let m = self.automaton.find(input)?;
            if m.end() == hay.len() || !is_word_byte(hay[m.end()]) {
                return Some(Hit { keyword: m.pattern().as_usize(), start, end: m.end() });
            }
            // It ends inside a word; a shorter keyword may still end at a boundary.
            limit = m.end() - 1;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(keywords: &[&str], text: &str) -> Vec<(String, usize, usize)> {
        let g = Gazetteer::new(keywords.iter().copied()).unwrap();
        g.find(text).into_iter().map(|h| (g.keyword(h.keyword).to_string(), h.start, h.end)).collect()
    }

    fn s(k: &str, a: usize, b: usize) -> (String, usize, usize) {
        (k.to_string(), a, b)
    }

    #[test]
    fn longest_match_at_word_boundaries() {
        let kw = ["machine", "machine learning", "learning"];
        assert_eq!(spans(&kw, "machine learning rocks"), [s("machine learning", 0, 16)]);
        // The longer keyword runs into a word: fall back to the shorter one.
        assert_eq!(spans(&kw, "machine learningx"), [s("machine", 0, 7)]);
        assert_eq!(spans(&["python"], "python3 my_python python_ python"), [s("python", 26, 32)]);
    }

    #[test]
    fn failed_word_skips_the_boundary_after_it() {
        let kw = [".net", "net", "vb.net", "jsx", "node", "node.js"];
        assert_eq!(spans(&kw, "ab.net"), [s("net", 3, 6)]);
        assert_eq!(spans(&kw, "ab .net"), [s(".net", 3, 7)]);
        assert_eq!(spans(&kw, "vb.net"), [s("vb.net", 0, 6)]);
        assert_eq!(spans(&kw, "node.jsx"), [s("node", 0, 4), s("jsx", 5, 8)]);
    }

    #[test]
    fn character_after_a_match_is_skipped() {
        let kw = ["c", "c++", "c#", ".net", "net", "go", "go!"];
        assert_eq!(spans(&kw, "c++,c#"), [s("c++", 0, 3), s("c#", 4, 6)]);
        // `.net` right after `c++` loses its dot.
        assert_eq!(spans(&kw, "c++.net"), [s("c++", 0, 3), s("net", 4, 7)]);
        assert_eq!(spans(&kw, "go! go"), [s("go!", 0, 3), s("go", 4, 6)]);
        assert_eq!(spans(&kw, "c++x"), [s("c", 0, 1)]);
    }

    #[test]
    fn non_ascii_letters_are_boundaries() {
        assert_eq!(spans(&["python", "java"], "熟悉python和java，"), [s("python", 6, 12), s("java", 15, 19)]);
        assert_eq!(spans(&["caf"], "café"), [s("caf", 0, 3)]);
        assert!(spans(&["x"], "").is_empty());
    }
}
