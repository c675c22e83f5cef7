"""Streaming through Gazette beside calling the same local replay server directly, in one run.

    .venv/bin/python benchmarks/streaming.py [--tokens 2000] [--runs 20] [--pace-ms 0]

A local HTTP server speaks Ollama's `/api/chat` NDJSON and replays an answer of `--tokens`
tokens, as fast as it can (`--pace-ms 0`, the worst case for any overhead) or one token every
`--pace-ms` milliseconds (a model's pace). Each run alternates:

- direct: httpx streams the same request and parses each NDJSON line (what a minimal client does);
- gazette: `gz.providers.stream` (route resolution, scope and key checks, the provider's parser,
  the event objects) on an ordinary SQLite store;
- gazette ask: `gz.dialogs.ask`, what `gazette ask` and `/v1/chat` use: the above plus a new
  session and the capture of both turns (redacted) in `terminal_dialogs`.

Reports tokens/s and time to first token (median over runs). Goals: ≥ 0.95× the direct tokens/s,
≤ 5 ms added to the time to first token.
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime
from typing import Any

import httpx


def replay_server(tokens: int, pace_ms: float) -> http.server.ThreadingHTTPServer:
    words = [f" w{i % 97}" for i in range(tokens)]

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-ndjson")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for word in words:
                line = {"model": body["model"], "message": {"role": "assistant", "content": word}, "done": False}
                self._chunk(json.dumps(line).encode() + b"\n")
                if pace_ms:
                    time.sleep(pace_ms / 1000)
            final = {
                "model": body["model"],
                "message": {"role": "assistant", "content": ""},
                "done": True,
                "done_reason": "stop",
                "prompt_eval_count": 12,
                "eval_count": tokens,
            }
            self._chunk(json.dumps(final).encode() + b"\n")
            self.wfile.write(b"0\r\n\r\n")

        def _chunk(self, data: bytes) -> None:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        def log_message(self, format: str, *args: object) -> None:
            pass

    class Quiet(http.server.ThreadingHTTPServer):
        def handle_error(self, request: object, client_address: object) -> None:
            pass  # a client closing its kept-alive connection is not news

    server = Quiet(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def direct(client: httpx.Client, url: str) -> tuple[float, float, int]:
    payload = {"model": "bench", "messages": [{"role": "user", "content": "stream"}], "stream": True}
    started = time.perf_counter()
    first = 0.0
    count = 0
    with client.stream("POST", f"{url}/api/chat", json=payload) as response:
        for line in response.iter_lines():
            if not line:
                continue
            event = json.loads(line)
            if event.get("done"):
                break
            if not first:
                first = time.perf_counter() - started
            count += 1
    return time.perf_counter() - started, first, count


def through_gazette(gz: Any, owner: Any) -> tuple[float, float, int]:
    from gazette.providers import ChatMessage, ChatRequest, TextDelta

    request = ChatRequest(messages=[ChatMessage(role="user", content="stream")])
    started = time.perf_counter()
    first = 0.0
    count = 0
    for event in gz.providers.stream(owner, "ollama:bench", request):
        if isinstance(event, TextDelta):
            if not first:
                first = time.perf_counter() - started
            count += 1
    return time.perf_counter() - started, first, count


def asked(gz: Any, owner: Any) -> tuple[float, float, int]:
    from gazette.providers import TextDelta

    started = time.perf_counter()
    first = 0.0
    count = 0
    for event in gz.dialogs.ask(owner, "stream", model="ollama:bench", new=True):
        if isinstance(event, TextDelta):
            if not first:
                first = time.perf_counter() - started
            count += 1
    return time.perf_counter() - started, first, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=int, default=2000, help="tokens per answer (default 2000)")
    parser.add_argument("--runs", type=int, default=20, help="answers per side (default 20)")
    parser.add_argument("--pace-ms", type=float, default=0.0, help="delay between tokens (default 0: flat out)")
    args = parser.parse_args()

    from gazette.app import Gazette
    from gazette.settings import load_settings

    server = replay_server(args.tokens, args.pace_ms)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    home = tempfile.mkdtemp(prefix="gazette-stream-")
    gz = Gazette(load_settings(home=home, log={"level": "warning"}, providers={"ollama": {"url": url}}).settings)
    owner = gz.local_owner()
    client = httpx.Client(timeout=60)
    direct(client, url)
    through_gazette(gz, owner)  # warm-up: imports, connections
    asked(gz, owner)
    sides: dict[str, list[tuple[float, float, int]]] = {"direct": [], "gazette": [], "gazette ask": []}
    for _ in range(args.runs):
        sides["direct"].append(direct(client, url))
        sides["gazette"].append(through_gazette(gz, owner))
        sides["gazette ask"].append(asked(gz, owner))
    client.close()
    gz.close()
    server.shutdown()

    def rate(runs: list[tuple[float, float, int]]) -> float:
        return statistics.median(count / seconds for seconds, _, count in runs)

    def ttft(runs: list[tuple[float, float, int]]) -> float:
        return statistics.median(first for _, first, _ in runs) * 1000

    pace = f"one token every {args.pace_ms:g} ms" if args.pace_ms else "flat out"
    print(f"{datetime.now(UTC):%Y-%m-%d} · {os.cpu_count()} cores · {args.tokens} tokens · {pace} · {args.runs} runs\n")
    print("| path | tokens/s (median) | time to first token ms (median) |")
    print("|---|---:|---:|")
    for name, runs in sides.items():
        print(f"| {name} | {rate(runs):,.0f} | {ttft(runs):.2f} |")
    for name in ("gazette", "gazette ask"):
        print(
            f"| {name} ÷ direct | {rate(sides[name]) / rate(sides['direct']):.3f}× | "
            f"+{ttft(sides[name]) - ttft(sides['direct']):.2f} ms |"
        )


if __name__ == "__main__":
    main()
