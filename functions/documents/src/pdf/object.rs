//! PDF objects and their parser: an explicit stack instead of recursion, nesting past
//! [`MAX_DEPTH`] skipped (read as `null`), every value charged to an [`Allowance`].

use std::cell::Cell;
use std::ops::Range;
use std::rc::Rc;

use super::lexer::{Lexer, Token};
use crate::ExtractError;
use crate::budget::Budget;

/// Real documents nest a handful of levels; hostile ones nest thousands to blow the stack.
pub(crate) const MAX_DEPTH: usize = 32;
/// Check the clock every this many tokens (or other units of work).
const TOKENS_PER_TIME_CHECK: u32 = 1024;
/// Entries kept per dictionary: real ones have dozens; lookups scan them.
const MAX_DICT_ENTRIES: usize = 10_000;

pub(crate) type ObjRef = (u32, u16);

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Object {
    Null,
    Bool(bool),
    Integer(i64),
    Real(f64),
    Name(Vec<u8>),
    String(Vec<u8>),
    /// Containers are shared, so that following a reference or reading a direct value
    /// never copies a (possibly huge) array or dictionary.
    Array(Rc<[Object]>),
    Dict(Rc<Dict>),
    Stream(Rc<Stream>),
    Reference(ObjRef),
}

/// Entries in file order; a repeated key's last value wins (lookups scan from the end,
/// so building a dictionary never costs more than reading it).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Dict(Vec<(Vec<u8>, Object)>);

/// A stream's dictionary and where its (still encoded) data lies in the file.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Stream {
    pub(crate) dict: Dict,
    pub(crate) data: Range<usize>,
    /// The indirect object holding it: its id keys the decryption.
    pub(crate) owner: ObjRef,
}

impl Dict {
    pub(crate) fn get(&self, key: &[u8]) -> Option<&Object> {
        self.0.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&[u8], &Object)> {
        self.0.iter().map(|(k, v)| (k.as_slice(), v))
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut Object> {
        self.0.iter_mut().map(|(_, v)| v)
    }

    pub(crate) fn insert(&mut self, key: Vec<u8>, value: Object) {
        self.0.push((key, value));
    }

    pub(crate) fn name(&self, key: &[u8]) -> Option<&[u8]> {
        self.get(key).and_then(Object::as_name)
    }

    /// `/Type` (or another name-valued key) equals `expected`.
    pub(crate) fn is(&self, key: &[u8], expected: &[u8]) -> bool {
        self.name(key) == Some(expected)
    }
}

impl Object {
    pub(crate) fn as_int(&self) -> Option<i64> {
        match self {
            Object::Integer(i) => Some(*i),
            Object::Real(r) if r.is_finite() => Some(*r as i64),
            _ => None,
        }
    }

    pub(crate) fn as_f64(&self) -> Option<f64> {
        match self {
            Object::Integer(i) => Some(*i as f64),
            Object::Real(r) if r.is_finite() => Some(*r),
            _ => None,
        }
    }

    pub(crate) fn as_name(&self) -> Option<&[u8]> {
        match self {
            Object::Name(n) => Some(n),
            _ => None,
        }
    }

