"""onnxruntime single-thread throughput of the encoder (.work/encoder.onnx, the ONNX form of the shipped
encoder.nnef.tar; a reference for the tract numbers).

Fixed synthetic sentences, tokenised with `tokenizers` (truncation 256, pad to longest in batch).
Each cell runs until >= MIN_S seconds AND >= MIN_ITERS iterations, capped at MAX_S seconds.
"""
import sys
from pathlib import Path
import time

import numpy as np

from common import ASSETS, ENCODER_ONNX, load_tokenizer, ort_session

MIN_S, MIN_ITERS, MAX_S = 1.0, 3, 8.0
SHORT = ["The delivery was quick and the box was intact.", "I am not happy with the battery life of this phone.",
         "Great film, the acting was superb throughout.", "Customer support never replied to my three emails."]
MEDIUM = [("I bought this laptop for university work and after two months I have mixed feelings: the screen "
           "is bright and sharp, the keyboard is comfortable, but the fans get loud under load and the "
           "battery rarely lasts a full day of lectures, which is what I needed most."),
          ("The restaurant was recommended by friends, and while the starters were creative and the service "
           "attentive, the main courses arrived lukewarm after a forty minute wait, and the bill was far "
           "higher than the menu suggested once the service charge was added at the end.")]


def batch_of(pool, n):
    return [pool[i % len(pool)] + ("" if i < len(pool) else f" ({i})") for i in range(n)]


def feeds_for(tok, texts):
    enc = tok.encode_batch(texts)
    ids = np.array([e.ids for e in enc], dtype=np.int64)
    return {"input_ids": ids, "attention_mask": np.array([e.attention_mask for e in enc], dtype=np.int64),
            "token_type_ids": np.zeros_like(ids)}


def run(fn):
    fn()  # warm-up
    n, t0 = 0, time.perf_counter()
    while True:
        fn(); n += 1
        el = time.perf_counter() - t0
        if (el >= MIN_S and n >= MIN_ITERS) or el >= MAX_S:
            return el / n


def main(model=ENCODER_ONNX):
    tok = load_tokenizer()
    enc = ort_session(model, threads=1)
    head = ort_session(ASSETS / "sentiment_head.onnx", threads=1) if (ASSETS / "sentiment_head.onnx").exists() else None
    print(f"onnxruntime single thread (intra_op=1, inter_op=1), model {model.name}")
    print(f"| texts | tokens/text | batch | encoder texts/s | ms/batch | encoder+pool+head texts/s |")
    print(f"|---|---|---|---|---|---|")
    for name, pool in [("short", SHORT), ("medium", MEDIUM)]:
        for b in (1, 8, 32):
            texts = batch_of(pool, b)
            f = feeds_for(tok, texts)
            t_enc = run(lambda: enc.run(["last_hidden_state"], f))
            full = ""
            if head is not None:
                feats = np.zeros((b, 388), np.float32)   # VADER cost excluded (pure python, not what Rust runs)

                def e2e():
                    h = enc.run(["last_hidden_state"], f)[0]
                    m = f["attention_mask"][..., None].astype(np.float32)
                    p = (h * m).sum(1) / m.sum(1)
                    feats[:, :384] = p / np.linalg.norm(p, axis=1, keepdims=True)
                    head.run(["logits"], {"features": feats})
                full = f"{b / run(e2e):.1f}"
            print(f"| {name} | {f['input_ids'].shape[1]} | {b} | {b / t_enc:.1f} | {t_enc * 1e3:.1f} | {full} |", flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1])) if len(sys.argv) > 1 else main()
