//! The resume-match pipeline behind [`ResumeAnalyzer`]: document bytes to
//! text (`ferry-documents`), skills by the skill-extractor port on tract
//! (`ferry-models`), contacts and history by rule (`ferry-resume`), then the
//! documented match score against the job description.
//!
//! Each side is read once ([`ResumePipeline::read_resume`],
//! [`ResumePipeline::read_description`]) and the two are compared by
//! [`ResumePipeline::compare`], so one resume can be scored against many
//! descriptions; [`StageTimes`] records where the time went.

use ferry_core::{AnalysisError, ModelError, ResumeAnalyzer};
use ferry_documents::{Document, Limits};
use ferry_models::skills::filter;
use ferry_models::{SentimentModel, SkillMention, SkillMode, SkillModel};
use ferry_resume::matching::{self, MatchInput};
use ferry_resume::{Contacts, Education, JobMatch, Position, SkillEvidence, YearMonth, contacts, history};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use ferry_core::resume::RESUME_MODEL_ID;
/// Words per piece when a document is embedded whole: MiniLM reads 256
/// tokens, and resume text runs at about 1.4 tokens a word.
const WORDS_PER_PIECE: usize = 160;
/// Characters of context either side of a skill in its snippet.
const SNIPPET_CHARS: usize = 60;
/// Text longer than this (about 60 dense pages) is refused: no resume is.
pub const MAX_TEXT_BYTES: usize = 200_000;
/// Skill mentions classified per resume, in text order. Each costs one
/// MiniLM run (~40 ms on one core): this bounds a resume to ~12 s, and with
/// [`MAX_DESCRIPTION_MENTIONS`] a job to ~20 s, so the inference function's
/// batch of 5 fits its 120 s timeout. A two-page resume has about 80.
pub const MAX_SKILL_MENTIONS: usize = 300;
/// The same for a job description (one that names 30 skills has ~50).
pub const MAX_DESCRIPTION_MENTIONS: usize = 150;
/// Pieces embedded for document similarity: the first ~2,500 words.
const MAX_PIECES: usize = 16;

/// Wall-clock time per stage of one analysis.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct StageTimes {
    pub extract: Duration,
    pub gazetteer: Duration,
    pub embeddings: Duration,
    pub mlp: Duration,
    pub rules: Duration,
    #[serde(rename = "match")]
    pub compare: Duration,
}

impl StageTimes {
    pub fn total(&self) -> Duration {
        self.extract + self.gazetteer + self.embeddings + self.mlp + self.rules + self.compare
    }
}

