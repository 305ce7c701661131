//! The document's objects, loaded on demand and cached: only what the pages need
//! (page tree, resources, fonts, content streams) is ever parsed, against the
//! allowance. Damaged cross-reference data falls back to a scan for objects.

use std::borrow::Cow;
use std::cell::{Cell, OnceCell, RefCell};
use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::rc::Rc;

use super::crypt::Crypt;
use super::filters;
use super::lexer::{Lexer, Token, is_whitespace};
use super::object::{Allowance, Dict, ObjRef, Object, PdfError, PdfResult, Stream, parse_object};
use super::xref::{self, Entry, Xref};
use crate::budget::Budget;
use crate::{ExtractError, Format};

/// Estimated memory for parsed objects; real documents use a few MiB at most.
const OBJECT_MEMORY: usize = 64 << 20;
/// Loading one object may load others (an indirect `/Length`, an object stream):
/// this bounds that chain, and with it the recursion.
const MAX_LOAD_DEPTH: u32 = 16;
/// `1 0 R` pointing at an object that is itself just a reference, and so on.
const MAX_REFERENCE_HOPS: usize = 8;
/// How much of an object the repair scan looks at to spot catalogs and object streams.
const SNIFF_WINDOW: usize = 512;

pub(crate) struct PdfFile<'d> {
    data: &'d [u8],
    pub(crate) allowance: Allowance<'d>,
    entries: HashMap<u32, Entry>,
    pub(crate) trailer: Dict,
    crypt: Option<Crypt>,
    encrypt_ref: Option<ObjRef>,
    /// Keyed by object number: generations are not worth trusting.
    cache: RefCell<HashMap<u32, Rc<Object>>>,
    object_streams: RefCell<HashMap<u32, Option<Rc<ObjectStream>>>>,
    loading: RefCell<HashSet<u32>>,
    load_depth: Cell<u32>,
    /// Where the scan found each object (built on first need).
    scanned: RefCell<Option<Rc<HashMap<u32, usize>>>>,
    /// Where every `endstream` keyword is (built on first need).
    endstreams: OnceCell<Vec<usize>>,
    rebuilt: bool,
}

struct ObjectStream {
    data: Vec<u8>,
    /// (object number, offset in `data`), in the stream's order.
    members: Vec<(u32, usize)>,
}

impl<'d> PdfFile<'d> {
    pub(crate) fn open(data: &'d [u8], budget: &'d Budget) -> Result<Self, ExtractError> {
        let allowance = Allowance::new(budget, OBJECT_MEMORY);
        let written = fatal_only(xref::read(data, &allowance))?.flatten();
        let file = match written {
            Some(xref) if xref.trailer.get(b"Root").is_some() => PdfFile::new(data, allowance, xref).unlock()?,
            _ => PdfFile::new(data, allowance, Xref::default()).rebuild()?,
        };
        if file.has_page_tree()? {
            return Ok(file);
        }
        if file.rebuilt {
            return Err(no_page_tree());
        }
        let file = file.rebuild()?;
        if file.has_page_tree()? { Ok(file) } else { Err(no_page_tree()) }
    }

    fn new(data: &'d [u8], allowance: Allowance<'d>, xref: Xref) -> Self {
        PdfFile {
            data,
            allowance,
            entries: xref.entries,
            trailer: xref.trailer,
            crypt: None,
            encrypt_ref: None,
            cache: RefCell::default(),
            object_streams: RefCell::default(),
            loading: RefCell::default(),
            load_depth: Cell::new(0),
            scanned: RefCell::default(),
            endstreams: OnceCell::new(),
            rebuilt: false,
        }
    }

    pub(crate) fn budget(&self) -> &Budget {
        self.allowance.budget
    }

    /// The catalog's `/Pages`.
    pub(crate) fn page_tree_root(&self) -> PdfResult<Rc<Object>> {
        let catalog = self.deref(self.trailer.get(b"Root").unwrap_or(&Object::Null))?;
        match catalog.as_dict() {
            Some(catalog) => self.get_in(catalog, b"Pages"),
            None => Ok(null()),
        }
    }

