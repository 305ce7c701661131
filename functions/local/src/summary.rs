//! `ferry match`'s summary: a resume-match result as a person reads it.
//! Works on the result's JSON (the API's contract,
//! `schemas/resume-result.schema.json`), so it shows what a job would return.

use serde_json::Value;
use std::fmt::Write;

/// The score and its parts, the candidate, experience, each skill of the job
/// description and the explanation.
pub fn resume_match(result: &Value) -> String {
    let mut out = String::new();
    let m = &result["match"];
    let _ = writeln!(out, "Score {}/100", m["score"]);
    let _ = writeln!(
        out,
        "  skills covered {} (60%), documents similar {} (25%), experience {} (15%)",
        unit(&m["coverage"]),
        unit(&m["similarity"]),
        unit(&m["experience"])
    );
    candidate(&mut out, &result["candidate"]);
    experience(&mut out, &result["experience"]);
    skills(&mut out, m["skills"].as_array().map_or(&[][..], Vec::as_slice));
    if let Some(explanation) = m["explanation"].as_str() {
        let _ = writeln!(out, "\n{explanation}");
    }
    out
}

fn unit(value: &Value) -> String {
    value.as_f64().map_or_else(|| "-".to_owned(), |v| format!("{v:.2}"))
}

/// A found value's text (`{"value": …, "start", "end", "method"}`), if any.
fn found(value: &Value) -> Option<&str> {
    value["value"].as_str()
}

fn candidate(out: &mut String, c: &Value) {
    let links = ["linkedin", "github", "website"].iter().filter_map(|k| found(&c["links"][*k]));
    let parts: Vec<&str> = [found(&c["name"]), found(&c["email"]), found(&c["phone"]), found(&c["location"])]
        .into_iter()
        .flatten()
        .chain(links)
        .collect();
    let shown = if parts.is_empty() { "(nothing found)".to_owned() } else { parts.join(" · ") };
    let _ = writeln!(out, "\nCandidate: {shown}");
}

fn experience(out: &mut String, e: &Value) {
    let years = e["years"].as_f64().map_or_else(|| "unknown".to_owned(), |y| format!("{y:.1} years"));
    let positions = e["positions"].as_array().map_or(0, Vec::len);
    let _ = writeln!(out, "Experience: {years} over {positions} positions");
    for p in e["positions"].as_array().into_iter().flatten().take(5) {
        let title = p["title"].as_str().unwrap_or("(no title)");
        let company = p["company"].as_str().map(|c| format!(", {c}")).unwrap_or_default();
        let dates = p["dates"].as_str().unwrap_or("");
        let _ = writeln!(out, "  {title}{company}  {dates}");
    }
}

fn skills(out: &mut String, skills: &[Value]) {
    if skills.is_empty() {
        let _ = writeln!(out, "\nThe job description names no skill Ferry knows.");
        return;
    }
    let _ = writeln!(out, "\nSkills the job description asks for:");
    let width = skills.iter().filter_map(|s| s["skill"].as_str()).map(str::len).max().unwrap_or(0);
    for s in skills {
        let name = s["skill"].as_str().unwrap_or("?");
        let need = if s["required"].as_bool() == Some(false) { "nice to have" } else { "required" };
        let status = match (s["status"].as_str(), s["matched_by"].as_str()) {
            (Some("matched"), _) => "matched".to_owned(),
            (Some("near"), Some(by)) => format!("near: {by} ({})", unit(&s["similarity"])),
            (Some(other), _) => other.to_owned(),
            (None, _) => "?".to_owned(),
        };
        let points = s["points"].as_f64().unwrap_or(0.0);
        let _ = writeln!(out, "  {name:<width$}  {need:<12}  {points:>5.1} pts  {status}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shows_the_score_its_parts_and_every_skill() {
        let result = json!({
            "match": {
                "score": 78, "coverage": 0.8, "similarity": 0.6123, "experience": 1.0,
                "skills": [
                    {"skill": "Rust", "required": true, "status": "matched", "matched_by": "Rust",
                     "similarity": 1.0, "evidence": null, "points": 20.0},
                    {"skill": "Kafka", "required": false, "status": "near", "matched_by": "RabbitMQ",
                     "similarity": 0.83, "evidence": null, "points": 7.5},
                    {"skill": "Go", "required": true, "status": "missing", "matched_by": null,
                     "similarity": null, "evidence": null, "points": 0.0}
                ],
                "explanation": "Covers 1 of the 2 required skills."
            },
            "candidate": {"name": {"value": "Daniel Okafor"}, "email": {"value": "d@example.com"}, "phone": null,
                          "location": null, "links": {"linkedin": null, "github": {"value": "github.com/do"}, "website": null}},
            "experience": {"years": 7.5, "positions": [{"title": "Engineer", "company": "Acme", "dates": "2019 – 2024"}]}
        });
        let text = resume_match(&result);
        assert!(text.starts_with("Score 78/100\n"), "{text}");
        assert!(text.contains("skills covered 0.80 (60%), documents similar 0.61 (25%), experience 1.00 (15%)"));
        assert!(text.contains("Candidate: Daniel Okafor · d@example.com · github.com/do"), "{text}");
        assert!(text.contains("Experience: 7.5 years over 1 positions\n  Engineer, Acme  2019 – 2024"), "{text}");
        assert!(text.contains("  Rust   required       20.0 pts  matched"), "{text}");
        assert!(text.contains("  Kafka  nice to have    7.5 pts  near: RabbitMQ (0.83)"), "{text}");
        assert!(text.contains("  Go     required        0.0 pts  missing"), "{text}");
        assert!(text.ends_with("Covers 1 of the 2 required skills.\n"));
    }
}
