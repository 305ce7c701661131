//! Content streams to positioned text runs: the text operators (`BT`/`ET`, `Tf`, `Td`,
//! `TD`, `Tm`, `T*`, `TL`, `Tc`, `Tw`, `Tz`, `Ts`, `Tj`, `TJ`, `'`, `"`), the graphics
//! state they depend on (`q`/`Q`, `cm`), and form XObjects (`Do`, at most
//! [`MAX_FORM_DEPTH`] deep, never re-entering a form already being drawn). Inline
//! images are skipped unread. Everything else is ignored.

use std::collections::HashMap;
use std::rc::Rc;

use super::file::PdfFile;
use super::font::Font;
use super::layout::Run;
use super::lexer::{Lexer, Token};
use super::object::{Allowance, Dict, Object, PdfError, PdfResult, parse_object};
use super::pages::Page;
use crate::{ExtractError, Format};

const MAX_OPERANDS: usize = 64;
const MAX_SAVED_STATES: usize = 256;
const MAX_FORM_DEPTH: u32 = 8;
/// Form XObjects drawn per page (a form may draw others several times).
const MAX_FORMS_PER_PAGE: u32 = 10_000;
const MAX_RUNS_PER_PAGE: usize = 200_000;
/// Memory for one operand (a `TJ` array); freed after its operator.
const OPERAND_MEMORY: usize = 8 << 20;
/// A `TJ` offset wider than this (thousandths of an em) ends the run: the layout then
/// decides between a space and a column gap. Kerning stays inside the run.
const TJ_GAP: f64 = 200.0;

/// Fonts by object number, shared by all pages.
#[derive(Default)]
pub(crate) struct FontCache {
    by_number: HashMap<u32, Rc<Font>>,
}

pub(crate) struct PageText {
    pub(crate) runs: Vec<Run>,
    /// Character codes shown, decodable or not.
    pub(crate) glyphs: usize,
}

pub(crate) fn read_page(file: &PdfFile, fonts: &mut FontCache, page: &Page) -> PdfResult<PageText> {
    let Some(dict) = page.dict.as_dict() else { return Ok(PageText { runs: Vec::new(), glyphs: 0 }) };
    let content = page_content(file, dict)?;
    let mut interpreter = Interpreter::new(file, fonts);
    interpreter.run_content(&content, &page.resources, 0)?;
    interpreter.end_run();
    if interpreter.runs_dropped {
        return Err(ExtractError::too_complex(Format::Pdf, "too many pieces of text on one page").into());
    }
    Ok(PageText { runs: interpreter.runs, glyphs: interpreter.glyphs })
}

