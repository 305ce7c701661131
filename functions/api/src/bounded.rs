//! Request fields whose parsed form could outgrow the body they came in:
//! each is bounded while it is parsed, so a 6 MiB body of 1.5 million tiny
//! strings or a huge `metadata` object costs about its own size, not thirty
//! times it, before the 422 that refuses it.

use serde::de::{self, Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;
use std::fmt;

/// Texts parsed per request, whatever the configured `Limits::max_inputs`
/// (which may only be lower): past this the rest are counted, not kept.
pub const MAX_INPUTS_PARSED: usize = 100_000;
/// Largest `metadata` parsed, as written (whitespace included): its compact
/// form must then be at most 4 KiB, which the handler checks.
pub const MAX_METADATA_PARSED: usize = 64 * 1024;

/// `"inputs": [...]`: at most [`MAX_INPUTS_PARSED`] texts, and how many
/// the array held in all. Each is a string or, as in a JSONL document, an
/// object `{"text": "…"}`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Texts {
    pub texts: Vec<String>,
    pub total: usize,
}

impl Serialize for Texts {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.texts.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Texts {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Bounded;
        impl<'de> Visitor<'de> for Bounded {
            type Value = Texts;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array of strings or {\"text\": \"…\"} objects")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Texts, A::Error> {
                let mut out = Texts::default();
                while out.texts.len() < MAX_INPUTS_PARSED {
                    match seq.next_element::<Input>()? {
                        Some(Input(text)) => out.texts.push(text),
                        None => {
                            out.total = out.texts.len();
                            return Ok(out);
                        }
                    }
                }
                out.total = out.texts.len();
                // Still JSON to check, but nothing kept: no allocation per element.
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    out.total += 1;
                }
                Ok(out)
            }
        }
        deserializer.deserialize_seq(Bounded)
    }
}

/// One input: `"…"` or `{"text": "…"}` (no other field).
struct Input(String);

impl<'de> Deserialize<'de> for Input {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OneInput;
        impl<'de> Visitor<'de> for OneInput {
            type Value = Input;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or an object {\"text\": \"…\"}")
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<Input, E> {
                Ok(Input(text.to_owned()))
            }

            fn visit_string<E: de::Error>(self, text: String) -> Result<Input, E> {
                Ok(Input(text))
            }

            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Input, A::Error> {
                let mut text = None;
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    if key != "text" {
                        return Err(de::Error::unknown_field(&key, &["text"]));
                    }
                    if text.replace(map.next_value::<String>()?).is_some() {
                        return Err(de::Error::duplicate_field("text"));
                    }
                }
                text.map(Input).ok_or_else(|| de::Error::missing_field("text"))
            }
        }
        deserializer.deserialize_any(OneInput)
    }
}

/// `"metadata": {...}`: read as raw text first, and parsed only when it is
/// at most [`MAX_METADATA_PARSED`].
#[derive(Debug, Clone, PartialEq)]
pub enum Metadata {
    Value(Value),
    /// Too large to keep: its size in bytes.
    TooLarge(usize),
}

impl Serialize for Metadata {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Metadata::Value(value) => value.serialize(serializer),
            Metadata::TooLarge(n) => serializer.serialize_u64(*n as u64),
        }
    }
}

impl<'de> Deserialize<'de> for Metadata {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = <Box<RawValue>>::deserialize(deserializer)?;
        let text = raw.get();
        if text.len() > MAX_METADATA_PARSED {
            return Ok(Metadata::TooLarge(text.len()));
        }
        serde_json::from_str(text).map(Metadata::Value).map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Body {
        inputs: Texts,
        metadata: Option<Metadata>,
    }

    #[test]
    fn inputs_past_the_cap_are_counted_not_kept() {
        let many: Vec<String> = (0..MAX_INPUTS_PARSED + 5).map(|i| format!("t{i}")).collect();
        let body: Body = serde_json::from_value(serde_json::json!({"inputs": many, "metadata": null})).unwrap();
        assert_eq!(body.inputs.texts.len(), MAX_INPUTS_PARSED);
        assert_eq!(body.inputs.total, MAX_INPUTS_PARSED + 5);
        let body: Body = serde_json::from_str(r#"{"inputs": ["a", "b"]}"#).unwrap();
        assert_eq!(body.inputs, Texts { texts: vec!["a".into(), "b".into()], total: 2 });
        assert!(serde_json::from_str::<Body>(r#"{"inputs": ["a", 1]}"#).is_err(), "only strings");
        let objects: Body = serde_json::from_str(r#"{"inputs": [{"text": "a"}, "b"]}"#).unwrap();
        assert_eq!(objects.inputs.texts, vec!["a", "b"], "objects as in a JSONL document");
        for bad in [r#"[{"txt": "a"}]"#, r#"[{}]"#, r#"[{"text": "a", "i": 1}]"#, r#"[{"text": 1}]"#] {
            let body = format!(r#"{{"inputs": {bad}}}"#);
            assert!(serde_json::from_str::<Body>(&body).is_err(), "{bad}");
        }
        assert_eq!(serde_json::to_value(&body.inputs).unwrap(), serde_json::json!(["a", "b"]));
    }

    #[test]
    fn large_metadata_is_measured_not_parsed() {
        let big = format!(r#"{{"inputs": [], "metadata": {{"k": "{}"}}}}"#, "x".repeat(100_000));
        let body: Body = serde_json::from_str(&big).unwrap();
        assert_eq!(body.metadata, Some(Metadata::TooLarge(100_009)));
        let small: Body = serde_json::from_str(r#"{"inputs": [], "metadata": {"b": 1, "a": [2]}}"#).unwrap();
        assert_eq!(small.metadata, Some(Metadata::Value(serde_json::json!({"a": [2], "b": 1}))));
    }
}
