//! Which language a text is in, so that a text goes to the sentiment model
//! that knows its language, and a result can say when no model does (a
//! Swedish review came back "neutral 0.92" with nothing to tell the client it
//! was a guess).
//!
//! Detection is [`whatlang`]'s trigram model, asked two questions. Its plain
//! answer is unsure on short texts and errs both ways: "Great!" comes out as
//! German, "Fantastisk telefon, jag älskar den" as Swedish with a confidence of
//! 0.001. What Ferry needs to know is narrower — *is this the model's language
//! or clearly not?* — so when the first answer is another language, that
//! language is weighed against the model's alone. On the set in
//! `tests/fixtures/languages/reviews.json` (90 texts, 18 languages) that duel
//! scores 1.0 for every non-English text and at most 0.51 for English ones
//! ("Kindle Paperwhite, USB-C, 16 GB"), so a text is called another language
//! only above [`CLEARLY`] and English keeps the benefit of the doubt.
//!
//! The answer also picks the sentiment model ([`Language::sentiment_model`]):
//! text that is clearly another language goes to the multilingual model, the
//! rest to the English one.

use whatlang::{Detector, Lang};

/// The languages the English models were trained on (ISO 639-1): the
/// sentiment model for English and the resume model.
pub const MODEL_LANGUAGES: &[&str] = &["en"];

/// The languages besides English that the multilingual sentiment model knows
/// (ISO 639-1): Universal Sentence Encoder multilingual v3's 16, with
/// Simplified and Traditional Chinese as one `zh`.
pub const MULTILINGUAL_LANGUAGES: &[&str] =
    &["ar", "de", "es", "fr", "it", "ja", "ko", "nl", "pl", "pt", "ru", "th", "tr", "zh"];

/// Which sentiment model scores a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SentimentModelChoice {
    /// The English model: English text, and text with no language to go on.
    English,
    /// The multilingual model: text that is clearly not English, in one of
    /// [`MULTILINGUAL_LANGUAGES`] or not (for a language neither model knows
    /// it is the nearer guess: whatlang names short Russian text Bulgarian).
    Multilingual,
}

/// How sure the duel against English must be before a text is called another
/// language (whatlang's own "reliable" mark is 0.9).
const CLEARLY: f64 = 0.9;

/// Detection reads at most this much of a text: enough for any language, and
/// a bound on the time a long text costs (whatlang is linear in its input).
const SAMPLE_BYTES: usize = 2_000;

/// A detected language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Language {
    /// ISO 639-1 where the language has one (`"sv"`), else ISO 639-3.
    pub code: &'static str,
    /// Its English name (`"Swedish"`).
    pub name: &'static str,
}

impl Language {
    const ENGLISH: Language = Language { code: "en", name: "English" };

    /// Whether a sentiment model was trained on it.
    pub fn is_served(self) -> bool {
        MODEL_LANGUAGES.contains(&self.code) || MULTILINGUAL_LANGUAGES.contains(&self.code)
    }

    /// The note a sentiment result for this language carries, if no model
    /// was trained on it.
    pub fn warning(self) -> Option<String> {
        (!self.is_served()).then(|| {
            format!(
                "the text looks {} ({}); the sentiment models know English and {} only, so this answer is unreliable",
                self.name,
                self.code,
                MULTILINGUAL_LANGUAGES.join(", ")
            )
        })
    }

    /// The sentiment model for a text in `language` ([`identify`]'s answer).
    pub fn sentiment_model(language: Option<Language>) -> SentimentModelChoice {
        match language {
            Some(l) if l != Language::ENGLISH => SentimentModelChoice::Multilingual,
            _ => SentimentModelChoice::English,
        }
    }

    fn of(lang: Lang) -> Language {
        Language { code: iso639_1(lang).unwrap_or(lang.code()), name: lang.eng_name() }
    }
}

/// The language of `text`: English unless the text is clearly another one;
/// `None` for text with nothing to go on (digits, emoji, punctuation).
pub fn identify(text: &str) -> Option<Language> {
    let sample = &text[..text.floor_char_boundary(SAMPLE_BYTES)];
    let first = whatlang::detect(sample)?;
    if first.lang() == Lang::Eng {
        return Some(Language::ENGLISH);
    }
    let duel = Detector::with_allowlist(vec![Lang::Eng, first.lang()]).detect(sample)?;
    Some(if duel.lang() != Lang::Eng && duel.confidence() >= CLEARLY {
        Language::of(duel.lang())
    } else {
        Language::ENGLISH
    })
}

