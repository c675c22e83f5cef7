"""`Doctor`: checks a user runs when something does not work."""

from __future__ import annotations

import platform
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx

from gazette.errors import GazetteError, NotFoundError, ProviderError, UnavailableError
from gazette.net import port_free
from gazette.providers.anthropic import auth_headers
from gazette.providers.transport import bearer
from gazette.settings import mask_url
from gazette.system import resources
from gazette.system.models import Check, Report
from gazette.system.resources import GIB, MEMINFO, OVERHEAD_BYTES, Gpu, Memory, gib

if TYPE_CHECKING:
    from gazette.app import Gazette

_TIMEOUT = 3.0


class Doctor:
    """Runs every check and reports; never raises for a failing check."""

    def __init__(self, gz: Gazette, *, http: httpx.Client | None = None, meminfo: Path = MEMINFO) -> None:
        self._gz = gz
        self._http = http
        self._meminfo = meminfo  # where Linux tells the RAM; another file in tests

    def run(self, model: str | None = None) -> Report:
        """Every check; `model` (else `models.default`) is sized against this machine's memory."""
        steps: list[Callable[[], Iterator[Check]]] = [
            self._python,
            self._data_dir,
            self._sqlite,
            self._store,
            self._ports,
            self._redis,
            self._model_endpoints,
            self._mcp_servers,
            lambda: self._resources(model),
        ]
        checks: list[Check] = []
        for step in steps:
            checks.extend(step())
        return Report(checks=checks)

    def _python(self) -> Iterator[Check]:
        yield Check(name="python", status="ok", detail=f"Python {platform.python_version()}", required=False)

    def _data_dir(self) -> Iterator[Check]:
        directory = self._gz.settings.data_dir
        probe = directory / ".gazette-doctor"
        try:
            directory.mkdir(parents=True, exist_ok=True)
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            yield Check(
                name="data_dir",
                status="fail",
                detail=f"{directory} is not writable ({exc.strerror or exc}); set GAZETTE_HOME",
            )
            return
        yield Check(name="data_dir", status="ok", detail=f"{directory} is writable")

    def _sqlite(self) -> Iterator[Check]:
        import sqlean

        from gazette.store.engine import load_sqlite_vec

        conn = sqlean.connect(":memory:")
        try:
            version = conn.execute("select sqlite_version()").fetchone()[0]
            yield Check(name="sqlite", status="ok", detail=f"SQLite {version} (sqlean)")
            try:
                conn.execute("create virtual table t using fts5(body)")
                yield Check(name="fts5", status="ok", detail="FTS5 available")
            except sqlite3.Error as exc:
                yield Check(name="fts5", status="fail", detail=f"FTS5 unavailable: {exc}")
            try:
                load_sqlite_vec(conn)
                vec = conn.execute("select vec_version()").fetchone()[0]
                yield Check(name="sqlite_vec", status="ok", detail=f"sqlite-vec {vec} loaded")
            except Exception as exc:  # any loader failure is the finding itself
                yield Check(name="sqlite_vec", status="fail", detail=f"sqlite-vec cannot load: {exc}")
        finally:
            conn.close()

    def _store(self) -> Iterator[Check]:
        try:
            store = self._gz.store
            store.ping()
        except GazetteError as exc:
            yield Check(name="store", status="fail", detail=exc.message)
            return
        yield Check(name="store", status="ok", detail=f"{store.backend} at {store.display_url} reachable")
        if store.backend == "postgresql":
            yield self._pgvector()
        current, head = store.migrator.current(), store.migrator.head()
        if current == head:
            yield Check(name="migrations", status="ok", detail=f"current ({head})")
        elif store.migrator.known(current):
            yield Check(
                name="migrations",
                status="warn",
                required=False,
                detail=f"at {current or 'none'}, head {head}: applied on next use, or run `gazette db upgrade`",
            )
        else:
            yield Check(
                name="migrations",
                status="fail",
                detail=f"database is at {current}, unknown to Gazette {head}: upgrade Gazette",
            )

    def _pgvector(self) -> Check:
        from gazette.store import vectors

        with self._gz.store.begin() as conn:
            available = vectors.supported(conn)
        wanted = self._gz.settings.embeddings.provider != "none"
        if available:
            return Check(name="pgvector", status="ok", detail="pgvector available: vectors are stored", required=False)
        return Check(
            name="pgvector",
            status="warn" if wanted else "ok",
            required=False,
            detail="no pgvector extension on this PostgreSQL: search is BM25 only"
            + (" although an embedding provider is set; install pgvector" if wanted else ""),
        )

    def _ports(self) -> Iterator[Check]:
        server = self._gz.settings.server
        for name, port, flag in (("http_port", server.port, "--port"), ("grpc_port", server.grpc_port, "--grpc-port")):
            if port_free(server.host, port):
                yield Check(name=name, status="ok", detail=f"{server.host}:{port} free", required=False)
            else:
                yield Check(
                    name=name,
                    status="warn",
                    required=False,
                    detail=f"{server.host}:{port} in use (a running gazette?); `gazette serve {flag} N` picks another",
                )

    def _redis(self) -> Iterator[Check]:
        url = self._gz.settings.redis.url
        if not url:
            yield Check(name="redis", status="skip", detail="not configured (GAZETTE_REDIS__URL)", required=False)
            return
        try:
            import redis
        except ImportError:
            yield Check(name="redis", status="fail", detail="redis support not installed: pip install 'gazette[redis]'")
            return
        try:
            client = redis.Redis.from_url(url, socket_timeout=_TIMEOUT, socket_connect_timeout=_TIMEOUT)
            client.ping()
            client.close()
        except (redis.RedisError, ValueError) as exc:
            yield Check(name="redis", status="fail", detail=f"{mask_url(url)} unreachable: {exc}")
            return
        yield Check(name="redis", status="ok", detail=f"{mask_url(url)} answers PING")

    def _model_endpoints(self) -> Iterator[Check]:
        providers = self._gz.settings.providers
        if providers.ollama.url:
            yield self._probe("ollama", providers.ollama.url.rstrip("/") + "/api/version", {})
        else:
            yield Check(
                name="ollama", status="skip", detail="not configured (GAZETTE_PROVIDERS__OLLAMA__URL)", required=False
            )
        if providers.openai.base_url:
            key = providers.openai.api_key
            headers = bearer(key.get_secret_value() if key else None)
            yield self._probe("openai_compatible", providers.openai.base_url.rstrip("/") + "/models", headers)
        else:
            yield Check(
                name="openai_compatible",
                status="skip",
                detail="not configured (GAZETTE_PROVIDERS__OPENAI__BASE_URL)",
                required=False,
            )
        if providers.lmstudio.base_url:
            yield self._probe("lmstudio", providers.lmstudio.base_url.rstrip("/") + "/models", {})
        else:
            detail = "not configured (GAZETTE_PROVIDERS__LMSTUDIO__BASE_URL)"
            yield Check(name="lmstudio", status="skip", detail=detail, required=False)
        # The hosted APIs are probed only with a key: a model list answers only an accepted key.
        anthropic, deepseek = providers.anthropic, providers.deepseek
        if anthropic.api_key:
            headers = auth_headers(anthropic.api_key, anthropic.version)
            yield self._probe("anthropic", anthropic.base_url.rstrip("/") + "/v1/models", headers)
        else:
            detail = "no key (GAZETTE_PROVIDERS__ANTHROPIC__API_KEY)"
            yield Check(name="anthropic", status="skip", detail=detail, required=False)
        if deepseek.api_key:
            headers = bearer(deepseek.api_key.get_secret_value())
            yield self._probe("deepseek", deepseek.base_url.rstrip("/") + "/models", headers)
        else:
            detail = "no key (GAZETTE_PROVIDERS__DEEPSEEK__API_KEY)"
            yield Check(name="deepseek", status="skip", detail=detail, required=False)

    def _mcp_servers(self) -> Iterator[Check]:
        for name, server in self._gz.settings.mcp_servers.items():
            if server.url:
                yield self._probe(f"mcp:{name}", server.url, {}, any_answer=True)

    def _resources(self, model: str | None) -> Iterator[Check]:
        memory = resources.read_memory(self._meminfo)
        if memory is None:
            yield Check(name="ram", status="warn", required=False, detail="cannot read the memory size on this system")
        else:
            low = memory.available_bytes < 2 * GIB
            yield Check(
                name="ram",
                status="warn" if low else "ok",
                required=False,
                detail=f"{gib(memory.total_bytes)} total, {gib(memory.available_bytes)} available"
                + ("; little is free: close programs or pick a smaller model" if low else ""),
            )
        gpus: list[Gpu] = []
        executable = shutil.which("nvidia-smi")
        if executable is not None:
            try:
                gpus = resources.query_gpus(executable)
            except UnavailableError as exc:
                yield Check(name="vram", status="warn", required=False, detail=f"{exc.message}: VRAM unknown")
            else:
                shown = [f"{gpu.name}: {gib(gpu.total_bytes)}, {gib(gpu.used_bytes)} used" for gpu in gpus]
                yield Check(name="vram", status="ok", required=False, detail="; ".join(shown))
        yield self._model_fit(model, memory, gpus)

    def _model_fit(self, model: str | None, memory: Memory | None, gpus: list[Gpu]) -> Check:
        """Whether the model fits in VRAM (else RAM), and the num_ctx and quantisation to use."""
        name = (model or self._gz.settings.models.default or "").strip()
        if not name:
            detail = "no model to size: `gazette doctor --model llama3.2`, or set models.default"
            return Check(name="model_fit", status="skip", required=False, detail=detail)
        facts, basis = self._facts(name)
        if isinstance(facts, Check):
            return facts
        if facts is None:
            detail = f"{name}: cannot tell its size ({basis}); name one with a size, e.g. qwen2.5:7b"
            return Check(name="model_fit", status="warn", required=False, detail=detail)
        about = f"{name} ({facts.parameters / 1e9:.1f}B parameters, {facts.quantization}, {basis})"
        vram = sum(gpu.total_bytes for gpu in gpus) or None
        fit = resources.recommend(facts, vram_bytes=vram, ram_bytes=memory.available_bytes if memory else None)
        if fit is None:
            need = gib(resources.smallest_need(facts))
            detail = f"{about} does not fit: it needs about {need} even at Q2_K with num_ctx 2048; pick a smaller model"
            return Check(name="model_fit", status="warn", required=False, detail=detail)
        quantization = (
            f"its {fit.quantization}" if fit.quantization == facts.quantization else f"a {fit.quantization} build"
        )
        where = f"{'VRAM' if fit.device == 'gpu' else 'RAM available'}"
        sums = (
            f"weights {gib(fit.weights_bytes)} + KV cache {gib(fit.kv_bytes)} + {gib(OVERHEAD_BYTES)} working "
            f"memory of {gib(fit.budget_bytes)} usable {where}"
        )
        advice = f"use num_ctx {fit.num_ctx} and {quantization} (`gazette training modelfile --num-ctx {fit.num_ctx}`)"
        slow = fit.device == "cpu" and bool(gpus)
        prefix = "too large for the GPU, runs on the CPU (slower): " if slow else ""
        status = "warn" if slow else "ok"
        return Check(name="model_fit", status=status, required=False, detail=f"{prefix}{about}: {advice}; {sums}")

    def _facts(self, name: str) -> tuple[resources.ModelFacts | Check | None, str]:
        """What Ollama tells about the model, else a guess from its name; a skip for a hosted model."""
        providers = self._gz.providers
        model, reason = name, ""
        try:
            route = providers.resolve(name)
            if route.provider != "ollama":
                detail = f"{name} runs at {route.provider}: nothing to load on this machine"
                return Check(name="model_fit", status="skip", required=False, detail=detail), ""
            model = route.model
            facts = resources.facts_from_info(providers.show(self._gz.local_owner(), route.target))
            if facts is not None:
                return facts, "as Ollama reports it"
        except NotFoundError:
            configured = self._gz.settings.providers.ollama.url
            reason = "; not on the Ollama server yet" if configured else "; Ollama is not configured"
        except ProviderError:
            reason = "; Ollama did not answer"
        except GazetteError as exc:
            reason = f"; {exc.message}"
        return resources.facts_from_name(model), f"estimated from its name{reason}"

    def _probe(self, name: str, url: str, headers: dict[str, str], *, any_answer: bool = False) -> Check:
        shown = mask_url(url)
        if urlsplit(url).scheme not in ("http", "https"):
            return Check(name=name, status="fail", required=False, detail=f"{shown} is not an http(s) URL")
        client = self._http or httpx.Client(timeout=_TIMEOUT)
        try:
            response = client.get(url, headers=headers)
        except httpx.HTTPError as exc:
            return Check(name=name, status="fail", required=False, detail=f"{shown} unreachable: {exc}")
        finally:
            if self._http is None:
                client.close()
        if response.status_code < 400 or any_answer:
            return Check(name=name, status="ok", required=False, detail=f"{shown} answered {response.status_code}")
        return Check(name=name, status="fail", required=False, detail=f"{shown} answered {response.status_code}")
