//! PDF tokens, shared by the object parser, content streams and CMaps. Lenient (as
//! viewers are) and allocation-light: keywords borrow from the input.

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Token<'a> {
    Integer(i64),
    Real(f64),
    Name(Vec<u8>),
    /// A literal `( )` or hex `< >` string, decoded.
    String(Vec<u8>),
    ArrayStart,
    ArrayEnd,
    DictStart,
    DictEnd,
    /// Operators, `true`/`false`/`null`, `R`, `obj`, `stream`, `{`, `}` and stray bytes.
    Keyword(&'a [u8]),
}

pub(crate) struct Lexer<'a> {
    data: &'a [u8],
    pos: usize,
}

pub(crate) fn is_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t' | b'\x0c' | b'\0')
}

fn is_delimiter(b: u8) -> bool {
    matches!(b, b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%')
}

fn is_regular(b: u8) -> bool {
    !is_whitespace(b) && !is_delimiter(b)
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Lexer { data, pos: 0 }
    }

    pub(crate) fn at(data: &'a [u8], pos: usize) -> Self {
        Lexer { data, pos: pos.min(data.len()) }
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn set_pos(&mut self, pos: usize) {
        self.pos = pos.min(self.data.len());
    }

    pub(crate) fn data(&self) -> &'a [u8] {
        self.data
    }

    /// The next token, or `None` at the end of the input.
    pub(crate) fn next_token(&mut self) -> Option<Token<'a>> {
        self.skip_space();
        let &b = self.data.get(self.pos)?;
        Some(match b {
            b'/' => self.name(),
            b'(' => self.literal_string(),
            b'<' if self.peek_at(1) == Some(b'<') => self.symbol(2, Token::DictStart),
            b'<' => self.hex_string(),
            b'>' if self.peek_at(1) == Some(b'>') => self.symbol(2, Token::DictEnd),
            b'[' => self.symbol(1, Token::ArrayStart),
            b']' => self.symbol(1, Token::ArrayEnd),
            b'0'..=b'9' | b'+' | b'-' | b'.' => self.number_or_keyword(),
            _ if is_regular(b) => Token::Keyword(self.regular_run()),
            // `{`, `}`, `)` or a lone `>`: one byte, so the caller can skip it.
            _ => {
                self.pos += 1;
                Token::Keyword(&self.data[self.pos - 1..self.pos])
            }
        })
    }

    /// Skips the end-of-line after the `stream` or `ID` keyword: CR LF, LF, or (wrongly, but
    /// written by some producers) a lone CR or a space.
    pub(crate) fn skip_single_eol(&mut self) {
        match (self.peek_at(0), self.peek_at(1)) {
            (Some(b'\r'), Some(b'\n')) => self.pos += 2,
            (Some(b'\n' | b'\r' | b' '), _) => self.pos += 1,
            _ => {}
        }
    }

    fn peek_at(&self, offset: usize) -> Option<u8> {
        self.data.get(self.pos.checked_add(offset)?).copied()
    }

    fn symbol(&mut self, len: usize, token: Token<'a>) -> Token<'a> {
        self.pos += len;
        token
    }

    fn skip_space(&mut self) {
        while let Some(&b) = self.data.get(self.pos) {
            if is_whitespace(b) {
                self.pos += 1;
            } else if b == b'%' {
                self.skip_comment();
            } else {
                break;
            }
        }
    }

    fn skip_comment(&mut self) {
        while let Some(&b) = self.data.get(self.pos) {
            if b == b'\n' || b == b'\r' {
                break;
            }
            self.pos += 1;
        }
    }

    fn regular_run(&mut self) -> &'a [u8] {
        let start = self.pos;
        while self.data.get(self.pos).is_some_and(|&b| is_regular(b)) {
            self.pos += 1;
        }
        &self.data[start..self.pos]
    }

    fn name(&mut self) -> Token<'a> {
        self.pos += 1;
        let raw = self.regular_run();
        let mut name = Vec::with_capacity(raw.len());
        let mut i = 0;
        while let Some(&b) = raw.get(i) {
            let escaped = (b == b'#').then(|| raw.get(i + 1..i + 3).and_then(hex_pair)).flatten();
            match escaped {
                Some(value) => {
                    name.push(value);
                    i += 3;
                }
                None => {
                    name.push(b);
                    i += 1;
                }
            }
        }
        Token::Name(name)
    }

    /// Numbers as PDF writers produce them, including `-.5`, `4.` and `+3`; a run that is
    /// not a number (`-` alone, `1.2.3`) is a keyword.
    fn number_or_keyword(&mut self) -> Token<'a> {
        let run = self.regular_run();
        parse_number(run).unwrap_or(Token::Keyword(run))
    }

    fn literal_string(&mut self) -> Token<'a> {
        self.pos += 1;
        let mut out = Vec::new();
        let mut depth = 0usize;
        while let Some(&b) = self.data.get(self.pos) {
            self.pos += 1;
            match b {
                b'\\' => self.escape(&mut out),
                b'(' => {
                    depth += 1;
                    out.push(b);
                }
                b')' if depth == 0 => break,
                b')' => {
                    depth -= 1;
                    out.push(b);
                }
                b'\r' => {
                    // An unescaped end of line is a line feed, whatever its bytes.
                    if self.peek_at(0) == Some(b'\n') {
                        self.pos += 1;
                    }
                    out.push(b'\n');
                }
                _ => out.push(b),
            }
        }
        Token::String(out)
    }

    fn escape(&mut self, out: &mut Vec<u8>) {
        let Some(&b) = self.data.get(self.pos) else { return };
        self.pos += 1;
        match b {
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'0'..=b'7' => out.push(self.octal_escape(b)),
            b'\r' => {
                if self.peek_at(0) == Some(b'\n') {
                    self.pos += 1;
                }
            }
            b'\n' => {}
            other => out.push(other),
        }
    }

    /// Up to three octal digits, the first already read; high-order overflow is ignored.
    fn octal_escape(&mut self, first: u8) -> u8 {
        let mut value = u32::from(first - b'0');
        for _ in 0..2 {
            match self.peek_at(0) {
                Some(d @ b'0'..=b'7') => {
                    value = value * 8 + u32::from(d - b'0');
                    self.pos += 1;
                }
                _ => break,
            }
        }
        (value & 0xff) as u8
    }

    fn hex_string(&mut self) -> Token<'a> {
        self.pos += 1;
        let mut out = Vec::new();
        let mut high: Option<u8> = None;
        while let Some(&b) = self.data.get(self.pos) {
            self.pos += 1;
            if b == b'>' {
                break;
            }
            let Some(nibble) = hex_value(b) else { continue };
            match high.take() {
                Some(h) => out.push(h << 4 | nibble),
                None => high = Some(nibble),
            }
        }
        // An odd digit count means a final 0.
        if let Some(h) = high {
            out.push(h << 4);
        }
        Token::String(out)
    }
}

