"""onnxruntime at one thread on the encoder, B texts x L tokens of constant input: the reference for
`cargo run --release -p ferry-models --example shapes` (the same inputs, warm-up and loop), for the
README's kernel table. `--profile` also prints where each shape's time goes, by operator
(onnxruntime's own profiler; the example's `PROFILE=1` is the tract side).

    python bench_ort_shapes.py [--model encoder.onnx] [--profile] 1x16 1x64 8x16 8x64

Needs numpy and onnxruntime only (the peer stack's venv has both); the model defaults to
.work/encoder.onnx (fold_encoder.py's output), else the peer stack's /tmp/ferry-peer/encoder.onnx.
"""
import argparse
import collections
import json
import os
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

HERE = Path(__file__).resolve().parent
DEFAULT_MODELS = [HERE / ".work" / "encoder.onnx", Path("/tmp/ferry-peer/encoder.onnx")]
WARMUP, MAX_RUNS, MAX_S = 5, 400, 3.0
PROFILED_RUNS = 30


def session(model, profile=False):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.enable_profiling = profile
    return ort.InferenceSession(str(model), so, providers=["CPUExecutionProvider"])


def feeds(b, l):
    return {"input_ids": np.full((b, l), 1037, np.int64), "attention_mask": np.ones((b, l), np.int64),
            "token_type_ids": np.zeros((b, l), np.int64)}


def time_shape(sess, b, l):
    f = feeds(b, l)
    for _ in range(WARMUP):
        sess.run(None, f)
    n, t0 = 0, time.perf_counter()
    while n < MAX_RUNS and time.perf_counter() - t0 < MAX_S:
        sess.run(None, f)
        n += 1
    ms = (time.perf_counter() - t0) * 1000 / n
    print(f"{b}x{l}: {ms:.2f} ms/run, {ms / b:.2f} ms/text")


def profile_shape(model, b, l):
    sess = session(model, profile=True)
    f = feeds(b, l)
    for _ in range(PROFILED_RUNS):
        sess.run(None, f)
    path = sess.end_profiling()
    with open(path) as fh:
        events = json.load(fh)
    os.remove(path)
    by_op = collections.Counter()
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            by_op[e["args"]["op_name"]] += e["dur"]
    for op, us in by_op.most_common(12):
        print(f"  {us / PROFILED_RUNS / 1000:8.3f} ms  {op}")
    print(f"  {sum(by_op.values()) / PROFILED_RUNS / 1000:8.3f} ms  in all operators")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, default=next((m for m in DEFAULT_MODELS if m.exists()), None))
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("shapes", nargs="+", help="BxL, e.g. 8x64")
    args = ap.parse_args()
    if args.model is None:
        ap.error("no encoder ONNX found: pass --model (see the docstring)")
    print(f"onnxruntime {ort.__version__}, one thread, {args.model}")
    sess = session(args.model)
    for shape in args.shapes:
        b, l = map(int, shape.split("x"))
        time_shape(sess, b, l)
        if args.profile:
            profile_shape(args.model, b, l)


if __name__ == "__main__":
    main()
