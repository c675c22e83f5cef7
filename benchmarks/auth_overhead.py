"""Authentication + rate-limit overhead per HTTP request, side by side in one run.

    .venv/bin/python benchmarks/auth_overhead.py [--duration 8] [--rounds 3] [--redis redis://127.0.0.1:6379/14]

Serves the same endpoint (`GET /v1/auth/whoami`) three ways, each in its own uvicorn process on
the embedded SQLite store, and loads it with wrk (Debian package `wrk`):

- open: authentication replaced by the local owner (a dependency override, benchmark only);
- auth, rpm (memory): Bearer token with a per-minute limit counted in process;
- auth, rpm (redis): the same with the per-minute limit counted in Redis;
- auth, rpm + rpd (memory): a token with a daily limit as well, counted exactly in SQLite.

Throughput comes from 16 connections; the added latency from one connection (p50). Goal from
issue 3: authenticated throughput >= 0.85x open, <= 1 ms added at p50.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def serve(variant: str, port: int) -> None:
    """Run one variant (called in a subprocess)."""
    import uvicorn

    from gazette.api import create_app
    from gazette.api.deps import _principal
    from gazette.app import Gazette
    from gazette.logs import configure_logging
    from gazette.settings import load_settings

    settings = load_settings(log={"level": "warning"}).settings
    configure_logging(settings.log)
    gz = Gazette(settings)
    app = create_app(gz)
    if variant == "open":
        app.dependency_overrides[_principal] = gz.local_owner
    uvicorn.run(app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(variant: str, home: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve", variant, "--port", str(port)],
        env={**os.environ, **env, "GAZETTE_HOME": str(home)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.get(url + "/health", timeout=0.5)
            return process, url
        except httpx.HTTPError:
            time.sleep(0.05)
    raise SystemExit(f"{variant} did not start")


def wrk(url: str, token: str | None, *, connections: int, duration: int) -> tuple[float, float]:
    """Requests per second and p50 latency in ms."""
    command = ["wrk", f"-c{connections}", f"-t{min(2, connections)}", f"-d{duration}s", "--latency"]
    if token:
        command += ["-H", f"Authorization: Bearer {token}"]
    output = subprocess.run([*command, url + "/v1/auth/whoami"], capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in output:
        raise SystemExit(f"non-2xx answers during the run:\n{output}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    value, unit = re.search(r"50%\s+([\d.]+)(us|ms|s)", output).groups()  # type: ignore[union-attr]
    p50 = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    return rps, p50


def mint_tokens(home: Path) -> tuple[str, str]:
    """A token with a per-minute limit, and one with a daily limit too."""
    from gazette.app import Gazette
    from gazette.settings import load_settings

    gz = Gazette(load_settings(home=str(home)).settings)
    # Limits far above what the run reaches: the limiter works on every request, never refuses.
    per_minute = gz.auth.add_token(gz.local_owner(), name="bench", rpm=10**9).token
    daily = gz.auth.add_token(gz.local_owner(), name="bench-daily", rpm=10**9, rpd=10**9).token
    gz.close()
    return per_minute, daily


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run (default 10)")
    parser.add_argument("--rounds", type=int, default=3, help="repeat every variant, report medians (default 3)")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14", help="Redis for the shared-counter variant")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port)
        return
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")

    home = Path(tempfile.mkdtemp(prefix="gazette-bench-"))
    token, daily = mint_tokens(home)
    variants = [
        ("open", None, {}),
        ("auth, rpm (memory)", token, {}),
        ("auth, rpm (redis)", token, {"GAZETTE_RATE_LIMIT__URL": args.redis}),
        ("auth, rpm + rpd (memory)", daily, {}),
    ]
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name, _, _ in variants}
    for _ in range(args.rounds):  # rounds alternate the variants, so all see the same machine state
        for name, secret, env in variants:
            process, url = start("open" if secret is None else "auth", home, env)
            try:
                wrk(url, secret, connections=4, duration=2)  # warm-up
                rps, _ = wrk(url, secret, connections=16, duration=args.duration)
                _, p50 = wrk(url, secret, connections=1, duration=args.duration)
            finally:
                process.terminate()
                process.wait()
            samples[name].append((rps, p50))
    results = {
        name: (statistics.median(r for r, _ in runs), statistics.median(p for _, p in runs))
        for name, runs in samples.items()
    }
    base_rps, base_p50 = results["open"]
    print(
        f"{datetime.now(UTC):%Y-%m-%d} · {os.cpu_count()} cores · wrk {args.duration}s per run · "
        f"median of {args.rounds} rounds · SQLite store\n"
    )
    print("| variant | req/s (16 conn) | × open | p50 ms (1 conn) | added p50 ms |")
    print("|---|---:|---:|---:|---:|")
    for name, (rps, p50) in results.items():
        print(f"| {name} | {rps:.0f} | {rps / base_rps:.2f} | {p50:.2f} | {p50 - base_p50:+.2f} |")
    shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
