//! Link annotations: a web or mail link whose address is not printed on the page
//! ("LinkedIn", "Portfolio") gets its address after the text under the link, as the
//! DOCX reader does with hyperlinks (see [`crate::links`]).

use super::file::PdfFile;
use super::layout::Run;
use super::object::{Dict, Object, PdfResult};
use crate::links;

/// More links than any resume has; the rest are ignored.
const MAX_LINKS: usize = 200;

struct Link {
    rect: [f64; 4],
    target: String,
}

pub(crate) fn add_link_targets(file: &PdfFile, page: &Dict, runs: &mut Vec<Run>) -> PdfResult<()> {
    let links = page_links(file, page)?;
    if links.is_empty() {
        return Ok(());
    }
    let page_text: String = runs.iter().map(|run| run.text.as_str()).collect();
    let shown = links::compact(&page_text);
    for link in links {
        let Some(suffix) = links::suffix_unless_shown(&shown, &link.target) else { continue };
        match runs.iter_mut().rev().find(|run| overlaps(run, &link.rect)) {
            Some(run) => run.text.push_str(&suffix),
            // Nothing printed under it: the address on a line of its own.
            None => runs.push(Run {
                text: link.target,
                x0: link.rect[0],
                x1: link.rect[2],
                y: link.rect[1],
                size: (link.rect[3] - link.rect[1]).abs().max(1.0),
                upright: true,
            }),
        }
    }
    Ok(())
}

fn page_links(file: &PdfFile, page: &Dict) -> PdfResult<Vec<Link>> {
    let annotations = file.get_in(page, b"Annots")?;
    let mut links = Vec::new();
    for annotation in annotations.as_array().unwrap_or_default().iter().take(MAX_LINKS) {
        let annotation = file.deref(annotation)?;
        let Some(dict) = annotation.as_dict().filter(|d| d.is(b"Subtype", b"Link")) else { continue };
        let (Some(rect), Some(target)) = (rect(dict), link_target(file, dict)?) else { continue };
        links.push(Link { rect, target });
    }
    Ok(links)
}

/// `/Rect`, normalised so that x0 <= x1 and y0 <= y1.
fn rect(dict: &Dict) -> Option<[f64; 4]> {
    let values: Vec<f64> = dict.get(b"Rect")?.as_array()?.iter().filter_map(Object::as_f64).collect();
    let [x0, y0, x1, y1] = values.as_slice() else { return None };
    Some([x0.min(*x1), y0.min(*y1), x0.max(*x1), y0.max(*y1)])
}

/// The `/URI` of a URI action.
fn link_target(file: &PdfFile, dict: &Dict) -> PdfResult<Option<String>> {
    let action = file.get_in(dict, b"A")?;
    let Some(action) = action.as_dict().filter(|a| a.is(b"S", b"URI")) else { return Ok(None) };
    let uri = file.get_in(action, b"URI")?;
    Ok(uri.as_string().map(|bytes| String::from_utf8_lossy(bytes).trim().to_owned()).filter(|s| !s.is_empty()))
}

/// The run's baseline box (a little below the baseline to a font size above) meets the link.
fn overlaps(run: &Run, rect: &[f64; 4]) -> bool {
    let (bottom, top) = (run.y - 0.2 * run.size, run.y + 0.8 * run.size);
    run.x0 < rect[2] && run.x1 > rect[0] && bottom < rect[3] && top > rect[1]
}
