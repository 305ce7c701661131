//! VADER polarity scores exactly as Python's `vaderSentiment` 3.3.2 computes
//! them, because that is what the sentiment head was trained on.
//!
//! The `vader_sentiment` crate (0.1.1) ports an older VADER: it drops
//! one-character words ("I", "a") and strips punctuation from two-letter
//! tokens, which moves neg/neu/pos by up to ~0.09 on ordinary sentences and
//! the head's probabilities by ~1e-2. We keep its lexicons (the same files as
//! Python's, less two words) and follow the Python algorithm line by line,
//! quirks included (see `but_check`). `tests/vader.rs` checks the result
//! against Python on a few hundred sentences.
//!
//! VADER: Hutto, C.J. & Gilbert, E.E. (2014), MIT licence.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

const B_INCR: f64 = 0.293;
const B_DECR: f64 = -0.293;
const C_INCR: f64 = 0.733;
const N_SCALAR: f64 = -0.74;

const NEGATE: &[&str] = &[
    "aint",
    "arent",
    "cannot",
    "cant",
    "couldnt",
    "darent",
    "didnt",
    "doesnt",
    "ain't",
    "aren't",
    "can't",
    "couldn't",
    "daren't",
    "didn't",
    "doesn't",
    "dont",
    "hadnt",
    "hasnt",
    "havent",
    "isnt",
    "mightnt",
    "mustnt",
    "neither",
    "don't",
    "hadn't",
    "hasn't",
    "haven't",
    "isn't",
    "mightn't",
    "mustn't",
    "neednt",
    "needn't",
    "never",
    "none",
    "nope",
    "nor",
    "not",
    "nothing",
    "nowhere",
    "oughtnt",
    "shant",
    "shouldnt",
    "uhuh",
    "wasnt",
    "werent",
    "oughtn't",
    "shan't",
    "shouldn't",
    "uh-uh",
    "wasn't",
    "weren't",
    "without",
    "wont",
    "wouldnt",
    "won't",
    "wouldn't",
    "rarely",
    "seldom",
    "despite",
];

const BOOSTERS_UP: &[&str] = &[
    "absolutely",
    "amazingly",
    "awfully",
    "completely",
    "considerable",
    "considerably",
    "decidedly",
    "deeply",
    "effing",
    "enormous",
    "enormously",
    "entirely",
    "especially",
    "exceptional",
    "exceptionally",
    "extreme",
    "extremely",
    "fabulously",
    "flipping",
    "flippin",
    "frackin",
    "fracking",
    "fricking",
    "frickin",
    "frigging",
    "friggin",
    "fully",
    "fuckin",
    "fucking",
    "fuggin",
    "fugging",
    "greatly",
    "hella",
    "highly",
    "hugely",
    "incredible",
    "incredibly",
    "intensely",
    "major",
    "majorly",
    "more",
    "most",
    "particularly",
    "purely",
    "quite",
    "really",
    "remarkably",
    "so",
    "substantially",
    "thoroughly",
    "total",
    "totally",
    "tremendous",
    "tremendously",
    "uber",
    "unbelievably",
    "unusually",
    "utter",
    "utterly",
    "very",
];

const BOOSTERS_DOWN: &[&str] = &[
    "almost",
    "barely",
    "hardly",
    "just enough",
    "kind of",
    "kinda",
    "kindof",
    "kind-of",
    "less",
    "little",
    "marginal",
    "marginally",
    "occasional",
    "occasionally",
    "partly",
    "scarce",
    "scarcely",
    "slight",
    "slightly",
    "somewhat",
    "sort of",
    "sorta",
    "sortof",
    "sort-of",
];

const SPECIAL_CASES: &[(&str, f64)] = &[
    ("the shit", 3.0),
    ("the bomb", 3.0),
    ("bad ass", 1.5),
    ("badass", 1.5),
    ("bus stop", 0.0),
    ("yeah right", -2.0),
    ("kiss of death", -1.5),
    ("to die for", 3.0),
    ("beating heart", 3.5),
];

/// Python's `string.punctuation`.
const PUNCTUATION: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

struct Tables {
    /// Exact (case-sensitive) keys, as Python's dict.
    lexicon: HashMap<&'static str, f64>,
    emojis: HashMap<char, &'static str>,
    boosters: HashMap<&'static str, f64>,
    negate: HashSet<&'static str>,
    special: HashMap<&'static str, f64>,
}