/// `/Contents`: one stream or an array of them, which form one content stream.
fn page_content(file: &PdfFile, page: &Dict) -> PdfResult<Vec<u8>> {
    let contents = file.get_in(page, b"Contents")?;
    let parts: Vec<Rc<Object>> = match contents.as_array() {
        Some(items) => items.iter().map(|item| file.deref(item)).collect::<PdfResult<_>>()?,
        None => vec![contents.clone()],
    };
    let mut content = Vec::new();
    for part in parts {
        let Some(stream) = part.as_stream() else { continue };
        match file.stream_data(stream) {
            Ok(data) => content.extend_from_slice(&data),
            Err(PdfError::Malformed(_)) => {}
            Err(fatal) => return Err(fatal),
        }
        // Parts may end between an operator's operands but not inside a token: a separator is safe.
        content.push(b'\n');
    }
    Ok(content)
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct Matrix {
    a: f64,
    b: f64,
    c: f64,
    d: f64,
    e: f64,
    f: f64,
}

impl Matrix {
    const IDENTITY: Matrix = Matrix { a: 1.0, b: 0.0, c: 0.0, d: 1.0, e: 0.0, f: 0.0 };

    fn translation(tx: f64, ty: f64) -> Matrix {
        Matrix { e: tx, f: ty, ..Matrix::IDENTITY }
    }

    fn from_slice(values: &[f64; 6]) -> Matrix {
        let [a, b, c, d, e, f] = *values;
        Matrix { a, b, c, d, e, f }
    }

    /// `self` then `next` (PDF's row-vector order: self × next).
    fn then(&self, next: &Matrix) -> Matrix {
        Matrix {
            a: self.a * next.a + self.b * next.c,
            b: self.a * next.b + self.b * next.d,
            c: self.c * next.a + self.d * next.c,
            d: self.c * next.b + self.d * next.d,
            e: self.e * next.a + self.f * next.c + next.e,
            f: self.e * next.b + self.f * next.d + next.f,
        }
    }

    fn apply(&self, x: f64, y: f64) -> (f64, f64) {
        (x * self.a + y * self.c + self.e, x * self.b + y * self.d + self.f)
    }
}

#[derive(Clone)]
struct GraphicsState {
    ctm: Matrix,
    font: Option<Rc<Font>>,
    size: f64,
    char_spacing: f64,
    word_spacing: f64,
    horizontal_scale: f64,
    leading: f64,
    rise: f64,
}

impl Default for GraphicsState {
    fn default() -> Self {
        GraphicsState {
            ctm: Matrix::IDENTITY,
            font: None,
            size: 0.0,
            char_spacing: 0.0,
            word_spacing: 0.0,
            horizontal_scale: 1.0,
            leading: 0.0,
            rise: 0.0,
        }
    }
}

/// A run being shown: where it started, on the page.
struct OpenRun {
    text: String,
    x0: f64,
    y: f64,
    size: f64,
    upright: bool,
}

struct Interpreter<'f, 'd, 'c> {
    file: &'f PdfFile<'d>,
    fonts: &'c mut FontCache,
    fallback_font: Rc<Font>,
    state: GraphicsState,
    saved: Vec<GraphicsState>,
    tm: Matrix,
    tlm: Matrix,
    open_run: Option<OpenRun>,
    runs: Vec<Run>,
    /// Runs past [`MAX_RUNS_PER_PAGE`] were shown.
    runs_dropped: bool,
    glyphs: usize,
    text_bytes: usize,
    active_forms: Vec<u32>,
    forms_drawn: u32,
    form_contents: HashMap<u32, Rc<Vec<u8>>>,
}

impl<'f, 'd, 'c> Interpreter<'f, 'd, 'c> {
    fn new(file: &'f PdfFile<'d>, fonts: &'c mut FontCache) -> Self {
        Interpreter {
            file,
            fonts,
            fallback_font: Rc::new(Font::fallback()),
            state: GraphicsState::default(),
            saved: Vec::new(),
            tm: Matrix::IDENTITY,
            tlm: Matrix::IDENTITY,
            open_run: None,
            runs: Vec::new(),
            runs_dropped: false,
            glyphs: 0,
            text_bytes: 0,
            active_forms: Vec::new(),
            forms_drawn: 0,
            form_contents: HashMap::new(),
        }
    }

    fn run_content(&mut self, content: &[u8], resources: &Rc<Object>, depth: u32) -> PdfResult<()> {
        let mut lexer = Lexer::new(content);
        let mut operands: Vec<Object> = Vec::new();
        loop {
            self.file.allowance.tick()?;
            let start = lexer.pos();
            let Some(token) = lexer.next_token() else { return Ok(()) };
            let operand = match token {
                Token::Keyword(b"BI") => {
                    skip_inline_image(&mut lexer);
                    operands.clear();
                    continue;
                }
                Token::Keyword(b"true") => Object::Bool(true),
                Token::Keyword(b"false") => Object::Bool(false),
                Token::Keyword(b"null") => Object::Null,
                Token::Keyword(operator) => {
                    self.operator(operator, &operands, resources, depth)?;
                    operands.clear();
                    continue;
                }
                Token::ArrayStart | Token::DictStart => {
                    lexer.set_pos(start);
                    self.composite_operand(&mut lexer)?
                }
                Token::ArrayEnd | Token::DictEnd => continue,
                Token::Integer(i) => Object::Integer(i),
                Token::Real(r) => Object::Real(r),
                Token::Name(n) => Object::Name(n),
                Token::String(s) => Object::String(s),
            };
            if operands.len() < MAX_OPERANDS {
                operands.push(operand);
            }
        }
    }

