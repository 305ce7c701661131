# Sourced by infra/schemathesis and infra/console (which set $root).
#
#   python_venv DIR REQUIREMENTS       a venv with those pins, reinstalled when they change
#   start_ferry NAME [ENV=VALUE ...]   a real `ferry serve` (the binary `cargo test`
#                                      built, or $FERRY_BIN) on a free loopback port
#                                      with a fresh data directory, once ready; sets
#                                      base (http://127.0.0.1:PORT), bin and data, and
#                                      stops it (removing the directory) when the
#                                      calling script exits, however it ends
#   ferry_token SUB                    prints a dev token for SUB
#   need_commands NAME CMD:PKG ...     installs the Debian packages of missing
#                                      commands (as root with apt-get), else fails
#   free_port                          prints a free loopback port
#   wait_ready BASE                    waits until BASE/healthz answers (60 s at most)

python_venv() {
  local venv="$1" reqs="$2"
  local stamp="$venv/.ferry-requirements.sha256"
  local want
  want="$(sha256sum "$reqs" | cut -d' ' -f1)"
  if [[ ! -x "$venv/bin/python" || "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$reqs"
    echo "$want" >"$stamp"
  fi
}

need_commands() {
  local name="$1" missing=()
  shift
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}")
  done
  [[ ${#missing[@]} == 0 ]] && return 0
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "$name: needs the Debian packages ${missing[*]} (apt-get install ${missing[*]})" >&2
    return 1
  fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_ready() {
  for _ in $(seq 1 120); do
    curl -sf "$1/healthz" >/dev/null && return 0
    sleep 0.5
  done
  return 1
}

start_ferry() {
  local name="$1"
  shift
  local target="${CARGO_TARGET_DIR:-$root/target}"
  bin="${FERRY_BIN:-$target/debug/ferry}"
  [[ -x "$bin" ]] || cargo build --locked -p ferry-local --bin ferry
  data="$(mktemp -d)"
  local port
  port="$(free_port)"
  env FERRY_LOG=warn "$@" "$bin" serve --port "$port" --data-dir "$data" --workers 1 &
  ferry_server=$!
  trap 'kill "$ferry_server" 2>/dev/null || true; wait "$ferry_server" 2>/dev/null || true; rm -rf "$data"' EXIT
  base="http://127.0.0.1:$port"
  wait_ready "$base" || { echo "$name: ferry serve did not start" >&2; return 1; }
}

ferry_token() {
  "$bin" token --sub "$1" --data-dir "$data"
}