static TABLES: LazyLock<Tables> = LazyLock::new(|| {
    let mut lexicon: HashMap<&'static str, f64> = vader_sentiment::LEXICON.iter().map(|(k, v)| (**k, *v)).collect();
    // In vaderSentiment 3.3.2's lexicon, missing from the crate's copy.
    lexicon.insert("heart", 3.2);
    lexicon.insert("hearts", 3.3);
    let emojis = vader_sentiment::EMOJI_LEXICON
        .iter()
        .filter_map(|(k, v)| {
            let mut chars = k.chars();
            // Python looks emojis up one code point at a time: longer keys never match.
            match (chars.next(), chars.next()) {
                (Some(c), None) => Some((c, v.trim_end_matches('\r'))),
                _ => None,
            }
        })
        .collect();
    let boosters = BOOSTERS_UP.iter().map(|w| (*w, B_INCR)).chain(BOOSTERS_DOWN.iter().map(|w| (*w, B_DECR))).collect();
    Tables {
        lexicon,
        emojis,
        boosters,
        negate: NEGATE.iter().copied().collect(),
        special: SPECIAL_CASES.iter().copied().collect(),
    }
});

/// VADER's `[neg, neu, pos, compound]` for `text`, rounded as Python rounds
/// them (3 decimals, compound 4).
pub fn vader_features(text: &str) -> [f32; 4] {
    let [neg, neu, pos, compound] = polarity_scores(text);
    [round(neg, 3), round(neu, 3), round(pos, 3), round(compound, 4)]
}

/// Python's `round(v, decimals)`: round-half-even on the exact binary value,
/// which is what Rust's fixed-precision formatting does too.
fn round(v: f64, decimals: usize) -> f32 {
    format!("{v:.decimals$}").parse::<f64>().unwrap_or(v) as f32
}

/// Unrounded `[neg, neu, pos, compound]`.
fn polarity_scores(text: &str) -> [f64; 4] {
    let t = &*TABLES;
    let text = replace_emojis(text, t);
    let words = words_and_emoticons(&text);
    let lower: Vec<String> = words.iter().map(|w| w.to_lowercase()).collect();
    let is_cap_diff = allcap_differential(&words);
    let mut sentiments = Vec::with_capacity(words.len());
    for (i, item) in lower.iter().enumerate() {
        if t.boosters.contains_key(item.as_str()) || (i + 1 < lower.len() && item == "kind" && lower[i + 1] == "of") {
            sentiments.push(0.0);
            continue;
        }
        sentiments.push(sentiment_valence(t, &words, &lower, is_cap_diff, i));
    }
    but_check(&lower, &mut sentiments);
    score_valence(&sentiments, &text)
}

fn replace_emojis(text: &str, t: &Tables) -> String {
    let mut out = String::with_capacity(text.len());
    let mut prev_space = true;
    for c in text.chars() {
        if let Some(description) = t.emojis.get(&c) {
            if !prev_space {
                out.push(' ');
            }
            out.push_str(description);
            prev_space = false;
        } else {
            out.push(c);
            prev_space = c == ' ';
        }
    }
    out.trim_matches(is_py_space).to_string()
}

/// `str.isspace()`: Unicode whitespace plus the ASCII separators 0x1c..=0x1f.
fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// `text.split()`, then strip punctuation from tokens that stay longer than
/// two characters (so `:)` and `ok!` are kept as they are).
fn words_and_emoticons(text: &str) -> Vec<&str> {
    text.split(is_py_space)
        .filter(|w| !w.is_empty())
        .map(|w| {
            let stripped = w.trim_matches(|c| PUNCTUATION.contains(c));
            if stripped.chars().count() <= 2 { w } else { stripped }
        })
        .collect()
}

/// `str.isupper()`: has a cased character and no lowercase one.
fn is_upper(s: &str) -> bool {
    s.chars().any(char::is_uppercase) && !s.chars().any(char::is_lowercase)
}

fn allcap_differential(words: &[&str]) -> bool {
    let caps = words.iter().filter(|w| is_upper(w)).count();
    let diff = words.len() - caps;
    0 < diff && diff < words.len()
}

fn negated(word: &str, t: &Tables) -> bool {
    t.negate.contains(word) || word.contains("n't")
}