    fn has_page_tree(&self) -> Result<bool, ExtractError> {
        Ok(fatal_only(self.page_tree_root())?.is_some_and(|root| root.as_dict().is_some()))
    }

    // Objects -------------------------------------------------------------------------

    /// Follows references (a direct object is returned as it is).
    pub(crate) fn deref(&self, object: &Object) -> PdfResult<Rc<Object>> {
        let Object::Reference((num, _)) = object else { return Ok(Rc::new(object.clone())) };
        let mut current = self.get(*num)?;
        for _ in 0..MAX_REFERENCE_HOPS {
            match current.as_reference() {
                Some((num, _)) => current = self.get(num)?,
                None => return Ok(current),
            }
        }
        Ok(null())
    }

    /// `dict[key]`, dereferenced; `null` if absent.
    pub(crate) fn get_in(&self, dict: &Dict, key: &[u8]) -> PdfResult<Rc<Object>> {
        self.deref(dict.get(key).unwrap_or(&Object::Null))
    }

    /// Object `num`; `null` if missing, unreadable, or part of a reference cycle.
    pub(crate) fn get(&self, num: u32) -> PdfResult<Rc<Object>> {
        if let Some(object) = self.cache.borrow().get(&num) {
            return Ok(object.clone());
        }
        if self.load_depth.get() >= MAX_LOAD_DEPTH || !self.loading.borrow_mut().insert(num) {
            return Ok(null());
        }
        self.load_depth.set(self.load_depth.get() + 1);
        let loaded = self.load(num);
        self.load_depth.set(self.load_depth.get() - 1);
        self.loading.borrow_mut().remove(&num);
        let object = match loaded {
            Ok(object) => Rc::new(object),
            Err(PdfError::Malformed(_)) => null(),
            Err(fatal) => return Err(fatal),
        };
        self.cache.borrow_mut().insert(num, object.clone());
        Ok(object)
    }

    fn load(&self, num: u32) -> PdfResult<Object> {
        match self.entries.get(&num).copied() {
            Some(Entry::Offset(offset)) => match self.load_at(offset, num) {
                Err(PdfError::Malformed(_)) => self.load_scanned(num),
                loaded => loaded,
            },
            Some(Entry::Compressed { stream, index }) => self.load_compressed(num, stream, index),
            Some(Entry::Free) => Ok(Object::Null),
            // Missing from the cross-reference data, which may be incomplete.
            None => self.load_scanned(num),
        }
    }

    fn load_scanned(&self, num: u32) -> PdfResult<Object> {
        match self.scan_index()?.get(&num) {
            Some(&offset) => self.load_at(offset, num),
            None => Ok(Object::Null),
        }
    }

    fn scan_index(&self) -> PdfResult<Rc<HashMap<u32, usize>>> {
        if let Some(index) = self.scanned.borrow().as_ref() {
            return Ok(index.clone());
        }
        let index = Rc::new(xref::scan_objects(self.data, &self.allowance)?);
        *self.scanned.borrow_mut() = Some(index.clone());
        Ok(index)
    }

    /// `num G obj …` at `offset`, a stream if `stream` follows its dictionary.
    fn load_at(&self, offset: usize, num: u32) -> PdfResult<Object> {
        let mut lexer = Lexer::at(self.data, offset);
        let header = (lexer.next_token(), lexer.next_token(), lexer.next_token());
        let (Some(Token::Integer(found)), Some(Token::Integer(generation)), Some(Token::Keyword(b"obj"))) = header
        else {
            return Err(PdfError::Malformed("no object at offset"));
        };
        if found != i64::from(num) {
            return Err(PdfError::Malformed("another object at offset"));
        }
        let owner = (num, u16::try_from(generation).unwrap_or(0));
        let mut object = parse_object(&mut lexer, &self.allowance)?;
        if let Object::Dict(dict) = &object {
            let after_dict = lexer.pos();
            if lexer.next_token() == Some(Token::Keyword(b"stream")) {
                lexer.skip_single_eol();
                let length = self.stream_length(dict)?;
                let data = stream_extent(self.data, lexer.pos(), length, |from| self.next_endstream(from));
                object = Object::Stream(Rc::new(Stream { dict: Dict::clone(dict), data, owner }));
            } else {
                lexer.set_pos(after_dict);
            }
        }
        if let Some(crypt) = &self.crypt
            && self.encrypt_ref.map(|r| r.0) != Some(num)
        {
            crypt.decrypt_strings(owner, &mut object);
        }
        Ok(object)
    }

