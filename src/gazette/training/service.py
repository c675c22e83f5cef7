"""`Training` (`gz.training`): write Modelfiles and create models from them on the Ollama server."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from gazette.auth.models import Principal
from gazette.auth.service import require_scope
from gazette.errors import ConfigError, InvalidInputError, ProviderError
from gazette.providers.models import CreateProgress
from gazette.training.modelfile import (
    Modelfile,
    ModelfileSpec,
    check_adapter,
    check_model_name,
    parse_modelfile,
    render_modelfile,
)

if TYPE_CHECKING:
    from gazette.app import Gazette
    from gazette.providers.ollama import OllamaProvider

Progress = Callable[[CreateProgress], None]
_LOCAL = (
    "names local files ({what}): Gazette builds on a model Ollama has, plus at most one GGUF adapter; "
    "import weights with `ollama create NAME -f Modelfile` on the machine running Ollama"
)


class CreatedModel(BaseModel):
    """A model Ollama now serves."""

    name: str
    base: str
    ollama: str = Field(description="The Ollama server that holds it.")
    adapter: str | None = Field(default=None, description="The adapter blob's digest (sha256:...).")
    parameters: dict[str, Any]
    steps: list[str] = Field(description="What Ollama reported, in order.")
    seconds: float


class Training:
    """Modelfiles and model creation; the same calls behind every surface."""

    def __init__(self, gz: Gazette) -> None:
        self._gz = gz

    def modelfile(self, spec: ModelfileSpec) -> str:
        """The Modelfile text for `spec` (see `render_modelfile`).

        Raises:
            InvalidInputError: a bad base name, adapter, parameter or system prompt.
        """
        return render_modelfile(spec)

    def create(
        self,
        principal: Principal,
        name: str,
        modelfile: str,
        *,
        base_dir: Path | None = None,
        progress: Progress | None = None,
    ) -> CreatedModel:
        """Create the model `name` on the Ollama server from a Modelfile's text, reporting each step.

        The Modelfile is checked before anything is sent; an ADAPTER (relative to `base_dir`, the
        Modelfile's directory) is uploaded unless the server already has it.

        Raises:
            PermissionDeniedError: no `admin` scope (it changes the Ollama server for everyone).
            InvalidInputError: a bad name or Modelfile, a FROM or DRAFT naming local files, an
                adapter that is not an existing `.gguf` file.
            ConfigError: Ollama is not configured.
            ProviderError: Ollama is unreachable, has no such base model, refused or failed.
        """
        require_scope(principal, "admin")
        name = check_model_name(name, "the model name")
        parsed = parse_modelfile(modelfile)
        directory = base_dir or Path.cwd()
        base = self._base(parsed, directory)
        adapter = check_adapter(_resolve(parsed.adapter, directory)) if parsed.adapter else None
        ollama = self._ollama()
        found = self._gz.provider_keys.find(principal, "ollama")
        key = found.secret if found else None
        steps: list[str] = []

        def report(step: CreateProgress) -> None:
            if step.status and (not steps or steps[-1] != step.status):
                steps.append(step.status)
            if progress is not None:
                progress(step)

        for warning in parsed.warnings:
            report(CreateProgress(status=f"warning: {warning}"))
        started = time.monotonic()
        audit: dict[str, str | None] = {"base": base, "ollama": ollama.endpoint, "adapter": None}
        try:
            adapters = None
            if adapter is not None:
                digest = _digest(adapter, report)
                audit["adapter"] = digest
                if ollama.has_blob(digest, key):
                    report(CreateProgress(status=f"Ollama already has {adapter.name}", digest=digest))
                else:
                    ollama.push_blob(digest, adapter, key, report)
                adapters = {adapter.name: digest}
            ollama.create(
                name,
                base=base,
                system=parsed.system,
                template=parsed.template,
                license=parsed.license or None,
                messages=[message.model_dump() for message in parsed.messages] or None,
                parameters=parsed.parameters or None,
                adapters=adapters,
                extra=parsed.extra or None,
                key=key,
                progress=report,
            )
        except ProviderError as exc:
            failed = {**audit, "reason": exc.reason}
            self._gz.audit.record("model.create", principal=principal, target=name, outcome="failed", payload=failed)
            raise
        self._gz.audit.record("model.create", principal=principal, target=name, payload=audit)
        return CreatedModel(
            name=name,
            base=base,
            ollama=ollama.endpoint or "",
            adapter=audit["adapter"],
            parameters=parsed.parameters,
            steps=steps,
            seconds=round(time.monotonic() - started, 3),
        )

    def _base(self, parsed: Modelfile, directory: Path) -> str:
        if parsed.draft is not None:
            raise InvalidInputError("DRAFT " + _LOCAL.format(what=parsed.draft))
        base = parsed.base.strip()
        if base.startswith(("/", ".", "~", "\\")) or (base and _resolve(base, directory).exists()):
            raise InvalidInputError("FROM " + _LOCAL.format(what=base), details={"from": base})
        return check_model_name(base, "FROM")

    def _ollama(self) -> OllamaProvider:
        from gazette.providers.ollama import OllamaProvider

        provider = self._gz.providers.get("ollama")
        if not isinstance(provider, OllamaProvider):  # pragma: no cover - built-ins cannot be replaced
            raise ConfigError("the ollama provider is not Gazette's own: creating models needs it")
        if provider.endpoint is None:
            raise ConfigError(f"ollama is not configured: {provider.setup}")
        return provider


def _resolve(path: str, directory: Path) -> Path:
    """A Modelfile path as Ollama resolves it: `~` is the home directory, relative is to the Modelfile."""
    expanded = Path(path).expanduser()
    return expanded if expanded.is_absolute() else directory / expanded


def _digest(path: Path, report: Progress) -> str:
    """`sha256:<hex>` of the adapter file, as Ollama names its blobs.

    Raises:
        InvalidInputError: the file cannot be read.
    """
    report(CreateProgress(status=f"hashing {path.name}", total=path.stat().st_size, completed=0))
    try:
        with path.open("rb") as file:
            digest = hashlib.file_digest(file, "sha256").hexdigest()
    except OSError as exc:
        raise InvalidInputError(f"cannot read adapter {path}: {exc.strerror or exc}") from None
    return f"sha256:{digest}"