fn scalar_inc_dec(t: &Tables, word: &str, lower: &str, valence: f64, is_cap_diff: bool) -> f64 {
    let Some(&b) = t.boosters.get(lower) else {
        return 0.0;
    };
    let mut scalar = if valence < 0.0 { -b } else { b };
    if is_upper(word) && is_cap_diff {
        scalar += if valence > 0.0 { C_INCR } else { -C_INCR };
    }
    scalar
}

fn sentiment_valence(t: &Tables, words: &[&str], lower: &[String], is_cap_diff: bool, i: usize) -> f64 {
    let item = lower[i].as_str();
    let Some(&base) = t.lexicon.get(item) else {
        return 0.0;
    };
    let in_lexicon = |j: usize| t.lexicon.contains_key(lower[j].as_str());
    let mut valence = base;
    if item == "no" && i != lower.len() - 1 && in_lexicon(i + 1) {
        valence = 0.0;
    }
    if (i > 0 && lower[i - 1] == "no")
        || (i > 1 && lower[i - 2] == "no")
        || (i > 2 && lower[i - 3] == "no" && (lower[i - 1] == "or" || lower[i - 1] == "nor"))
    {
        valence = base * N_SCALAR;
    }
    if is_upper(words[i]) && is_cap_diff {
        valence += if valence > 0.0 { C_INCR } else { -C_INCR };
    }
    for start_i in 0..3 {
        if i > start_i && !in_lexicon(i - (start_i + 1)) {
            let j = i - (start_i + 1);
            let mut s = scalar_inc_dec(t, words[j], &lower[j], valence, is_cap_diff);
            if start_i == 1 && s != 0.0 {
                s *= 0.95;
            }
            if start_i == 2 && s != 0.0 {
                s *= 0.9;
            }
            valence += s;
            valence = negation_check(t, valence, lower, start_i, i);
            if start_i == 2 {
                valence = special_idioms_check(t, valence, lower, i);
            }
        }
    }
    least_check(t, valence, lower, i)
}

fn least_check(t: &Tables, valence: f64, lower: &[String], i: usize) -> f64 {
    let prev_is_least = |i: usize| !t.lexicon.contains_key(lower[i - 1].as_str()) && lower[i - 1] == "least";
    if i > 1 && prev_is_least(i) {
        if lower[i - 2] != "at" && lower[i - 2] != "very" {
            return valence * N_SCALAR;
        }
    } else if i > 0 && prev_is_least(i) {
        return valence * N_SCALAR;
    }
    valence
}

fn negation_check(t: &Tables, valence: f64, lower: &[String], start_i: usize, i: usize) -> f64 {
    let w = |k: usize| lower[i - k].as_str();
    match start_i {
        0 => {
            if negated(w(1), t) {
                return valence * N_SCALAR;
            }
        }
        1 => {
            if w(2) == "never" && (w(1) == "so" || w(1) == "this") {
                return valence * 1.25;
            } else if w(2) == "without" && w(1) == "doubt" {
                return valence;
            } else if negated(w(2), t) {
                return valence * N_SCALAR;
            }
        }
        _ => {
            // Python's precedence: (never and (so or this)) or (so or this).
            if (w(3) == "never" && (w(2) == "so" || w(2) == "this")) || (w(1) == "so" || w(1) == "this") {
                return valence * 1.25;
            } else if w(3) == "without" && (w(2) == "doubt" || w(1) == "doubt") {
                return valence;
            } else if negated(w(3), t) {
                return valence * N_SCALAR;
            }
        }
    }
    valence
}

fn special_idioms_check(t: &Tables, mut valence: f64, lower: &[String], i: usize) -> f64 {
    let w = |k: usize| lower[k].as_str();
    let onezero = format!("{} {}", w(i - 1), w(i));
    let twoonezero = format!("{} {} {}", w(i - 2), w(i - 1), w(i));
    let twoone = format!("{} {}", w(i - 2), w(i - 1));
    let threetwoone = format!("{} {} {}", w(i - 3), w(i - 2), w(i - 1));
    let threetwo = format!("{} {}", w(i - 3), w(i - 2));
    for seq in [&onezero, &twoonezero, &twoone, &threetwoone, &threetwo] {
        if let Some(&v) = t.special.get(seq.as_str()) {
            valence = v;
            break;
        }
    }
    if lower.len() - 1 > i
        && let Some(&v) = t.special.get(format!("{} {}", w(i), w(i + 1)).as_str())
    {
        valence = v;
    }
    if lower.len() - 1 > i + 1
        && let Some(&v) = t.special.get(format!("{} {} {}", w(i), w(i + 1), w(i + 2)).as_str())
    {
        valence = v;
    }
    for n_gram in [&threetwoone, &threetwo, &twoone] {
        if let Some(&b) = t.boosters.get(n_gram.as_str()) {
            valence += b;
        }
    }
    valence
}

