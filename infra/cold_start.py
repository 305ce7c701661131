#!/usr/bin/env python3
"""Cold start of the two Lambda binaries, measured under cargo-lambda's runtime
emulator against the AWS emulator: process start -> ready (the inference
function logs "ready: …" just before it asks for its first event),
and process start -> first response, plus peak RSS (VmHWM) after that event.

    cargo build --release -p ferry-api -p ferry-inference
    eval "$(infra/emulator start)"
    .venv/bin/python infra/cold_start.py [--runs 5] [--target target/release] [--runner "qemu-aarch64 -L ..."]

With --runner the binaries start through that command (infra/arm64 runs the
aarch64 build under qemu-user this way; the RSS is then qemu's).

Standard library only. Prints a Markdown table.
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CARGO_LAMBDA = os.environ.get("FERRY_CARGO_LAMBDA", str(ROOT / ".venv/bin/cargo-lambda"))
EVENTS_SECRET = "ferry-sample-events-secret-0123456789abcdef"
FIRST_EVENT = {"ferry-api": "api-get-job.json", "ferry-inference": "sqs-batch.json"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"cargo lambda watch did not listen on {port}")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def one_run(binary: Path, name: str, port: int, runner: list[str]) -> tuple[float | None, float, float]:
    """(ms to ready or None, ms to first response, peak RSS MB) of one cold start."""
    env = dict(os.environ)
    env.update(
        AWS_LAMBDA_RUNTIME_API=f"http://127.0.0.1:{port}/.rt",
        AWS_LAMBDA_FUNCTION_NAME="_",
        AWS_LAMBDA_FUNCTION_VERSION="1",
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE="1769",
        FERRY_JWT_SECRET=EVENTS_SECRET,
        RUST_LOG="info",
    )
    # The events' secret by value: not the emulator's by ARN (both is refused).
    env.pop("FERRY_JWT_SECRET_ARN", None)
    with tempfile.NamedTemporaryFile("w+") as log:
        started = time.monotonic()
        proc = subprocess.Popen([*runner, str(binary)], env=env, stdout=log, stderr=subprocess.STDOUT)
        ready_ms = None
        if name == "ferry-inference":
            while "ready: " not in Path(log.name).read_text():
                if proc.poll() is not None or time.monotonic() - started > 60:
                    raise SystemExit(f"{name} did not get ready:\n{Path(log.name).read_text()}")
                time.sleep(0.002)
            ready_ms = (time.monotonic() - started) * 1000
        event = ROOT / "events" / FIRST_EVENT[name]
        out = subprocess.run(
            [CARGO_LAMBDA, "lambda", "invoke", "-A", "127.0.0.1", "-P", str(port), "--data-file", str(event), "_"],
            capture_output=True, text=True, timeout=120,
        )
        first_ms = (time.monotonic() - started) * 1000
        if out.returncode != 0:
            raise SystemExit(f"invoke failed: {out.stderr}")
        json.loads(out.stdout)
        rss = peak_rss_mb(proc.pid)
        proc.kill()
        proc.wait()
    return ready_ms, first_ms, rss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--target", default=str(ROOT / "target/release"))
    parser.add_argument("--runner", default="", help="a command to start the binaries through (qemu-aarch64 -L ...)")
    args = parser.parse_args()
    if "AWS_ENDPOINT_URL" not in os.environ:
        raise SystemExit('start the emulator first: eval "$(infra/emulator start)"')

    print("| binary | size MB | ready ms (median, min-max) | first response ms (median, min-max) | peak RSS MB |")
    print("|---|---:|---|---|---:|")
    for name in ("ferry-api", "ferry-inference"):
        binary = Path(args.target) / name
        port = free_port()
        watch = subprocess.Popen(
            [CARGO_LAMBDA, "lambda", "watch", "--only-lambda-apis", "-A", "127.0.0.1", "-P", str(port)],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_port(port)
            runs = [one_run(binary, name, port, args.runner.split()) for _ in range(args.runs)]
        finally:
            watch.kill()
            watch.wait()
        ready = [r for r, _, _ in runs if r is not None]
        first = [f for _, f, _ in runs]
        fmt = lambda xs: f"{statistics.median(xs):.0f} ({min(xs):.0f}-{max(xs):.0f})" if xs else "-"  # noqa: E731
        size = binary.stat().st_size / 1e6
        print(f"| {name} | {size:.1f} | {fmt(ready)} | {fmt(first)} | {max(r for _, _, r in runs):.0f} |")


if __name__ == "__main__":
    main()