    fn composite_operand(&self, lexer: &mut Lexer) -> PdfResult<Object> {
        let allowance = Allowance::new(self.file.budget(), OPERAND_MEMORY);
        match parse_object(lexer, &allowance) {
            Ok(object) => Ok(object),
            Err(PdfError::Malformed(_)) => Ok(Object::Null),
            Err(fatal) => Err(fatal),
        }
    }

    fn operator(&mut self, operator: &[u8], operands: &[Object], resources: &Rc<Object>, depth: u32) -> PdfResult<()> {
        match operator {
            b"q" if self.saved.len() < MAX_SAVED_STATES => self.saved.push(self.state.clone()),
            b"Q" => {
                if let Some(state) = self.saved.pop() {
                    self.state = state;
                }
            }
            b"cm" => {
                if let Some(m) = numbers::<6>(operands) {
                    self.state.ctm = Matrix::from_slice(&m).then(&self.state.ctm);
                }
            }
            b"BT" => {
                self.end_run();
                self.tm = Matrix::IDENTITY;
                self.tlm = Matrix::IDENTITY;
            }
            b"ET" => self.end_run(),
            b"Tf" => self.set_font(operands, resources)?,
            b"Td" | b"TD" | b"Tm" | b"T*" | b"TL" => self.position(operator, operands),
            b"Tc" | b"Tw" | b"Tz" | b"Ts" => self.spacing(operator, operands),
            b"Tj" | b"'" | b"\"" | b"TJ" => self.show(operator, operands)?,
            b"Do" => {
                if let Some(Object::Name(name)) = operands.last() {
                    self.draw_form(name, resources, depth)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn spacing(&mut self, operator: &[u8], operands: &[Object]) {
        let Some([value]) = numbers::<1>(operands) else { return };
        match operator {
            b"Tc" => self.state.char_spacing = value,
            b"Tw" => self.state.word_spacing = value,
            b"Tz" => self.state.horizontal_scale = value / 100.0,
            _ => self.state.rise = value,
        }
    }

    fn position(&mut self, operator: &[u8], operands: &[Object]) {
        self.end_run();
        match operator {
            b"Td" => {
                if let Some([tx, ty]) = numbers::<2>(operands) {
                    self.move_line(tx, ty);
                }
            }
            b"TD" => {
                if let Some([tx, ty]) = numbers::<2>(operands) {
                    self.state.leading = -ty;
                    self.move_line(tx, ty);
                }
            }
            b"Tm" => {
                if let Some(m) = numbers::<6>(operands) {
                    self.tm = Matrix::from_slice(&m);
                    self.tlm = self.tm;
                }
            }
            b"TL" => {
                if let Some([leading]) = numbers::<1>(operands) {
                    self.state.leading = leading;
                }
            }
            _ => self.next_line(),
        }
    }

    fn move_line(&mut self, tx: f64, ty: f64) {
        self.tlm = Matrix::translation(tx, ty).then(&self.tlm);
        self.tm = self.tlm;
    }

    fn next_line(&mut self) {
        self.move_line(0.0, -self.state.leading);
    }

    fn set_font(&mut self, operands: &[Object], resources: &Rc<Object>) -> PdfResult<()> {
        self.end_run();
        if let Some([size]) = numbers::<1>(operands) {
            self.state.size = size;
        }
        let name = operands.iter().rev().find_map(Object::as_name);
        self.state.font = match name {
            Some(name) => self.font(name, resources)?,
            None => None,
        };
        Ok(())
    }

    fn font(&mut self, name: &[u8], resources: &Rc<Object>) -> PdfResult<Option<Rc<Font>>> {
        let Some(resources) = resources.as_dict() else { return Ok(None) };
        let fonts = self.file.get_in(resources, b"Font")?;
        let Some(entry) = fonts.as_dict().and_then(|fonts| fonts.get(name)) else { return Ok(None) };
        let number = entry.as_reference().map(|r| r.0);
        if let Some(font) = number.and_then(|n| self.fonts.by_number.get(&n)) {
            return Ok(Some(font.clone()));
        }
        let dict = self.file.deref(entry)?;
        let Some(dict) = dict.as_dict() else { return Ok(None) };
        let font = match Font::load(self.file, dict) {
            Ok(font) => Rc::new(font),
            // The fallback font then: one damaged font does not lose the page.
            Err(PdfError::Malformed(_)) => return Ok(None),
            Err(fatal) => return Err(fatal),
        };
        if let Some(number) = number {
            self.fonts.by_number.insert(number, font.clone());
        }
        Ok(Some(font))
    }

    // Showing text -----------------------------------------------------------------------

    fn show(&mut self, operator: &[u8], operands: &[Object]) -> PdfResult<()> {
        match operator {
            b"TJ" => {
                let items = operands.last().and_then(Object::as_array).unwrap_or_default();
                for item in items {
                    match item {
                        Object::String(bytes) => self.show_string(bytes)?,
                        number => self.adjust(number.as_f64().unwrap_or(0.0)),
                    }
                }
            }
            b"\"" => {
                if let [aw, ac, ..] = operands {
                    self.state.word_spacing = aw.as_f64().unwrap_or(self.state.word_spacing);
                    self.state.char_spacing = ac.as_f64().unwrap_or(self.state.char_spacing);
                }
                self.next_line();
                self.show_last_string(operands)?;
            }
            b"'" => {
                self.end_run();
                self.next_line();
                self.show_last_string(operands)?;
            }
            _ => self.show_last_string(operands)?,
        }
        self.end_run();
        Ok(())
    }

    fn show_last_string(&mut self, operands: &[Object]) -> PdfResult<()> {
        match operands.last().and_then(Object::as_string) {
            Some(bytes) => self.show_string(bytes),
            None => Ok(()),
        }
    }

    /// A `TJ` number: moves left (positive) or right (negative) by thousandths of an em.
    fn adjust(&mut self, thousandths: f64) {
        if thousandths < -TJ_GAP {
            self.end_run();
        }
        let tx = -thousandths / 1000.0 * self.state.size * self.state.horizontal_scale;
        self.tm = Matrix::translation(tx, 0.0).then(&self.tm);
    }

    fn show_string(&mut self, bytes: &[u8]) -> PdfResult<()> {
        let font = self.state.font.clone().unwrap_or_else(|| self.fallback_font.clone());
        if self.open_run.is_none() {
            self.open_run = Some(self.begin_run());
        }
        let state = &self.state;
        let mut text = String::new();
        let mut advance = 0.0;
        let mut glyphs = 0usize;
        font.each_glyph(bytes, |glyph| {
            glyphs += 1;
            text.push_str(glyph.text);
            let word_spacing = if glyph.len == 1 && glyph.code == 32 { state.word_spacing } else { 0.0 };
            advance += (glyph.width / 1000.0 * state.size + state.char_spacing + word_spacing) * state.horizontal_scale;
        });
        self.tm = Matrix::translation(advance, 0.0).then(&self.tm);
        self.glyphs += glyphs;
        self.text_bytes += text.len();
        self.file.budget().check_text_len(self.text_bytes)?;
        if let Some(run) = self.open_run.as_mut() {
            run.text.push_str(&text);
        }
        Ok(())
    }

    /// The text origin in device space, and the font size there.
    fn text_origin(&self) -> (f64, f64, Matrix) {
        let m = self.tm.then(&self.state.ctm);
        let (x, y) = m.apply(0.0, self.state.rise);
        (x, y, m)
    }

    fn begin_run(&self) -> OpenRun {
        let (x0, y, m) = self.text_origin();
        let size = (self.state.size * m.c.hypot(m.d)).abs();
        let upright = m.a > 0.0 && m.b.abs() <= 0.05 * m.a.abs();
        OpenRun { text: String::new(), x0, y, size, upright }
    }

    fn end_run(&mut self) {
        let Some(open) = self.open_run.take() else { return };
        if open.text.is_empty() {
            return;
        }
        if self.runs.len() >= MAX_RUNS_PER_PAGE {
            self.runs_dropped = true;
            return;
        }
        let (x1, _, _) = self.text_origin();
        self.runs.push(Run { text: open.text, x0: open.x0, x1, y: open.y, size: open.size, upright: open.upright });
    }

    // Forms --------------------------------------------------------------------------------

    fn draw_form(&mut self, name: &[u8], resources: &Rc<Object>, depth: u32) -> PdfResult<()> {
        let Some(resources_dict) = resources.as_dict() else { return Ok(()) };
        let xobjects = self.file.get_in(resources_dict, b"XObject")?;
        let Some(entry) = xobjects.as_dict().and_then(|x| x.get(name)) else { return Ok(()) };
        let number = entry.as_reference().map(|r| r.0);
        let re_entered = number.is_some_and(|n| self.active_forms.contains(&n));
        if depth >= MAX_FORM_DEPTH || re_entered || self.forms_drawn >= MAX_FORMS_PER_PAGE {
            return Ok(());
        }
        let object = self.file.deref(entry)?;
        let Some(stream) = object.as_stream().filter(|s| s.dict.is(b"Subtype", b"Form")) else { return Ok(()) };
        self.forms_drawn += 1;
        let Some(content) = self.form_content(number, stream)? else { return Ok(()) };
        let form_resources = match stream.dict.get(b"Resources") {
            Some(own) => self.file.deref(own)?,
            None => resources.clone(),
        };
        let matrix = numbers_in(stream.dict.get(b"Matrix")).map_or(Matrix::IDENTITY, |m| Matrix::from_slice(&m));
        self.end_run();
        let (state, tm, tlm, saved) = (self.state.clone(), self.tm, self.tlm, self.saved.len());
        self.state.ctm = matrix.then(&self.state.ctm);
        self.active_forms.extend(number);
        let drawn = self.run_content(&content, &form_resources, depth + 1);
        self.end_run();
        if number.is_some() {
            self.active_forms.pop();
        }
        // A form is drawn in its own graphics state: restore ours, whatever it did.
        (self.state, self.tm, self.tlm) = (state, tm, tlm);
        self.saved.truncate(saved);
        drawn
    }

    /// A form's decoded content, decoded once per page however often it is drawn.
    fn form_content(&mut self, number: Option<u32>, stream: &super::object::Stream) -> PdfResult<Option<Rc<Vec<u8>>>> {
        if let Some(content) = number.and_then(|n| self.form_contents.get(&n)) {
            return Ok(Some(content.clone()));
        }
        let content = match self.file.stream_data(stream) {
            Ok(content) => Rc::new(content),
            Err(PdfError::Malformed(_)) => return Ok(None),
            Err(fatal) => return Err(fatal),
        };
        if let Some(number) = number {
            self.form_contents.insert(number, content.clone());
        }
        Ok(Some(content))
    }
}

/// The last `N` operands as numbers.
fn numbers<const N: usize>(operands: &[Object]) -> Option<[f64; N]> {
    let tail = operands.get(operands.len().checked_sub(N)?..)?;
    let mut out = [0.0; N];
    for (slot, operand) in out.iter_mut().zip(tail) {
        *slot = operand.as_f64()?;
    }
    Some(out)
}

fn numbers_in(array: Option<&Object>) -> Option<[f64; 6]> {
    numbers::<6>(array?.as_array()?)
}

/// Skips `BI … ID <binary> EI`: the data ends at an `EI` between white space.
fn skip_inline_image(lexer: &mut Lexer) {
    while let Some(token) = lexer.next_token() {
        if token == Token::Keyword(b"ID") {
            break;
        }
    }
    let data = lexer.data();
    let mut from = lexer.pos();
    while let Some(found) = memchr::memmem::find(&data[from..], b"EI").map(|i| i + from) {
        let before = found == 0 || super::lexer::is_whitespace(data[found - 1]);
        let after = data.get(found + 2).is_none_or(|&b| super::lexer::is_whitespace(b));
        if before && after {
            lexer.set_pos(found + 2);
            return;
        }
        from = found + 2;
    }
    lexer.set_pos(data.len());
}