/// Python's `_but_check`, including its use of `list.index(value)` while the
/// list is being rewritten: a value equal to an earlier, already scaled one
/// scales that earlier slot again instead of its own.
fn but_check(lower: &[String], sentiments: &mut [f64]) {
    let Some(bi) = lower.iter().position(|w| w == "but") else {
        return;
    };
    for k in 0..sentiments.len() {
        let value = sentiments[k];
        let si = sentiments.iter().position(|&s| s == value).unwrap_or(k);
        if si < bi {
            sentiments[si] = value * 0.5;
        } else if si > bi {
            sentiments[si] = value * 1.5;
        }
    }
}

fn punctuation_emphasis(text: &str) -> f64 {
    let ep = text.matches('!').count().min(4) as f64 * 0.292;
    let qm_count = text.matches('?').count();
    let qm = match qm_count {
        0 | 1 => 0.0,
        2..=3 => qm_count as f64 * 0.18,
        _ => 0.96,
    };
    ep + qm
}

fn normalize(score: f64) -> f64 {
    (score / (score * score + 15.0).sqrt()).clamp(-1.0, 1.0)
}

fn score_valence(sentiments: &[f64], text: &str) -> [f64; 4] {
    if sentiments.is_empty() {
        return [0.0; 4];
    }
    let mut sum_s: f64 = sentiments.iter().sum();
    let amplifier = punctuation_emphasis(text);
    if sum_s > 0.0 {
        sum_s += amplifier;
    } else if sum_s < 0.0 {
        sum_s -= amplifier;
    }
    let compound = normalize(sum_s);
    let (mut pos_sum, mut neg_sum, mut neu_count) = (0.0f64, 0.0f64, 0usize);
    for &s in sentiments {
        if s > 0.0 {
            pos_sum += s + 1.0;
        }
        if s < 0.0 {
            neg_sum += s - 1.0;
        }
        if s == 0.0 {
            neu_count += 1;
        }
    }
    if pos_sum > neg_sum.abs() {
        pos_sum += amplifier;
    } else if pos_sum < neg_sum.abs() {
        neg_sum -= amplifier;
    }
    let total = pos_sum + neg_sum.abs() + neu_count as f64;
    [(neg_sum / total).abs(), (neu_count as f64 / total).abs(), (pos_sum / total).abs(), compound]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polarity_follows_the_words() {
        let [neg, _, pos, compound] = vader_features("I love this, it's wonderful");
        assert!(pos > neg && compound > 0.5);
        let [neg, _, pos, compound] = vader_features("This is terrible, I hate it");
        assert!(neg > pos && compound < -0.5);
        assert_eq!(vader_features(""), [0.0; 4]);
        assert_eq!(vader_features(" \t\n"), [0.0; 4]);
    }

    #[test]
    fn one_letter_words_count_as_neutral_like_python() {
        // Python vaderSentiment 3.3.2: {'neg': 0.0, 'neu': 0.4, 'pos': 0.6, 'compound': 0.6696}
        assert_eq!(vader_features("I love this phone!"), [0.0, 0.4, 0.6, 0.6696]);
    }

    #[test]
    fn rounds_like_python() {
        assert_eq!(round(0.0625, 3), 0.062);
        assert_eq!(round(0.1875, 3), 0.188);
        assert_eq!(round(2.675, 2), 2.67);
        assert_eq!(round(-0.62494, 4), -0.6249);
    }

    #[test]
    fn but_check_reproduces_pythons_index_quirk() {
        // Python: [2.0, 1.0, 0, 3.0] with "but" at 2 -> [0.5, 1.0, 0, 4.5]
        let words: Vec<String> = ["a", "b", "but", "c"].iter().map(|s| s.to_string()).collect();
        let mut s = [2.0, 1.0, 0.0, 3.0];
        but_check(&words, &mut s);
        assert_eq!(s, [0.5, 1.0, 0.0, 4.5]);
    }
}