/// ISO 639-1 codes of the languages whatlang knows (it names them by 639-3).
/// Written out because no small, kept crate maps one to the other for just
/// these; the test below checks every one of whatlang's languages is here.
fn iso639_1(lang: Lang) -> Option<&'static str> {
    use Lang::*;
    Some(match lang {
        Afr => "af",
        Aka => "ak",
        Amh => "am",
        Ara => "ar",
        Aze => "az",
        Bel => "be",
        Ben => "bn",
        Bul => "bg",
        Cat => "ca",
        Ces => "cs",
        Cmn => "zh",
        Dan => "da",
        Deu => "de",
        Ell => "el",
        Eng => "en",
        Epo => "eo",
        Est => "et",
        Fin => "fi",
        Fra => "fr",
        Guj => "gu",
        Heb => "he",
        Hin => "hi",
        Hrv => "hr",
        Hun => "hu",
        Hye => "hy",
        Ind => "id",
        Ita => "it",
        Jav => "jv",
        Jpn => "ja",
        Kan => "kn",
        Kat => "ka",
        Khm => "km",
        Kor => "ko",
        Lat => "la",
        Lav => "lv",
        Lit => "lt",
        Mal => "ml",
        Mar => "mr",
        Mkd => "mk",
        Mya => "my",
        Nep => "ne",
        Nld => "nl",
        Nob => "nb",
        Ori => "or",
        Pan => "pa",
        Pes => "fa",
        Pol => "pl",
        Por => "pt",
        Ron => "ro",
        Rus => "ru",
        Sin => "si",
        Slk => "sk",
        Slv => "sl",
        Sna => "sn",
        Spa => "es",
        Srp => "sr",
        Swe => "sv",
        Tam => "ta",
        Tel => "te",
        Tgl => "tl",
        Tha => "th",
        Tuk => "tk",
        Tur => "tr",
        Ukr => "uk",
        Urd => "ur",
        Uzb => "uz",
        Vie => "vi",
        Yid => "yi",
        Zul => "zu",
        // A language a later whatlang adds: its 639-3 code stands in.
        #[allow(unreachable_patterns)]
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_whatlang_knows_has_a_two_letter_code() {
        for &lang in Lang::all() {
            let code = iso639_1(lang).unwrap_or_else(|| panic!("{lang:?} has no ISO 639-1 code here"));
            assert_eq!(code.len(), 2, "{lang:?}");
        }
    }

    #[test]
    fn the_issues_examples_are_named_routed_and_warned_about_when_no_model_knows_them() {
        for (text, code, warned) in [
            ("Fantastisk telefon, jag älskar den", Some("sv"), true),
            ("太糟糕了，一天就坏了", Some("zh"), false),
            // Three Cyrillic words: whatlang names them Bulgarian, which no
            // model lists, so the warning stays; the multilingual model (which
            // knows Russian) still scores them.
            ("Ужасное качество, не покупайте", None, true),
        ] {
            let language = identify(text).expect("detected");
            if let Some(code) = code {
                assert_eq!(language.code, code, "{text}");
            }
            assert_eq!(Language::sentiment_model(Some(language)), SentimentModelChoice::Multilingual, "{text}");
            let warning = language.warning();
            assert_eq!(warning.is_some(), warned, "{text}: {warning:?}");
            assert!(warning.is_none_or(|w| w.contains("English and ar, de,")), "{text}");
        }
    }

    #[test]
    fn english_and_wordless_text_stay_on_the_english_model() {
        assert_eq!(Language::sentiment_model(identify("Love it")), SentimentModelChoice::English);
        assert_eq!(Language::sentiment_model(identify("12345 !!! 👍")), SentimentModelChoice::English);
    }

    #[test]
    fn short_english_keeps_the_benefit_of_the_doubt() {
        for text in ["Great!", "ok", "hello", "Love it", "Terrible, it broke in a day", "Kindle Paperwhite, USB-C"] {
            assert_eq!(identify(text), Some(Language::ENGLISH), "{text}");
            assert_eq!(Language::ENGLISH.warning(), None);
        }
    }

    #[test]
    fn nothing_to_go_on_is_no_language() {
        assert_eq!(identify("12345 !!! 👍"), None);
        assert_eq!(identify(""), None);
    }

    #[test]
    fn a_long_text_is_read_from_a_sample_cut_at_a_character() {
        let text = "Доставка быстрая, продавец вежливый, рекомендую. ".repeat(500);
        assert_eq!(identify(&text).map(|l| l.code), Some("ru"));
    }
}