    /// The first `endstream` at or after `from`, from an index of them all built on first
    /// need: a file of many streams with wrong lengths costs one pass, not one per stream.
    fn next_endstream(&self, from: usize) -> Option<usize> {
        let positions = self.endstreams.get_or_init(|| memchr::memmem::find_iter(self.data, b"endstream").collect());
        positions.get(positions.partition_point(|&p| p < from)).copied()
    }

    fn stream_length(&self, dict: &Dict) -> PdfResult<Option<i64>> {
        Ok(match dict.get(b"Length") {
            Some(Object::Reference((num, _))) => self.get(*num)?.as_int(),
            Some(length) => length.as_int(),
            None => None,
        })
    }

    fn load_compressed(&self, num: u32, stream: u32, index: u32) -> PdfResult<Object> {
        let Some(container) = self.object_stream(stream)? else { return Ok(Object::Null) };
        let Some(offset) = container.offset_of(num, index) else { return Ok(Object::Null) };
        // No decryption: the container was decrypted as a whole.
        parse_object(&mut Lexer::at(&container.data, offset), &self.allowance)
    }

    fn object_stream(&self, num: u32) -> PdfResult<Option<Rc<ObjectStream>>> {
        if let Some(known) = self.object_streams.borrow().get(&num) {
            return Ok(known.clone());
        }
        // Marked before loading: a stream that (through others) contains itself reads as missing.
        self.object_streams.borrow_mut().insert(num, None);
        let container = self.get(num)?;
        let Some(stream) = container.as_stream().filter(|s| s.dict.is(b"Type", b"ObjStm")) else { return Ok(None) };
        let data = match self.stream_data(stream) {
            Ok(data) => data,
            Err(PdfError::Malformed(_)) => return Ok(None),
            Err(fatal) => return Err(fatal),
        };
        let members = object_stream_members(&stream.dict, &data, &self.allowance)?;
        let parsed = Rc::new(ObjectStream { data, members });
        self.object_streams.borrow_mut().insert(num, Some(parsed.clone()));
        Ok(Some(parsed))
    }

    // Streams -------------------------------------------------------------------------

    /// A stream's data, decrypted and decoded within the inflate budget.
    pub(crate) fn stream_data(&self, stream: &Stream) -> PdfResult<Vec<u8>> {
        let raw = self.data.get(stream.data.clone()).unwrap_or_default();
        let chain = filters::chain(stream.dict.get(b"Filter"), stream.dict.get(b"DecodeParms"), |object| {
            self.deref(object).ok().map(|resolved| (*resolved).clone())
        });
        // A `/Crypt` filter overrides the document's (we only meet the identity one).
        let encrypted = !stream.dict.is(b"Type", b"XRef") && !chain.iter().any(|f| f.name == b"Crypt");
        let raw: Cow<[u8]> = match &self.crypt {
            Some(crypt) if encrypted => Cow::Owned(crypt.decrypt_stream(stream.owner, raw)),
            _ => Cow::Borrowed(raw),
        };
        filters::decode(&raw, &chain, self.budget())
    }

    // Encryption and repair -------------------------------------------------------------

