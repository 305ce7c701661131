//! The rule-based extractors against the fixture resumes' expected facts
//! (tests/fixtures/resumes/expected.json), on their text sources (.md/.txt).
//! Prints a per-field table; asserts what rules must get right.

use ferry_resume::{YearMonth, contacts, history};
use serde_json::Value;
use std::path::Path;

const TODAY: YearMonth = YearMonth { year: 2026, month: 11 };

fn fixtures() -> (std::path::PathBuf, Value) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/resumes");
    let expected = serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    (dir, expected)
}

fn ym(v: &Value) -> Option<String> {
    let s = v.as_str()?;
    Some(if s.len() == 4 { format!("{s}-01") } else { s.to_owned() })
}

#[derive(Default)]
struct Tally {
    rows: Vec<(String, usize, usize)>,
}

impl Tally {
    fn check(&mut self, field: &str, ok: bool, detail: impl FnOnce() -> String) {
        let row = match self.rows.iter().position(|r| r.0 == field) {
            Some(i) => i,
            None => {
                self.rows.push((field.to_owned(), 0, 0));
                self.rows.len() - 1
            }
        };
        self.rows[row].2 += 1;
        if ok {
            self.rows[row].1 += 1;
        } else {
            eprintln!("  miss {field}: {}", detail());
        }
    }

    fn rate(&self, field: &str) -> f32 {
        self.rows.iter().find(|r| r.0 == field).map_or(0.0, |r| r.1 as f32 / r.2 as f32)
    }
}

#[test]
fn contacts_and_history_of_the_fixture_resumes() {
    let (dir, expected) = fixtures();
    let mut tally = Tally::default();
    for (id, want) in expected["resumes"].as_object().unwrap() {
        let files = &want["files"];
        let Some(source) = files.get("md").or_else(|| files.get("txt")).and_then(Value::as_str) else { continue };
        let text = std::fs::read_to_string(dir.join(source)).unwrap();
        let c = contacts::extract(&text);
        let wc = &want["contacts"];
        let got = |f: &Option<ferry_resume::Found<String>>| f.as_ref().map(|f| f.value.clone());
        tally.check("name", got(&c.name).as_deref() == wc["name"].as_str(), || format!("{id}: {:?}", got(&c.name)));
        tally.check("email", got(&c.email).as_deref() == wc["email"].as_str(), || format!("{id}: {:?}", got(&c.email)));
        tally.check("phone", got(&c.phone).as_deref() == wc["phone"].as_str(), || format!("{id}: {:?}", got(&c.phone)));
        tally.check("location", got(&c.location).as_deref() == wc["location"].as_str(), || {
            format!("{id}: {:?} want {}", got(&c.location), wc["location"])
        });
        for (kind, slot) in
            [("linkedin", &c.links.linkedin), ("github", &c.links.github), ("website", &c.links.website)]
        {
            tally.check(kind, got(slot).as_deref() == wc["links"][kind].as_str(), || {
                format!("{id}: {:?} want {}", got(slot), wc["links"][kind])
            });
        }
        // Offsets point at the value's text.
        if let Some(email) = &c.email {
            assert_eq!(&text[email.start..email.end], email.value);
        }

        let h = history::extract(&text, TODAY);
        let jobs = want["employment"].as_array().unwrap();
        for job in jobs {
            let start = ym(&job["start"]);
            let found = h.positions.iter().find(|p| Some(p.start.to_iso()) == start);
            tally.check("job dates", found.is_some_and(|p| p.end.map(|e| e.to_iso()) == ym(&job["end"])), || {
                format!(
                    "{id}: {:?}–{:?} in {:?}",
                    job["start"],
                    job["end"],
                    h.positions.iter().map(|p| &p.dates.value).collect::<Vec<_>>()
                )
            });
            tally.check("job title", found.is_some_and(|p| p.title.as_deref() == job["title"].as_str()), || {
                format!("{id}: {:?} want {}", found.map(|p| &p.title), job["title"])
            });
            tally.check("job company", found.is_some_and(|p| p.company.as_deref() == job["company"].as_str()), || {
                format!("{id}: {:?} want {}", found.map(|p| &p.company), job["company"])
            });
        }
        tally.check("no extra jobs", h.positions.len() == jobs.len(), || {
            format!(
                "{id}: {} found, {} expected: {:?}",
                h.positions.len(),
                jobs.len(),
                h.positions.iter().map(|p| &p.dates.value).collect::<Vec<_>>()
            )
        });
        let years = &want["years_experience"];
        let (lo, hi) = (years["min"].as_f64().unwrap() as f32, years["max"].as_f64().unwrap() as f32);
        tally.check("years", h.years_experience.is_some_and(|y| (lo - 0.05..=hi + 0.05).contains(&y)), || {
            format!("{id}: {:?} want {lo}–{hi}", h.years_experience)
        });
        for school in want["education"].as_array().unwrap() {
            let hit = h.education.iter().any(|e| e.school.as_deref() == school["school"].as_str());
            tally.check("school", hit, || {
                format!(
                    "{id}: {:?} want {}",
                    h.education.iter().map(|e| &e.school).collect::<Vec<_>>(),
                    school["school"]
                )
            });
        }
    }
    println!("| field | right | of |\n|---|---:|---:|");
    for (field, ok, n) in &tally.rows {
        println!("| {field} | {ok} | {n} |");
    }
    // What the rules get right today on these 14 layouts; a regression fails.
    for (field, least) in [
        ("name", 1.0),
        ("email", 1.0),
        ("phone", 1.0),
        ("linkedin", 1.0),
        ("github", 1.0),
        ("website", 1.0),
        ("job dates", 1.0),
        ("years", 1.0),
        ("job title", 0.95),
        ("job company", 0.95),
        ("location", 0.75),
        ("school", 0.7),
    ] {
        assert!(tally.rate(field) >= least, "{field}: {:.0}% < {:.0}%", tally.rate(field) * 100.0, least * 100.0);
    }
}