    pub(crate) fn as_string(&self) -> Option<&[u8]> {
        match self {
            Object::String(s) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn as_array(&self) -> Option<&[Object]> {
        match self {
            Object::Array(a) => Some(a),
            _ => None,
        }
    }

    /// A dictionary, or a stream's dictionary.
    pub(crate) fn as_dict(&self) -> Option<&Dict> {
        match self {
            Object::Dict(d) => Some(d),
            Object::Stream(s) => Some(&s.dict),
            _ => None,
        }
    }

    pub(crate) fn as_stream(&self) -> Option<&Rc<Stream>> {
        match self {
            Object::Stream(s) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn as_reference(&self) -> Option<ObjRef> {
        match self {
            Object::Reference(r) => Some(*r),
            _ => None,
        }
    }
}

/// Why something could not be read: `Fatal` stops the extraction (a limit), `Malformed`
/// only loses the object or page concerned.
#[derive(Debug)]
pub(crate) enum PdfError {
    Fatal(ExtractError),
    Malformed(&'static str),
}

impl From<ExtractError> for PdfError {
    fn from(e: ExtractError) -> Self {
        PdfError::Fatal(e)
    }
}

pub(crate) type PdfResult<T> = Result<T, PdfError>;

/// Memory and time one document's parsing may use. Object memory is estimated (value
/// size plus string bytes) and never returned: objects are cached for the whole call.
pub(crate) struct Allowance<'b> {
    pub(crate) budget: &'b Budget,
    memory_left: Cell<usize>,
    ticks: Cell<u32>,
}

impl<'b> Allowance<'b> {
    pub(crate) fn new(budget: &'b Budget, memory: usize) -> Self {
        Allowance { budget, memory_left: Cell::new(memory), ticks: Cell::new(0) }
    }

    pub(crate) fn charge(&self, bytes: usize) -> PdfResult<()> {
        let left = self.memory_left.get();
        if bytes > left {
            return Err(ExtractError::too_complex(self.budget.format, "too many objects").into());
        }
        self.memory_left.set(left - bytes);
        Ok(())
    }

    /// Counts one unit of work, checking the clock every few thousand.
    pub(crate) fn tick(&self) -> PdfResult<()> {
        let ticks = self.ticks.get().wrapping_add(1);
        self.ticks.set(ticks);
        if ticks.is_multiple_of(TOKENS_PER_TIME_CHECK) {
            self.budget.check_time()?;
        }
        Ok(())
    }
}

enum Frame {
    Array(Vec<Object>),
    Dict(Dict, Option<Vec<u8>>),
}

/// Keywords that end an object even inside an unclosed array or dictionary (a damaged
/// file): the container is closed there instead of swallowing the next objects.
fn ends_object(keyword: &[u8]) -> bool {
    matches!(keyword, b"endobj" | b"stream" | b"endstream" | b"obj" | b"xref" | b"trailer" | b"startxref")
}

/// Parses one object at the lexer's position.
pub(crate) fn parse_object(lexer: &mut Lexer, allowance: &Allowance) -> PdfResult<Object> {
    let mut stack: Vec<Frame> = Vec::new();
    loop {
        allowance.tick()?;
        let start = lexer.pos();
        let Some(token) = lexer.next_token() else {
            return close_all(stack).ok_or(PdfError::Malformed("unexpected end of data"));
        };
        let value = match token {
            Token::ArrayStart | Token::DictStart if stack.len() >= MAX_DEPTH => {
                skip_nested(lexer, allowance)?;
                Some(Object::Null)
            }
            Token::ArrayStart => {
                stack.push(Frame::Array(Vec::new()));
                None
            }
            Token::DictStart => {
                stack.push(Frame::Dict(Dict::default(), None));
                None
            }
            Token::ArrayEnd | Token::DictEnd => match stack.pop() {
                Some(frame) => Some(close(frame)),
                None => return Err(PdfError::Malformed("unbalanced brackets")),
            },
            Token::Integer(i) => Some(integer_or_reference(i, lexer)),
            Token::Real(r) => Some(Object::Real(r)),
            Token::Name(n) => Some(Object::Name(n)),
            Token::String(s) => Some(Object::String(s)),
            Token::Keyword(b"true") => Some(Object::Bool(true)),
            Token::Keyword(b"false") => Some(Object::Bool(false)),
            Token::Keyword(b"null") => Some(Object::Null),
            Token::Keyword(k) if stack.is_empty() || ends_object(k) => {
                lexer.set_pos(start);
                return close_all(stack).ok_or(PdfError::Malformed("no object"));
            }
            Token::Keyword(_) => None,
        };
        let Some(value) = value else { continue };
        allowance.charge(cost(&value))?;
        match stack.last_mut() {
            None => return Ok(value),
            Some(frame) => add_to(frame, value),
        }
    }
}

/// Estimated bytes held: the value itself plus its own heap data (containers' elements
/// are charged as they are added).
fn cost(value: &Object) -> usize {
    let heap = match value {
        Object::Name(b) | Object::String(b) => b.len(),
        _ => 0,
    };
    std::mem::size_of::<Object>() + std::mem::size_of::<Vec<u8>>() + heap
}

fn add_to(frame: &mut Frame, value: Object) {
    match frame {
        Frame::Array(items) => items.push(value),
        Frame::Dict(dict, pending) => match pending.take() {
            Some(key) if dict.len() < MAX_DICT_ENTRIES => dict.insert(key, value),
            Some(_) => {}
            None => {
                if let Object::Name(key) = value {
                    *pending = Some(key);
                }
            }
        },
    }
}

fn close(frame: Frame) -> Object {
    match frame {
        Frame::Array(items) => Object::Array(items.into()),
        Frame::Dict(dict, _) => Object::Dict(Rc::new(dict)),
    }
}

/// Closes every open container (truncated input): the outermost one is the object.
fn close_all(mut stack: Vec<Frame>) -> Option<Object> {
    let mut value = close(stack.pop()?);
    while let Some(mut frame) = stack.pop() {
        add_to(&mut frame, value);
        value = close(frame);
    }
    Some(value)
}

/// `n g R` is a reference; otherwise the lexer is put back after the integer.
fn integer_or_reference(n: i64, lexer: &mut Lexer) -> Object {
    let after = lexer.pos();
    if let (Ok(num), Some(Token::Integer(generation)), Some(Token::Keyword(b"R"))) =
        (u32::try_from(n), lexer.next_token(), lexer.next_token())
        && let Ok(generation) = u16::try_from(generation)
    {
        return Object::Reference((num, generation));
    }
    lexer.set_pos(after);
    Object::Integer(n)
}

/// Skips a container that is nested too deeply (its opening bracket already read),
/// counting brackets without building anything.
fn skip_nested(lexer: &mut Lexer, allowance: &Allowance) -> PdfResult<()> {
    let mut depth = 1usize;
    while depth > 0 {
        allowance.tick()?;
        match lexer.next_token() {
            None => break,
            Some(Token::ArrayStart | Token::DictStart) => depth += 1,
            Some(Token::ArrayEnd | Token::DictEnd) => depth -= 1,
            Some(_) => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Format, Limits};

    fn parse(input: &[u8]) -> PdfResult<Object> {
        let budget = Budget::new(&Limits::default(), Format::Pdf);
        let allowance = Allowance::new(&budget, 1 << 20);
        parse_object(&mut Lexer::new(input), &allowance)
    }

    #[test]
    fn parses_nested_objects_and_references() {
        let object = parse(b"<< /Kids [3 0 R 4 0 R] /Count 2 /Sub << /A [1 [2.5]] >> >>").unwrap();
        let dict = object.as_dict().unwrap();
        let kids = dict.get(b"Kids").and_then(Object::as_array).unwrap();
        assert_eq!(kids, [Object::Reference((3, 0)), Object::Reference((4, 0))]);
        assert_eq!(dict.get(b"Count"), Some(&Object::Integer(2)));
        let sub = dict.get(b"Sub").and_then(Object::as_dict).unwrap();
        let a = sub.get(b"A").and_then(Object::as_array).unwrap();
        assert_eq!(a[1].as_array().unwrap(), [Object::Real(2.5)]);
    }

    #[test]
    fn deep_nesting_becomes_null_without_recursion() {
        let depth = 200_000;
        let mut input = b"<< /Junk ".to_vec();
        input.extend(std::iter::repeat_n(b'[', depth));
        input.extend(std::iter::repeat_n(b']', depth));
        input.extend_from_slice(b" /Type /Page >>");
        let object = parse(&input).unwrap();
        let dict = object.as_dict().unwrap();
        assert!(dict.is(b"Type", b"Page"));
        let mut junk = dict.get(b"Junk").unwrap();
        let mut levels = 0;
        while let Some([inner]) = junk.as_array() {
            junk = inner;
            levels += 1;
        }
        assert_eq!((levels, junk), (MAX_DEPTH - 1, &Object::Null));
    }

    #[test]
    fn truncated_and_damaged_input() {
        let truncated = parse(b"[1 2 (x").unwrap();
        assert_eq!(
            truncated.as_array().unwrap(),
            [Object::Integer(1), Object::Integer(2), Object::String(b"x".to_vec())]
        );
        let object = parse(b"<< /Length 5 >> stream").unwrap();
        assert_eq!(object.as_dict().and_then(|d| d.get(b"Length")), Some(&Object::Integer(5)));
        assert!(matches!(parse(b"]"), Err(PdfError::Malformed(_))));
        assert!(matches!(parse(b""), Err(PdfError::Malformed(_))));
    }

    #[test]
    fn allowance_caps_memory() {
        let budget = Budget::new(&Limits::default(), Format::Pdf);
        let allowance = Allowance::new(&budget, 10_000);
        let big = format!("[{}]", "0 ".repeat(100_000));
        let result = parse_object(&mut Lexer::new(big.as_bytes()), &allowance);
        assert!(matches!(result, Err(PdfError::Fatal(ExtractError::TooComplex { .. }))));
    }
}