pub(crate) fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn hex_pair(pair: &[u8]) -> Option<u8> {
    match pair {
        [h, l] => Some(hex_value(*h)? << 4 | hex_value(*l)?),
        _ => None,
    }
}

fn parse_number(run: &[u8]) -> Option<Token<'static>> {
    let text = std::str::from_utf8(run).ok()?;
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    if unsigned.is_empty() || !unsigned.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    if !unsigned.contains('.') {
        return Some(text.parse().map(Token::Integer).unwrap_or_else(|_| Token::Real(lenient_float(text))));
    }
    if unsigned.bytes().filter(|&b| b == b'.').count() > 1 || unsigned == "." {
        return None;
    }
    Some(Token::Real(lenient_float(text)))
}

/// `-.5`, `4.` and over-long integers as floats (Rust's parser takes them all, but be
/// explicit about the fallback).
fn lenient_float(text: &str) -> f64 {
    text.parse().unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(input: &[u8]) -> Vec<Token<'_>> {
        let mut lexer = Lexer::new(input);
        std::iter::from_fn(|| lexer.next_token()).collect()
    }

    #[test]
    fn tokenizes_objects_and_operators() {
        use Token::*;
        let input = b"<< /Type /Font /A#20B 12 -.5 4. >> [ (a\\(b\\)c\\101\\\n) <48 65 6c6> ] BT % comment\nTj";
        assert_eq!(
            tokens(input),
            vec![
                DictStart,
                Name(b"Type".to_vec()),
                Name(b"Font".to_vec()),
                Name(b"A B".to_vec()),
                Integer(12),
                Real(-0.5),
                Real(4.0),
                DictEnd,
                ArrayStart,
                String(b"a(b)cA".to_vec()),
                String(b"Hel`".to_vec()),
                ArrayEnd,
                Keyword(b"BT"),
                Keyword(b"Tj"),
            ]
        );
    }

    #[test]
    fn survives_truncation_and_junk() {
        assert_eq!(tokens(b"(unterminated"), vec![Token::String(b"unterminated".to_vec())]);
        assert_eq!(tokens(b"<4"), vec![Token::String(vec![0x40])]);
        assert_eq!(tokens(b"- 1.2.3 )"), vec![Token::Keyword(b"-"), Token::Keyword(b"1.2.3"), Token::Keyword(b")")]);
        assert_eq!(tokens(b"99999999999999999999"), vec![Token::Real(1e20)]);
    }
}