/// What a resume says, with UTF-8 byte offsets into `document.text`.
#[derive(Debug, Clone, Serialize)]
pub struct ResumeFacts {
    pub document: DocumentInfo,
    pub candidate: Contacts,
    /// One entry per skill, in order of first mention.
    pub skills: Vec<SkillFound>,
    pub experience: Experience,
    #[serde(skip)]
    embedding: Vec<f32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DocumentInfo {
    pub format: &'static str,
    pub pages: Option<u32>,
    /// The extracted text every offset points into.
    pub text: String,
    /// Gazetteer mentions past [`MAX_SKILL_MENTIONS`] that were not
    /// classified (0 for any ordinary resume).
    pub unread_skill_mentions: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct SkillFound {
    pub skill: String,
    /// The first accepted mention (the classifier, then in the default
    /// filtered mode the context rules of `ferry_models::skills::filter`).
    pub start: usize,
    pub end: usize,
    pub snippet: String,
    /// The highest probability over its mentions.
    pub probability: f32,
    pub mentions: usize,
    /// Years in the positions whose text mentions it; `null` when none does.
    pub years: Option<f32>,
    pub method: ferry_resume::Method,
}

#[derive(Debug, Clone, Serialize)]
pub struct Experience {
    pub years: Option<f32>,
    pub positions: Vec<Position>,
    pub education: Vec<Education>,
    /// Date ranges past the first [`history::MAX_POSITIONS`] that were not
    /// read (0 for any real resume).
    pub unread_positions: usize,
}

/// What a job description asks for.
#[derive(Debug, Clone, Serialize)]
pub struct Description {
    pub format: &'static str,
    pub required_skills: Vec<String>,
    pub preferred_skills: Vec<String>,
    pub required_years: Option<f32>,
    #[serde(skip)]
    embedding: Vec<f32>,
}

/// The stored result of a resume-match job.
#[derive(Debug, Clone, Serialize)]
pub struct Analysis {
    pub score: u8,
    #[serde(rename = "match")]
    pub job_match: JobMatch,
    pub candidate: Contacts,
    pub skills: Vec<SkillFound>,
    pub experience: Experience,
    pub job_description: Description,
    pub document: DocumentInfo,
}

pub struct ResumePipeline {
    sentiment: Arc<SentimentModel>,
    skills: SkillModel,
    limits: Limits,
    /// "Present" in a date range; `None`: the current month.
    today: Option<YearMonth>,
    /// [`MAX_SKILL_MENTIONS`] and [`MAX_DESCRIPTION_MENTIONS`], unless a
    /// test wants fewer.
    mention_caps: (usize, usize),
    /// [`SkillMode::Filtered`] unless a test wants the package's exact output.
    skill_mode: SkillMode,
}

impl ResumePipeline {
    /// `skills` shares `sentiment`'s encoder, which also embeds documents and
    /// skill names for similarity.
    pub fn new(sentiment: Arc<SentimentModel>, skills: SkillModel) -> Self {
        ResumePipeline {
            sentiment,
            skills,
            limits: Limits::default(),
            today: None,
            mention_caps: (MAX_SKILL_MENTIONS, MAX_DESCRIPTION_MENTIONS),
            skill_mode: SkillMode::default(),
        }
    }

    /// The skill files from `dir` (`dir/skills/`), or the ones compiled into
    /// the binary when `dir` is `None`.
    pub fn load(sentiment: Arc<SentimentModel>, dir: Option<&std::path::Path>) -> Result<Self, ModelError> {
        let skills = match dir {
            Some(dir) => SkillModel::load(&sentiment, dir)?,
            None => SkillModel::bundled(&sentiment)?,
        };
        Ok(Self::new(sentiment, skills))
    }

    /// Every model from this checkout's `functions/models/assets` (tests,
    /// benchmarks, `cargo run`).
    pub fn load_default() -> Result<Self, ModelError> {
        let sentiment = Arc::new(SentimentModel::load_default()?);
        Self::load(sentiment, Some(&ferry_models::default_assets_dir()))
    }

    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Classifies at most `cap` skill mentions per document.
    pub fn with_mention_cap(mut self, cap: usize) -> Self {
        self.mention_caps = (cap, cap);
        self
    }

    /// Which skill decisions to use: [`SkillMode::Package`] reproduces the
    /// skill-extractor package exactly (parity tests, comparisons).
    pub fn with_skill_mode(mut self, mode: SkillMode) -> Self {
        self.skill_mode = mode;
        self
    }

    /// Counts "present" as `today` instead of the current month (for
    /// results that must not change with the calendar, such as fixtures).
    pub fn with_today(mut self, today: YearMonth) -> Self {
        self.today = Some(today);
        self
    }

    /// The whole analysis, and where its time went.
    pub fn analyze_timed(&self, resume: &[u8], description: &[u8]) -> Result<(Analysis, StageTimes), AnalysisError> {
        let mut times = StageTimes::default();
        let facts = self.read_resume(resume, &mut times)?;
        let jd = self.read_description(description, &mut times)?;
        let job_match = self.compare(&facts, &jd, &mut times)?;
        let analysis = Analysis {
            score: job_match.score,
            job_match,
            candidate: facts.candidate,
            skills: facts.skills,
            experience: facts.experience,
            job_description: jd,
            document: facts.document,
        };
        Ok((analysis, times))
    }

    pub fn read_resume(&self, bytes: &[u8], times: &mut StageTimes) -> Result<ResumeFacts, AnalysisError> {
        let document = self.extract(bytes, "resume", times)?;
        let text = &document.text;
        let (mentions, unread_skill_mentions) = self.mentions(text, self.mention_caps.0, times)?;
        let started = Instant::now();
        let today = self.today.unwrap_or_else(this_month);
        let history = history::extract(text, today);
        let candidate = contacts::extract(text);
        let skills = found_skills(text, &self.accepted(text, &mentions), &history.positions, today);
        times.rules += started.elapsed();
        let started = Instant::now();
        let embedding = self.embed_document(text)?;
        times.embeddings += started.elapsed();
        let experience = Experience {
            years: history.years_experience,
            positions: history.positions,
            education: history.education,
            unread_positions: history.unread_positions,
        };
        let info = DocumentInfo {
            format: document.format.as_str(),
            pages: document.pages,
            text: document.text,
            unread_skill_mentions,
        };
        Ok(ResumeFacts { document: info, candidate, skills, experience, embedding })
    }

    pub fn read_description(&self, bytes: &[u8], times: &mut StageTimes) -> Result<Description, AnalysisError> {
        let document = self.extract(bytes, "job description", times)?;
        let text = &document.text;
        let (mentions, _) = self.mentions(text, self.mention_caps.1, times)?;
        let started = Instant::now();
        let preferred_ranges = matching::preferred_ranges(text);
        let is_preferred = |m: &SkillMention| preferred_ranges.iter().any(|&(a, b)| a <= m.start && m.end <= b);
        let mut required: Vec<String> = Vec::new();
        let mut preferred: Vec<String> = Vec::new();
        for m in self.accepted(text, &mentions) {
            let list = if is_preferred(m) { &mut preferred } else { &mut required };
            if !list.contains(&m.skill) {
                list.push(m.skill.clone());
            }
        }
        // Named both ways: it is required.
        preferred.retain(|s| !required.contains(s));
        let required_years = matching::required_years(text);
        times.rules += started.elapsed();
        let started = Instant::now();
        let embedding = self.embed_document(text)?;
        times.embeddings += started.elapsed();
        Ok(Description {
            format: document.format.as_str(),
            required_skills: required,
            preferred_skills: preferred,
            required_years,
            embedding,
        })
    }

    pub fn compare(
        &self,
        resume: &ResumeFacts,
        jd: &Description,
        times: &mut StageTimes,
    ) -> Result<JobMatch, AnalysisError> {
        let started = Instant::now();
        let names = self.name_embeddings(resume, jd)?;
        let similarity = |a: &str, b: &str| match (names.get(a), names.get(b)) {
            (Some(x), Some(y)) => cosine(x, y),
            _ => 0.0,
        };
        let evidence: Vec<SkillEvidence> = resume
            .skills
            .iter()
            .map(|s| SkillEvidence { skill: s.skill.clone(), start: s.start, end: s.end, snippet: s.snippet.clone() })
            .collect();
        let input = MatchInput {
            required: &jd.required_skills,
            preferred: &jd.preferred_skills,
            resume: &evidence,
            skill_similarity: &similarity,
            document_similarity: cosine(&resume.embedding, &jd.embedding),
            years: resume.experience.years,
            required_years: jd.required_years,
        };
        let job_match = matching::score(&input);
        times.compare += started.elapsed();
        Ok(job_match)
    }

    fn extract(&self, bytes: &[u8], what: &str, times: &mut StageTimes) -> Result<Document, AnalysisError> {
        let started = Instant::now();
        let document = ferry_documents::extract(bytes, &self.limits)
            .map_err(|e| AnalysisError::Unreadable(format!("the {what}: {e}")))?;
        times.extract += started.elapsed();
        if document.text.trim().is_empty() {
            return Err(AnalysisError::Unreadable(format!("the {what} has no text")));
        }
        if document.text.len() > MAX_TEXT_BYTES {
            let n = document.text.len();
            return Err(AnalysisError::Unreadable(format!(
                "the {what} has {n} bytes of text; at most {MAX_TEXT_BYTES} (about 60 pages) are analysed"
            )));
        }
        Ok(document)
    }

    /// The first `cap` gazetteer mentions with the classifier's verdict, and
    /// how many more there were; timed by stage.
    fn mentions(
        &self,
        text: &str,
        cap: usize,
        times: &mut StageTimes,
    ) -> Result<(Vec<SkillMention>, usize), AnalysisError> {
        let started = Instant::now();
        let mut candidates = self.skills.candidates(text);
        let unread = candidates.len().saturating_sub(cap);
        candidates.truncate(cap);
        times.gazetteer += started.elapsed();
        let started = Instant::now();
        let embeddings = self.skills.embed_candidates(&candidates).map_err(model)?;
        times.embeddings += started.elapsed();
        let started = Instant::now();
        let probabilities = self.skills.classify(&embeddings, candidates.len()).map_err(model)?;
        times.mlp += started.elapsed();
        let mentions = candidates.into_iter().zip(probabilities).map(|(c, p)| c.judged(p)).collect();
        Ok((mentions, unread))
    }

    /// The mentions that count as skills under the pipeline's [`SkillMode`],
    /// in text order.
    fn accepted<'m>(&self, text: &str, mentions: &'m [SkillMention]) -> Vec<&'m SkillMention> {
        let kept = filter::kept(text, mentions, self.skill_mode);
        mentions.iter().zip(kept).filter_map(|(m, keep)| keep.then_some(m)).collect()
    }