    /// Sets up decryption if the trailer asks for it (refusing what needs a password).
    fn unlock(mut self) -> Result<Self, ExtractError> {
        let Some(encrypt) = self.trailer.get(b"Encrypt").cloned() else { return Ok(self) };
        let unreadable = || ExtractError::UnknownEncryption("its encryption dictionary is missing or damaged");
        let dict = fatal_only(self.deref(&encrypt))?.ok_or_else(unreadable)?;
        let dict = dict.as_dict().ok_or_else(unreadable)?;
        let file_id = fatal_only(self.get_in(&self.trailer, b"ID"))?;
        let encrypt_ref = encrypt.as_reference();
        self.crypt = Some(Crypt::open(dict, encrypt_ref, file_id.as_deref())?);
        self.encrypt_ref = encrypt_ref;
        // Objects read so far were read without decryption.
        self.clear_caches();
        Ok(self)
    }

    /// Rebuilds the cross-reference data from a scan of the whole file.
    fn rebuild(mut self) -> Result<Self, ExtractError> {
        let scanned = fatal_only(self.scan_index())?.unwrap_or_default();
        self.entries = scanned.iter().map(|(&num, &offset)| (num, Entry::Offset(offset))).collect();
        let mut trailer = fatal_only(xref::scan_trailers(self.data, &self.allowance))?.unwrap_or_default();
        for (key, value) in self.trailer.iter() {
            if trailer.get(key).is_none() {
                trailer.insert(key.to_vec(), value.clone());
            }
        }
        self.trailer = trailer;
        self.crypt = None;
        self.rebuilt = true;
        self.clear_caches();
        let objects = scanned_by_offset(self.data, &scanned);
        // Cross-reference streams first: they may name the encryption (their own
        // dictionaries are never encrypted); object streams and catalogs need it.
        fatal_only(self.adopt_trailer_keys(&objects, b"/XRef"))?;
        let mut file = self.unlock()?;
        fatal_only(file.add_object_stream_members(&objects, &scanned))?;
        fatal_only(file.adopt_trailer_keys(&objects, b"/Catalog"))?;
        Ok(file)
    }

    fn clear_caches(&self) {
        self.cache.borrow_mut().clear();
        self.object_streams.borrow_mut().clear();
    }

    /// The trailer keys a cross-reference stream or catalog found by the scan supplies.
    fn adopt_trailer_keys(&mut self, objects: &[ScannedObject], marker: &[u8]) -> PdfResult<()> {
        for object in objects.iter().filter(|o| o.has(marker)) {
            self.allowance.tick()?;
            let loaded = self.get(object.num)?;
            let Some(dict) = loaded.as_dict() else { continue };
            if dict.is(b"Type", b"Catalog") {
                self.trailer.insert(b"Root".to_vec(), Object::Reference((object.num, 0)));
            } else if dict.is(b"Type", b"XRef") {
                for key in [&b"Root"[..], b"Encrypt", b"ID"] {
                    if let (None, Some(value)) = (self.trailer.get(key), dict.get(key)) {
                        self.trailer.insert(key.to_vec(), value.clone());
                    }
                }
            }
        }
        Ok(())
    }

    /// Objects kept in object streams join the entries (unless found outside one).
    fn add_object_stream_members(&mut self, objects: &[ScannedObject], scanned: &HashMap<u32, usize>) -> PdfResult<()> {
        for object in objects.iter().filter(|o| o.has(b"/ObjStm")) {
            self.allowance.tick()?;
            let Some(container) = self.object_stream(object.num)? else { continue };
            for (index, &(member, _)) in container.members.iter().enumerate() {
                if !scanned.contains_key(&member) {
                    let index = u32::try_from(index).unwrap_or(u32::MAX);
                    self.entries.insert(member, Entry::Compressed { stream: object.num, index });
                }
            }
        }
        Ok(())
    }
}

/// An object found by the scan, with the start of its text to spot its kind cheaply.
struct ScannedObject<'d> {
    num: u32,
    head: &'d [u8],
}

impl ScannedObject<'_> {
    fn has(&self, marker: &[u8]) -> bool {
        memchr::memmem::find(self.head, marker).is_some()
    }
}

