//! The page tree, walked with an explicit stack of (node, next kid) frames. `/Count` is
//! never read (it lies in hostile files); a kid that is one of its own ancestors is a
//! cycle and skipped; a node shared by several parents (a DAG) counts once per parent,
//! as viewers show it, so a small file cannot pose as a short document; the walk stops
//! one page past the cap, and memory is bounded by the depth, not the width.

use std::rc::Rc;

use super::file::PdfFile;
use super::object::{Dict, ObjRef, Object, PdfResult};
use crate::ExtractError;

/// Real page trees are a few levels deep.
const MAX_TREE_DEPTH: usize = 64;
/// Kids visited, whatever the page count: bounds trees of empty nodes.
const MAX_NODE_VISITS: usize = 100_000;

/// A page and the resources it inherits.
pub(crate) struct Page {
    pub(crate) dict: Rc<Object>,
    pub(crate) resources: Rc<Object>,
}

struct Frame {
    kids: Rc<Object>,
    next: usize,
    resources: Rc<Object>,
    /// This node and its ancestors, for cycle detection.
    path: Vec<ObjRef>,
}

struct Walk<'f, 'd> {
    file: &'f PdfFile<'d>,
    max_pages: u32,
    stack: Vec<Frame>,
    pages: Vec<Page>,
}

pub(crate) fn collect(file: &PdfFile, max_pages: u32) -> PdfResult<Vec<Page>> {
    let mut walk = Walk { file, max_pages, stack: Vec::new(), pages: Vec::new() };
    let root_path = file.page_tree_root_ref().into_iter().collect();
    walk.visit(file.page_tree_root()?, Rc::new(Object::Null), root_path)?;
    let mut visits = 0usize;
    while let Some(frame) = walk.stack.last_mut() {
        let Some(kid) = frame.kids.as_array().and_then(|kids| kids.get(frame.next)).cloned() else {
            walk.stack.pop();
            continue;
        };
        frame.next += 1;
        visits += 1;
        if visits > MAX_NODE_VISITS {
            return Err(ExtractError::too_complex(file.budget().format, "the page tree is too large").into());
        }
        file.allowance.tick()?;
        let kid_ref = kid.as_reference();
        if kid_ref.is_some_and(|r| frame.path.iter().any(|ancestor| ancestor.0 == r.0)) {
            continue;
        }
        let (resources, mut path) = (frame.resources.clone(), frame.path.clone());
        path.extend(kid_ref);
        walk.visit(file.deref(&kid)?, resources, path)?;
    }
    Ok(walk.pages)
}

impl Walk<'_, '_> {
    fn visit(&mut self, node: Rc<Object>, inherited: Rc<Object>, path: Vec<ObjRef>) -> PdfResult<()> {
        let Some(dict) = node.as_dict() else { return Ok(()) };
        let resources = match dict.get(b"Resources") {
            Some(resources) => self.file.deref(resources)?,
            None => inherited,
        };
        if !is_intermediate(dict) {
            self.pages.push(Page { dict: node.clone(), resources });
            if self.pages.len() > self.max_pages as usize {
                return Err(ExtractError::TooManyPages(self.max_pages).into());
            }
        } else if path.len() < MAX_TREE_DEPTH {
            let kids = self.file.get_in(dict, b"Kids")?;
            self.stack.push(Frame { kids, next: 0, resources, path });
        }
        Ok(())
    }
}

/// A `/Pages` node, or an untyped node with kids (a page is a node without them).
fn is_intermediate(dict: &Dict) -> bool {
    dict.is(b"Type", b"Pages") || (!dict.is(b"Type", b"Page") && dict.get(b"Kids").is_some())
}

impl PdfFile<'_> {
    fn page_tree_root_ref(&self) -> Option<ObjRef> {
        let catalog = self.deref(self.trailer.get(b"Root")?).ok()?;
        catalog.as_dict()?.get(b"Pages")?.as_reference()
    }
}
