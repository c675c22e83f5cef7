"""Real HTTP servers on ephemeral ports speaking the Ollama (NDJSON), OpenAI (SSE) and Anthropic (SSE)
wire formats. They replay the transcripts in `tests/recordings/` and fail, on request, the ways real
servers fail. Providers talk to them through their real HTTP clients.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Wire = Literal["ollama", "openai", "anthropic"]
Failure = Literal[
    "unauthorized",
    "server_error",
    "rate_limited",
    "context_too_long",
    "hang",
    "malformed",
    "cut",
    "stream_error",
]

RECORDINGS = Path(__file__).parent / "recordings"
ANSWER = "The sky is blue because of Rayleigh scattering."
MODELS: dict[Wire, list[str]] = {
    "ollama": ["llama3.2:latest", "qwen2.5:7b", "nomic-embed-text:latest"],
    "openai": ["gpt-4o-mini", "gpt-4o-mini-2024-07-18", "deepseek-chat"],
    "anthropic": ["claude-sonnet-4-5-20250929", "claude-haiku-4-5-20251001"],
}
CHAT_PATHS: dict[Wire, str] = {"ollama": "/api/chat", "openai": "/v1/chat/completions", "anthropic": "/v1/messages"}


def _transcript(wire: Wire) -> list[bytes]:
    """The recorded stream, one frame (NDJSON line or SSE event) per element, as sent."""
    if wire == "ollama":
        text = (RECORDINGS / "ollama_chat.ndjson").read_text()
        return [line.encode() + b"\n" for line in text.splitlines() if line]
    text = (RECORDINGS / f"{wire}_chat.sse").read_text()
    return [event.encode() + b"\n\n" for event in text.split("\n\n") if event.strip()]


def _error_body(wire: Wire, failure: str, model: str, presented_key: str) -> tuple[int, dict[str, Any]]:
    """Error answers in each provider's own shape and wording."""
    if wire == "ollama":
        status, message = {
            "unknown_model": (404, f'model "{model}" not found, try pulling it first'),
            "unauthorized": (401, "unauthorized"),
            "server_error": (500, "llama runner process has terminated: exit status 2"),
            "rate_limited": (429, "too many requests"),
            "context_too_long": (400, "the input length exceeds the context length"),
            "stream_error": (200, "an error was encountered while running the model: unexpected EOF"),
        }[failure]
        return status, {"error": message}
    if wire == "openai":
        status, kind, code, message = {
            "unknown_model": (
                404,
                "invalid_request_error",
                "model_not_found",
                f"The model `{model}` does not exist or you do not have access to it.",
            ),
            # The worst case of a server echoing the key it refused, to prove it never reaches our messages.
            "unauthorized": (
                401,
                "invalid_request_error",
                "invalid_api_key",
                f"Incorrect API key provided: {presented_key}. You can find your API key in your account.",
            ),
            "server_error": (
                500,
                "server_error",
                None,
                "The server had an error while processing your request. Sorry about that!",
            ),
            "rate_limited": (
                429,
                "requests",
                "rate_limit_exceeded",
                f"Rate limit reached for {model} on requests per min (RPM): Limit 3, Used 3, Requested 1.",
            ),
            "context_too_long": (
                400,
                "invalid_request_error",
                "context_length_exceeded",
                "This model's maximum context length is 128000 tokens. However, your messages resulted in "
                "131072 tokens. Please reduce the length of the messages.",
            ),
            "stream_error": (200, "server_error", None, "The server had an error while processing your request."),
        }[failure]
        return status, {"error": {"message": message, "type": kind, "param": None, "code": code}}
    status, kind, message = {
        "unknown_model": (404, "not_found_error", f"model: {model}"),
        "unauthorized": (401, "authentication_error", "invalid x-api-key"),
        "server_error": (529, "overloaded_error", "Overloaded"),
        "rate_limited": (429, "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"),
        "context_too_long": (400, "invalid_request_error", "prompt is too long: 208431 tokens > 200000 maximum"),
        "stream_error": (200, "overloaded_error", "Overloaded"),
    }[failure]
    return status, {"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_011CPjv3"}


