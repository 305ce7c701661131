//! Chunks of sentiment texts: every admitted chunk of a batch goes through
//! the model in one call (the model sorts and sub-batches the texts), then
//! each chunk's results are recorded.

use super::{Outcome, Worker};
use ferry_core::sentiment::Provenances;
use ferry_core::{ItemResult, TaskMessage, language};
use std::sync::Arc;
use tracing::{debug, warn};

/// An admitted chunk and its place in the batch.
pub(super) struct Chunk<'a> {
    pub index: usize,
    pub message: &'a TaskMessage,
}

impl Worker {
    /// Runs every chunk's texts through the model in one call. If that call
    /// fails, each chunk runs alone, so one bad message fails by itself.
    pub(super) async fn run_texts(&self, chunks: Vec<Chunk<'_>>) -> Vec<(usize, Outcome)> {
        if chunks.is_empty() {
            return Vec::new();
        }
        let predictions = match self.classify(texts_of(&chunks)).await {
            Ok(predictions) => predictions,
            Err(reason) if chunks.len() == 1 => return vec![(chunks[0].index, Outcome::Retry(reason))],
            Err(reason) => {
                warn!(messages = chunks.len(), %reason, "batched model run failed; running messages one by one");
                let mut outcomes = Vec::with_capacity(chunks.len());
                for chunk in chunks {
                    outcomes.extend(Box::pin(self.run_texts(vec![chunk])).await);
                }
                return outcomes;
            }
        };
        let mut predictions = predictions.into_iter();
        let mut outcomes = Vec::with_capacity(chunks.len());
        for chunk in &chunks {
            let message = chunk.message;
            let results = sentiment_results(message, &mut predictions);
            outcomes.push((chunk.index, self.record(message.job_id, message.chunk, &results).await));
        }
        outcomes
    }

    /// Each text's prediction as a result's JSON: the scores, the language,
    /// and the model that scored it.
    async fn classify(&self, texts: Vec<String>) -> Result<Vec<serde_json::Value>, String> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let model = Arc::clone(&self.sentiment);
        let span = tracing::Span::current();
        let n = texts.len();
        let predictions = tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            let started = std::time::Instant::now();
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            let scores = model.classify(&refs).map_err(|e| e.to_string())?;
            if scores.len() != n {
                return Err(format!("model returned {} scores for {n} texts", scores.len()));
            }
            // Here, not on the executor: detection reads every text. Asked
            // after the run, which reads the multilingual model on first use.
            let provenances = Provenances::of(model.as_ref());
            let predictions: Vec<serde_json::Value> = scores
                .into_iter()
                .zip(&refs)
                .map(|(s, text)| {
                    let language = language::identify(text);
                    let mut value = serde_json::to_value(s.prediction(language)).expect("predictions serialise");
                    value["model"] = provenances.for_language(language).into();
                    value
                })
                .collect();
            debug!(texts = n, ms = started.elapsed().as_secs_f64() * 1e3, "model run");
            ferry_core::metrics::model_run(n, started.elapsed());
            Ok(predictions)
        })
        .await
        .map_err(|e| format!("model task failed: {e}"))??;
        Ok(predictions)
    }
}

fn texts_of(chunks: &[Chunk<'_>]) -> Vec<String> {
    chunks
        .iter()
        .flat_map(|c| c.message.items().iter().filter(|item| !item.text.trim().is_empty()))
        .map(|item| item.text.clone())
        .collect()
}

/// Pairs a message's items with their predictions; empty texts fail on their
/// own without failing their neighbours.
fn sentiment_results(
    message: &TaskMessage,
    predictions: &mut impl Iterator<Item = serde_json::Value>,
) -> Vec<ItemResult> {
    message
        .items()
        .iter()
        .map(|item| {
            if item.text.trim().is_empty() {
                return ItemResult::failed(item.i, "empty text");
            }
            match predictions.next() {
                Some(prediction) => ItemResult::ok(item.i, prediction),
                None => ItemResult::failed(item.i, "no score returned"),
            }
        })
        .collect()
}