    /// The mean of the embeddings of the document's first pieces,
    /// normalised: MiniLM reads only the first 256 tokens of a text.
    fn embed_document(&self, text: &str) -> Result<Vec<f32>, AnalysisError> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let pieces: Vec<String> = words.chunks(WORDS_PER_PIECE).take(MAX_PIECES).map(|w| w.join(" ")).collect();
        let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
        let embeddings = self.sentiment.embed(&refs).map_err(model)?;
        let mut mean = vec![0.0f32; ferry_models::EMBEDDING_DIM];
        for e in &embeddings {
            mean.iter_mut().zip(e).for_each(|(m, x)| *m += x);
        }
        normalise(&mut mean);
        Ok(mean)
    }

    /// Embeddings of every skill name on either side, in one batch.
    fn name_embeddings(
        &self,
        resume: &ResumeFacts,
        jd: &Description,
    ) -> Result<HashMap<String, Vec<f32>>, AnalysisError> {
        let mut names: Vec<&str> = resume.skills.iter().map(|s| s.skill.as_str()).collect();
        names.extend(jd.required_skills.iter().chain(&jd.preferred_skills).map(String::as_str));
        names.sort_unstable();
        names.dedup();
        let embeddings = self.sentiment.embed(&names).map_err(model)?;
        Ok(names.into_iter().map(str::to_owned).zip(embeddings).collect())
    }
}

