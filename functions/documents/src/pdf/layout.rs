//! Positioned runs of text to lines, in content-stream order (the order the producer
//! wrote, which for Word, LibreOffice and most generators is reading order, column by
//! column). A run joins the current line when it sits on the same baseline; the
//! horizontal gap decides between nothing (kerning, a word split in pieces), a space
//! (a word gap) and three spaces (a column or tab gap). A vertical gap well beyond the
//! page's usual line spacing, or a jump back up the page, starts a paragraph (a blank line).

/// A string as shown on the page: device coordinates of its start and end on the baseline.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Run {
    pub(crate) text: String,
    pub(crate) x0: f64,
    pub(crate) x1: f64,
    pub(crate) y: f64,
    /// Font size on the page (points).
    pub(crate) size: f64,
    /// Left-to-right horizontal text (rotated text gets lines of its own).
    pub(crate) upright: bool,
}

/// Gaps, in font sizes (ems).
const SAME_LINE: f64 = 0.5;
const WORD_GAP: f64 = 0.15;
const COLUMN_GAP: f64 = 1.5;
/// Without enough lines to know the line spacing: a drop of this many ems.
const PARAGRAPH_GAP: f64 = 1.75;
/// Otherwise: this many times the usual line spacing.
const PARAGRAPH_FACTOR: f64 = 1.3;
const MIN_GAPS_FOR_MEDIAN: usize = 3;
/// Overprinting for a bold effect: the same text again within this much (ems).
const OVERPRINT: f64 = 0.2;

struct Line {
    text: String,
    y: f64,
    size: f64,
    /// Where the last run ended, and what it was (to spot overprinting).
    x_end: f64,
    last_x0: f64,
    last_text_len: usize,
}

pub(crate) fn lines(runs: &[Run]) -> Vec<String> {
    let lines = build_lines(runs);
    let typical_gap = typical_line_gap(&lines);
    let mut out = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        if i > 0 && starts_paragraph(&lines[i - 1], line, typical_gap) {
            out.push(String::new());
        }
        out.push(line.text.clone());
    }
    out
}

/// Consecutive runs on one baseline form a line, read left to right (producers do not
/// always write a line's pieces in order: LibreOffice writes a font's pieces together).
fn build_lines(runs: &[Run]) -> Vec<Line> {
    let mut groups: Vec<Group> = Vec::new();
    for run in runs.iter().filter(|run| run.x0.is_finite() && run.x1.is_finite() && run.y.is_finite()) {
        match groups.last_mut() {
            Some(group) if group.takes(run) => group.add(run),
            _ => groups.push(Group { runs: vec![run], size: run.size }),
        }
    }
    groups.into_iter().map(Group::into_line).collect()
}

/// Runs on one baseline, and their largest font size.
struct Group<'r> {
    runs: Vec<&'r Run>,
    size: f64,
}

impl<'r> Group<'r> {
    fn takes(&self, run: &Run) -> bool {
        let first = self.runs[0];
        first.upright && run.upright && (run.y - first.y).abs() <= SAME_LINE * self.size.max(run.size)
    }

    fn add(&mut self, run: &'r Run) {
        self.runs.push(run);
        self.size = self.size.max(run.size);
    }

    fn into_line(mut self) -> Line {
        if self.runs.iter().all(|run| run.upright) {
            self.runs.sort_by(|a, b| a.x0.total_cmp(&b.x0));
        }
        let mut line = start_line(self.runs[0]);
        self.runs[1..].iter().for_each(|run| join(&mut line, run));
        line
    }
}

/// The median distance between consecutive baselines going down the page: the line
/// spacing of the body text, against which paragraph gaps stand out.
fn typical_line_gap(lines: &[Line]) -> Option<f64> {
    let mut drops: Vec<f64> = lines.windows(2).map(|pair| pair[0].y - pair[1].y).filter(|d| *d > 0.0).collect();
    if drops.len() < MIN_GAPS_FOR_MEDIAN {
        return None;
    }
    drops.sort_by(f64::total_cmp);
    Some(drops[drops.len() / 2])
}

fn start_line(run: &Run) -> Line {
    Line {
        text: run.text.clone(),
        y: run.y,
        size: run.size,
        x_end: run.x1,
        last_x0: run.x0,
        last_text_len: run.text.len(),
    }
}

fn join(line: &mut Line, run: &Run) {
    let em = line.size.max(run.size).max(f64::EPSILON);
    if is_overprint(line, run, em) {
        return;
    }
    let gap = run.x0 - line.x_end;
    let spaced = line.text.ends_with(char::is_whitespace) || run.text.starts_with(char::is_whitespace);
    if gap > COLUMN_GAP * em {
        line.text.push_str(if spaced { "  " } else { "   " });
    } else if !spaced && (gap > WORD_GAP * em || gap < -SAME_LINE * em) {
        line.text.push(' ');
    }
    line.last_x0 = run.x0;
    line.last_text_len = run.text.len();
    line.text.push_str(&run.text);
    line.x_end = run.x1;
    line.size = line.size.max(run.size);
}

/// The previous run drawn again at (nearly) the same place: a bold effect, not new text.
fn is_overprint(line: &Line, run: &Run, em: f64) -> bool {
    let previous = &line.text[line.text.len() - line.last_text_len.min(line.text.len())..];
    (run.x0 - line.last_x0).abs() < OVERPRINT * em && previous == run.text && !run.text.trim().is_empty()
}

/// A drop well beyond the usual line spacing, or a jump back up (the next column).
fn starts_paragraph(line: &Line, next: &Line, typical_gap: Option<f64>) -> bool {
    let size = line.size.max(next.size);
    let drop = line.y - next.y;
    let threshold = typical_gap.map_or(PARAGRAPH_GAP * size, |gap| PARAGRAPH_FACTOR * gap);
    drop > threshold || drop < -size
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str, x0: f64, x1: f64, y: f64) -> Run {
        Run { text: text.to_owned(), x0, x1, y, size: 10.0, upright: true }
    }

    #[test]
    fn joins_runs_into_lines() {
        let runs = [
            run("Jane", 50.0, 72.0, 700.0),
            run("Doe", 74.8, 92.0, 700.0),
            run("Engi", 50.0, 70.0, 686.0),
            run("neer", 70.2, 90.0, 686.3),
            run("2019 - 2021", 400.0, 450.0, 686.0),
            run("Skills", 50.0, 80.0, 650.0),
        ];
        assert_eq!(lines(&runs), ["Jane Doe", "Engineer   2019 - 2021", "", "Skills"]);
    }

    #[test]
    fn overprinted_text_is_read_once() {
        let runs = [run("Bold", 50.0, 70.0, 700.0), run("Bold", 50.3, 70.3, 700.0), run("x", 72.0, 75.0, 700.0)];
        assert_eq!(lines(&runs), ["Bold x"]);
    }
}
