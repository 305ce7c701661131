//! Hyperlinks whose visible text is only a label ("LinkedIn", "Portfolio"): the resume
//! parser needs the address, so it is written after the label, e.g.
//! `LinkedIn (https://linkedin.com/in/x)`. Links that already show their address are left
//! alone.

/// The text to append after a link's visible text, if the visible text does not already
/// show the target: `" (target)"`. Only web, mail and phone links qualify (not anchors
/// inside the document or local files).
pub(crate) fn label_suffix(visible: &str, target: &str) -> Option<String> {
    suffix_unless_shown(&compact(visible), target)
}

/// As [`label_suffix`], with the visible text already [`compact`]ed (a page's text,
/// compacted once for all its links).
pub(crate) fn suffix_unless_shown(compact_visible: &str, target: &str) -> Option<String> {
    let target = target.trim();
    let key = link_key(target)?;
    if compact_visible.contains(&key) {
        return None;
    }
    Some(format!(" ({target})"))
}

/// The part of a link people would type or print: no scheme, no `www.`, no trailing
/// slash, lower case, no spaces. `None` for links that are not web, mail or phone.
pub(crate) fn link_key(target: &str) -> Option<String> {
    let lower = target.to_lowercase();
    let rest = ["https://", "http://", "mailto:", "tel:"]
        .iter()
        .find_map(|scheme| lower.strip_prefix(scheme))
        .or_else(|| lower.starts_with("www.").then_some(lower.as_str()))?;
    let rest = rest.strip_prefix("www.").unwrap_or(rest);
    let rest = rest.trim_end_matches('/');
    let key = compact(rest);
    (!key.is_empty()).then_some(key)
}

/// Lower case without white space, as links are compared.
pub(crate) fn compact(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).flat_map(char::to_lowercase).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_get_their_target() {
        let url = "https://www.linkedin.com/in/sarah-oconnell-example";
        assert_eq!(
            label_suffix("LinkedIn", url).as_deref(),
            Some(" (https://www.linkedin.com/in/sarah-oconnell-example)")
        );
        assert_eq!(label_suffix("linkedin.com/in/sarah-oconnell-example", url), None);
        assert_eq!(label_suffix("https://priya.example.org", "https://priya.example.org/"), None);
        assert_eq!(label_suffix("Email me", "mailto:a@example.com").as_deref(), Some(" (mailto:a@example.com)"));
        assert_eq!(label_suffix("a@example.com", "mailto:a@example.com"), None);
        assert_eq!(label_suffix("see above", "#section2"), None);
        assert_eq!(label_suffix("file", "file:///C:/cv.docx"), None);
    }
}