impl ResumeAnalyzer for ResumePipeline {
    fn analyze(&self, resume: &[u8], job_description: &[u8]) -> Result<serde_json::Value, AnalysisError> {
        let (analysis, times) = self.analyze_timed(resume, job_description)?;
        // Stage times only: never the text or anything extracted from it.
        tracing::info!(
            extract_ms = times.extract.as_millis() as u64,
            gazetteer_ms = times.gazetteer.as_millis() as u64,
            embeddings_ms = times.embeddings.as_millis() as u64,
            mlp_ms = times.mlp.as_millis() as u64,
            rules_ms = times.rules.as_millis() as u64,
            match_ms = times.compare.as_millis() as u64,
            score = analysis.score,
            "resume analysed"
        );
        // Through text: `to_value` widens f32 to f64 digit for digit (0.889
        // becomes 0.8889999985694885), the text form keeps f32's shortest.
        let json = serde_json::to_string(&analysis).and_then(|s| serde_json::from_str(&s));
        json.map_err(|e| AnalysisError::Model(format!("serialising the result: {e}")))
    }

    fn provenance(&self) -> String {
        format!("{RESUME_MODEL_ID}@sha256:{}", &self.skills.sha256()[..16])
    }
}

/// One entry per accepted skill: its first accepted mention, its best
/// probability and the years of the positions that mention it.
fn found_skills(text: &str, accepted: &[&SkillMention], positions: &[Position], today: YearMonth) -> Vec<SkillFound> {
    let mut by_skill: BTreeMap<&str, Vec<&SkillMention>> = BTreeMap::new();
    for &m in accepted {
        by_skill.entry(m.skill.as_str()).or_default().push(m);
    }
    let mut skills: Vec<SkillFound> = by_skill
        .into_values()
        .map(|found| {
            let first = found[0];
            let offsets: Vec<usize> = found.iter().map(|m| m.start).collect();
            SkillFound {
                skill: first.skill.clone(),
                start: first.start,
                end: first.end,
                snippet: snippet(text, first.start, first.end),
                probability: (found.iter().map(|m| m.probability).fold(0.0, f32::max) * 1000.0).round() / 1000.0,
                mentions: found.len(),
                years: history::skill_years(positions, &offsets, today),
                method: ferry_resume::Method::Model,
            }
        })
        .collect();
    skills.sort_by_key(|s| s.start);
    skills
}

/// The words around `text[start..end]`, on one line.
fn snippet(text: &str, start: usize, end: usize) -> String {
    let from = text.floor_char_boundary(start.saturating_sub(SNIPPET_CHARS));
    let to = text.ceil_char_boundary(end + SNIPPET_CHARS);
    let words: Vec<&str> = text[from..to].split_whitespace().collect();
    let mut line = words.join(" ");
    if from > 0 {
        line.insert_str(0, "… ");
    }
    if to < text.len() {
        line.push_str(" …");
    }
    line
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    let denominator = norm(a) * norm(b);
    if denominator == 0.0 { 0.0 } else { dot / denominator }
}

fn normalise(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    v.iter_mut().for_each(|x| *x /= norm);
}

fn this_month() -> YearMonth {
    let now = time::OffsetDateTime::now_utc();
    YearMonth::new(now.year() as u16, u8::from(now.month()))
}

fn model(e: ModelError) -> AnalysisError {
    AnalysisError::Model(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_stay_on_char_boundaries_and_one_line() {
        let text = "Zhang Wei 张伟\nSkills: Rust,\nGo and Kubernetes in production";
        let start = text.find("Go").unwrap();
        let s = snippet(text, start, start + 2);
        assert!(s.contains("Rust, Go and Kubernetes"), "{s}");
        assert!(!s.contains('\n'));
    }

    #[test]
    fn cosine_of_zero_vectors_is_zero() {
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 0.0]), 0.0);
        assert!((cosine(&[1.0, 1.0], &[2.0, 2.0]) - 1.0).abs() < 1e-6);
    }
}