/// Scanned objects in file order, so that later definitions (an update) come last and win.
fn scanned_by_offset<'d>(data: &'d [u8], scanned: &HashMap<u32, usize>) -> Vec<ScannedObject<'d>> {
    let mut by_offset: Vec<(usize, u32)> = scanned.iter().map(|(&num, &offset)| (offset, num)).collect();
    by_offset.sort_unstable();
    by_offset
        .into_iter()
        .map(|(offset, num)| ScannedObject { num, head: &data[offset..data.len().min(offset + SNIFF_WINDOW)] })
        .collect()
}

impl ObjectStream {
    fn offset_of(&self, num: u32, index: u32) -> Option<usize> {
        let by_index = self.members.get(usize::try_from(index).ok()?).filter(|(n, _)| *n == num);
        by_index.or_else(|| self.members.iter().find(|(n, _)| *n == num)).map(|&(_, offset)| offset)
    }
}

/// The `N` pairs of `number offset` before `/First`.
fn object_stream_members(dict: &Dict, data: &[u8], allowance: &Allowance) -> PdfResult<Vec<(u32, usize)>> {
    let count = dict.get(b"N").and_then(Object::as_int).and_then(|n| usize::try_from(n).ok()).unwrap_or(0);
    let first = dict.get(b"First").and_then(Object::as_int).and_then(|n| usize::try_from(n).ok()).unwrap_or(0);
    let header = data.get(..first.min(data.len())).unwrap_or_default();
    let mut lexer = Lexer::new(header);
    let mut members = Vec::new();
    while members.len() < count {
        allowance.tick()?;
        let (Some(Token::Integer(num)), Some(Token::Integer(offset))) = (lexer.next_token(), lexer.next_token()) else {
            break;
        };
        let (Ok(num), Some(offset)) =
            (u32::try_from(num), usize::try_from(offset).ok().and_then(|o| o.checked_add(first)))
        else {
            break;
        };
        if offset < data.len() {
            members.push((num, offset));
        }
    }
    Ok(members)
}

/// Where a stream's data ends: at `/Length` if `endstream` follows it there, else at
/// the next `endstream` (lengths are often wrong; `next_endstream` finds it from a
/// position), else at the end of the file.
pub(crate) fn stream_extent(
    data: &[u8],
    start: usize,
    length: Option<i64>,
    next_endstream: impl FnOnce(usize) -> Option<usize>,
) -> Range<usize> {
    let start = start.min(data.len());
    let declared_end = length.and_then(|n| usize::try_from(n).ok()).and_then(|n| start.checked_add(n));
    if let Some(end) = declared_end.filter(|&end| end <= data.len() && endstream_follows(data, end)) {
        return start..end;
    }
    match next_endstream(start) {
        Some(found) if found >= start => start..trim_end_of_line(data, start, found.min(data.len())),
        _ => start..data.len(),
    }
}

/// The first `endstream` at or after `from`, by a search (for the few streams read
/// before the file is indexed).
pub(crate) fn search_endstream(data: &[u8], from: usize) -> Option<usize> {
    memchr::memmem::find(data.get(from..)?, b"endstream").map(|i| from + i)
}

fn endstream_follows(data: &[u8], mut at: usize) -> bool {
    while data.get(at).is_some_and(|&b| is_whitespace(b)) {
        at += 1;
    }
    data[at.min(data.len())..].starts_with(b"endstream")
}

fn trim_end_of_line(data: &[u8], start: usize, mut end: usize) -> usize {
    if end > start && data[end - 1] == b'\n' {
        end -= 1;
    }
    if end > start && data[end - 1] == b'\r' {
        end -= 1;
    }
    end
}

fn null() -> Rc<Object> {
    Rc::new(Object::Null)
}

fn no_page_tree() -> ExtractError {
    ExtractError::corrupt(Format::Pdf, "no readable page tree")
}

/// Limits are errors; anything malformed is just absent.
fn fatal_only<T>(result: PdfResult<T>) -> Result<Option<T>, ExtractError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(PdfError::Malformed(_)) => Ok(None),
        Err(PdfError::Fatal(e)) => Err(e),
    }
}