class _QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that gave up (timeout tests) leaves a broken pipe behind: expected


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class ModelServer:
    """One fake model server. Set `fail` to make the next requests fail, `delay` to slow each frame."""

    wire: Wire
    fail: Failure | None = None
    delay: float = 0.0
    models: list[str] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    blobs: dict[str, bytes] = field(default_factory=dict)  # Ollama: files uploaded to /api/blobs

    def __post_init__(self) -> None:
        self.models = list(self.models or MODELS[self.wire])
        self._release = threading.Event()
        self._httpd = _QuietServer(("127.0.0.1", 0), _handler(self), bind_and_activate=False)
        self._httpd.server_bind()  # the port is ours; until listen() a connection is refused
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """The base URL as a user configures it."""
        root = f"http://127.0.0.1:{self.port}"
        return f"{root}/v1" if self.wire == "openai" else root

    def listen(self) -> ModelServer:
        self._httpd.server_activate()
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Down for good: no new connections, and the open keep-alive ones are dropped."""
        self._release.set()
        if self._thread is not None:
            self._httpd.shutdown()
        self._httpd.server_close()
        for connection in list(self._connections):
            with contextlib.suppress(OSError):  # already closed by the client
                connection.shutdown(socket.SHUT_RDWR)

    def chats(self) -> list[Seen]:
        return [seen for seen in self.seen if seen.path == CHAT_PATHS[self.wire]]


def _handler(server: ModelServer) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            server._connections.add(self.connection)

        def finish(self) -> None:
            server._connections.discard(self.connection)
            super().finish()

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def do_HEAD(self) -> None:
            self._serve("HEAD")

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            path = self.path.split("?", 1)[0]
            blob = server.wire == "ollama" and path.startswith("/api/blobs/")
            body = {"bytes": len(raw)} if blob else json.loads(raw) if raw else None
            headers = {name.lower(): value for name, value in self.headers.items()}
            server.seen.append(Seen(method=method, path=path, headers=headers, body=body))
            if path == CHAT_PATHS[server.wire]:
                self._chat(body, headers)
            elif server.fail == "unauthorized":
                self._json(*_error_body(server.wire, "unauthorized", "", _presented_key(headers)))
            elif blob:
                self._blob(method, path.removeprefix("/api/blobs/"), raw)
            elif server.wire == "ollama" and path == "/api/create":
                self._create(body)
            else:
                self._catalog(method, path, body)

        def _blob(self, method: str, digest: str, raw: bytes) -> None:
            """Ollama's blob store: HEAD says whether it has the file, POST checks the digest and keeps it."""
            if method == "HEAD":
                self.send_response(200 if digest in server.blobs else 404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            actual = f"sha256:{hashlib.sha256(raw).hexdigest()}"
            if actual != digest:
                self._json(400, {"error": f'digest mismatch, expected "{digest}", got "{actual}"'})
                return
            server.blobs[digest] = raw
            self.send_response(201)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _create(self, body: dict[str, Any]) -> None:
            """`/api/create` as Ollama 0.5+ streams it: status lines, then `success` or an error line."""
            failure = server.fail
            if failure == "server_error":
                self._json(*_error_body("ollama", "server_error", "", ""))
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/x-ndjson")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            base = str(body.get("from"))
            if not _serves(server, base):  # Ollama tries to pull a base it does not have
                self._lines({"status": "pulling manifest"}, {"error": "pull model manifest: file does not exist"})
                return
            steps: list[dict[str, Any]] = [{"status": "using existing layer sha256:" + "a8" * 32}]
            for digest in (body.get("adapters") or {}).values():
                if digest not in server.blobs:
                    self._lines(*steps, {"error": f"open /root/.ollama/models/blobs/{digest}: no such file"})
                    return
                steps.append({"status": f"using existing layer {digest}"})
            steps += [{"status": "creating new layer sha256:" + "5c" * 32}, {"status": "writing manifest"}]
            if failure == "stream_error":
                self._lines(*steps[:1], {"error": "unsupported architecture"})
                return
            if failure == "cut":
                for step in steps[:2]:
                    self._chunk(json.dumps(step).encode() + b"\n")
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            name = str(body["model"])
            server.models.append(name if ":" in name else f"{name}:latest")
            self._lines(*steps, {"status": "success"})

        def _lines(self, *items: dict[str, Any]) -> None:
            for item in items:
                self._chunk(json.dumps(item).encode() + b"\n")
            self._chunk(b"")

        def _chat(self, body: dict[str, Any], headers: dict[str, str]) -> None:
            model = str(body.get("model"))
            failure = server.fail
            if failure == "hang":
                server._release.wait(30)  # longer than any client timeout in the tests
                self.close_connection = True
                return
            if failure in ("unauthorized", "server_error", "rate_limited", "context_too_long"):
                self._json(*_error_body(server.wire, failure, model, _presented_key(headers)))
                return
            if not _serves(server, model):
                self._json(*_error_body(server.wire, "unknown_model", model, ""))
                return
            self.send_response(200)
            content_type = "application/x-ndjson" if server.wire == "ollama" else "text/event-stream"
            self.send_header("Content-Type", content_type)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            frames = _transcript(server.wire)
            if failure in ("malformed", "cut", "stream_error"):
                frames = frames[:2]
            for frame in frames:
                if server.delay:
                    time.sleep(server.delay)
                self._chunk(frame)
            if failure == "cut":  # the connection drops mid-answer, without the closing chunk
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            if failure == "malformed":
                self._chunk(b"<html>502 Bad Gateway</html>\n" if server.wire == "ollama" else b"data: {not json\n\n")
            if failure == "stream_error":
                _, error = _error_body(server.wire, "stream_error", model, "")
                frame = json.dumps(error).encode()
                if server.wire == "ollama":
                    self._chunk(frame + b"\n")
                elif server.wire == "openai":
                    self._chunk(b"data: " + frame + b"\n\n")
                else:
                    self._chunk(b"event: error\ndata: " + frame + b"\n\n")
            self._chunk(b"")

        def _catalog(self, method: str, path: str, body: Any) -> None:
            wire = server.wire
            if wire == "ollama" and path == "/api/tags":
                self._json(200, {"models": [_ollama_model(name) for name in server.models]})
            elif wire == "ollama" and path == "/api/show":
                model = str(body.get("model"))
                if _serves(server, model):
                    self._json(200, _ollama_show(model))
                else:
                    self._json(404, {"error": f"model '{model}' not found"})
            elif wire == "openai" and path == "/v1/models":
                data = [
                    {"id": name, "object": "model", "created": 1721172741, "owned_by": "system"}
                    for name in server.models
                ]
                self._json(200, {"object": "list", "data": data})
            elif wire == "anthropic" and path == "/v1/models":
                data = [_anthropic_model(name) for name in server.models]
                self._json(200, {"data": data, "has_more": False, "first_id": data[0]["id"], "last_id": data[-1]["id"]})
            elif path.startswith("/v1/models/") and method == "GET":
                model = path.removeprefix("/v1/models/")
                if wire == "anthropic":
                    # The API resolves an alias to the dated model it stands for.
                    dated = next((name for name in server.models if name.startswith(f"{model}-")), model)
                    if _serves(server, dated):
                        self._json(200, _anthropic_model(dated))
                    else:
                        self._json(*_error_body(wire, "unknown_model", model, ""))
                elif model in server.models:
                    self._json(200, {"id": model, "object": "model", "created": 1721172741, "owned_by": "system"})
                else:
                    self._json(*_error_body(wire, "unknown_model", model, ""))
            else:
                self._json(404, {"error": "404 page not found"})

        def _json(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _chunk(self, data: bytes) -> None:
            self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

    return Handler


def _serves(server: ModelServer, model: str) -> bool:
    if server.wire == "ollama" and ":" not in model:
        model = f"{model}:latest"
    if server.wire == "anthropic":  # aliases (claude-sonnet-4-5) stand for the newest dated model
        return any(name == model or name.startswith(f"{model}-") for name in server.models)
    return model in server.models


def _presented_key(headers: dict[str, str]) -> str:
    return headers.get("x-api-key") or headers.get("authorization", "").removeprefix("Bearer ")


def _ollama_model(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "model": name,
        "modified_at": "2025-05-28T11:02:41.613529+02:00",
        "size": 2019393189,
        "digest": "a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72",
        "details": {
            "parent_model": "",
            "format": "gguf",
            "family": "llama",
            "families": ["llama"],
            "parameter_size": "3.2B",
            "quantization_level": "Q4_K_M",
        },
    }


def _ollama_show(model: str) -> dict[str, Any]:
    return {
        "license": "LLAMA 3.2 COMMUNITY LICENSE AGREEMENT",
        "modelfile": f"FROM {model}\n",
        "parameters": 'stop "<|eot_id|>"',
        "template": "{{ .Prompt }}",
        "details": _ollama_model(model)["details"],
        "model_info": {
            "general.architecture": "llama",
            "general.parameter_count": 3212749888,
            "llama.attention.head_count": 24,
            "llama.attention.head_count_kv": 8,
            "llama.block_count": 28,
            "llama.context_length": 131072,
            "llama.embedding_length": 3072,
        },
        "capabilities": ["completion", "tools"],
        "modified_at": "2025-05-28T11:02:41.613529+02:00",
    }


def _anthropic_model(name: str) -> dict[str, Any]:
    display = " ".join(part.capitalize() for part in name.split("-")[:-1]).replace("4 5", "4.5")
    return {"type": "model", "id": name, "display_name": display, "created_at": "2025-09-29T00:00:00Z"}
