"""Ollama Modelfiles: write one from a `ModelfileSpec`, read one into what `/api/create` takes.

The defaults are the seed's settings for a card with 8 GB of VRAM: a 2048-token context window,
answers of at most 512 tokens, temperature 0.7 and a repeat penalty of 1.1.

An adapter is one LoRA adapter in GGUF (`*.gguf`, e.g. from llama.cpp's `convert_lora_to_gguf.py`):
Gazette hashes and uploads that one file. Ollama also imports a directory of safetensors adapter
weights, converting them itself; for that, run `ollama create NAME -f Modelfile` where the files are.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from gazette.errors import InvalidInputError
from gazette.training.syntax import Command, parse_commands, render_value

DEFAULT_NUM_CTX = 2048
DEFAULT_NUM_PREDICT = 512
DEFAULT_TEMPERATURE = 0.7
DEFAULT_REPEAT_PENALTY = 1.1

# Ollama's model names: [host/][namespace/]model[:tag], e.g. llama3.2, qwen2.5:7b, hf.co/user/repo:Q4_K_M.
_MODEL_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-/:]{0,254}")

# Ollama's options (api.Options and api.Runner) by type: what `PARAMETER name value` may name.
_INT = (
    "num_keep", "seed", "num_predict", "top_k", "repeat_last_n", "num_ctx", "num_batch", "num_gpu", "main_gpu",
    "num_thread",
)  # fmt: skip
_FLOAT = ("top_p", "min_p", "typical_p", "temperature", "repeat_penalty", "presence_penalty", "frequency_penalty")
_BOOL = ("use_mmap",)
PARAMETER_TYPES: dict[str, type] = {
    **dict.fromkeys(_INT, int),
    **dict.fromkeys(_FLOAT, float),
    **dict.fromkeys(_BOOL, bool),
    "stop": list,
}
# Accepted by older Ollama versions, ignored with a warning by current ones.
DEPRECATED_PARAMETERS = (
    "penalize_newline",
    "low_vram",
    "f16_kv",
    "logits_all",
    "vocab_only",
    "use_mlock",
    "mirostat",
    "mirostat_tau",
    "mirostat_eta",
)
# Sane ranges, checked on what Gazette writes and on what it sends.
RANGES: dict[str, tuple[float, float]] = {
    "num_ctx": (256, 131072),
    "num_predict": (-2, 131072),  # -1: no limit; -2: until the context is full; never 0
    "temperature": (0.0, 2.0),
    "repeat_penalty": (0.0, 2.0),  # never 0: it divides
    "top_p": (0.0, 1.0),
    "min_p": (0.0, 1.0),
    "typical_p": (0.0, 1.0),
    "top_k": (0, 1000),
}
_ADVICE = {
    "num_ctx": "2048 suits 8 GB of VRAM; `gazette doctor --model M` recommends one for this machine",
    "num_predict": "-1 means no limit, -2 until the context is full",
    "repeat_penalty": "1.0 disables it; 1.1 is usual",
}
_NOT_ZERO = ("num_predict", "repeat_penalty")
_BOOLS = {"1": True, "t": True, "true": True, "0": False, "f": False, "false": False}


class ModelfileSpec(BaseModel):
    """What `gazette training modelfile` writes: a base model, an optional adapter and system prompt,
    and the seed's parameters."""

    base: str = Field(description="The model to build on, as Ollama names it (llama3.2, qwen2.5:7b).")
    adapter: Path | None = Field(default=None, description="A LoRA adapter file in GGUF (*.gguf).")
    system: str | None = Field(default=None, description="The system prompt.")
    num_ctx: int = DEFAULT_NUM_CTX
    num_predict: int = DEFAULT_NUM_PREDICT
    temperature: float = DEFAULT_TEMPERATURE
    repeat_penalty: float = DEFAULT_REPEAT_PENALTY
    stop: list[str] = Field(default_factory=list, description="Stop sequences.")


class Message(BaseModel):
    role: str
    content: str


class Modelfile(BaseModel):
    """A Modelfile as read, in the shape of Ollama's `/api/create` request."""

    base: str
    adapter: str | None = Field(default=None, description="The ADAPTER path as written.")
    system: str | None = None
    template: str | None = None
    license: list[str] = Field(default_factory=list)
    messages: list[Message] = Field(default_factory=list)
    parameters: dict[str, Any] = Field(default_factory=dict)
    draft: str | None = None
    extra: dict[str, str] = Field(default_factory=dict, description="renderer, parser, requires: passed on as written.")
    warnings: list[str] = Field(default_factory=list)


def render_modelfile(spec: ModelfileSpec) -> str:
    """The Modelfile text for `spec`: FROM, ADAPTER (absolute path), PARAMETERs, then SYSTEM.

    Raises:
        InvalidInputError: an empty or malformed base name, an adapter that is not an existing
            `.gguf` file, a parameter out of range, or a text a Modelfile cannot carry.
    """
    base = check_model_name(spec.base, "--from")
    values: dict[str, int | float] = {
        "num_ctx": spec.num_ctx,
        "num_predict": spec.num_predict,
        "temperature": spec.temperature,
        "repeat_penalty": spec.repeat_penalty,
    }
    for name, value in values.items():
        check_range(name, value, f"--{name.replace('_', '-')}")
    lines = [
        "# Written by `gazette training modelfile`. Build it with `gazette training create NAME -f FILE`",
        "# or `ollama create NAME -f FILE`. Syntax: https://docs.ollama.com/modelfile",
        f"FROM {base}",
    ]
    if spec.adapter is not None:
        adapter = check_adapter(spec.adapter)
        lines.append(f"ADAPTER {render_value(str(adapter), what='the adapter path')}")
    lines += [f"PARAMETER {name} {value}" for name, value in values.items()]
    for stop in spec.stop:
        if not stop:
            raise InvalidInputError("a stop sequence is empty: give it some text, e.g. <|eot_id|>")
        lines.append(f"PARAMETER stop {render_value(stop, what='the stop sequence')}")
    if spec.system is not None:
        if not spec.system.strip():
            raise InvalidInputError("the system prompt is empty: write one, or leave it out")
        lines.append(f"SYSTEM {render_value(spec.system, what='the system prompt', prefer_triple=True)}")
    return "\n".join(lines) + "\n"


def parse_modelfile(text: str) -> Modelfile:
    """Read a Modelfile (see `gazette.training.syntax`), with its parameters typed as `/api/create` takes them.

    Raises:
        InvalidInputError: a syntax error (with its line), no FROM, an unknown parameter, a value
            of the wrong type or out of range, or an unknown MESSAGE role.
    """
    base: str | None = None
    single: dict[str, str] = {}  # adapter, system, template, draft: the last one written counts
    licenses: list[str] = []
    messages: list[Message] = []
    parameters: dict[str, Any] = {}
    extra: dict[str, str] = {}
    warnings: list[str] = []
    for command in parse_commands(text):
        kind = command.instruction
        if kind == "from":
            base = command.value
        elif kind == "license":
            licenses.append(command.value)
        elif kind == "message":
            assert command.role is not None  # the reader sets it for every MESSAGE
            messages.append(Message(role=command.role, content=command.value))
        elif kind == "parameter":
            name = command.name
            assert name is not None  # the reader sets it for every PARAMETER
            if name in DEPRECATED_PARAMETERS:
                warnings.append(f"line {command.line}: parameter {name} is deprecated; Ollama ignores it")
            else:
                _add_parameter(parameters, name, command)
        elif kind in ("renderer", "parser", "requires"):
            extra[kind] = command.value
        else:
            single[kind] = command.value
    if base is None:
        raise InvalidInputError("the Modelfile has no FROM line: start it with `FROM <model>`, e.g. FROM llama3.2")
    return Modelfile(
        base=base,
        adapter=single.get("adapter"),
        system=single.get("system"),
        template=single.get("template"),
        draft=single.get("draft"),
        license=licenses,
        messages=messages,
        parameters=parameters,
        extra=extra,
        warnings=warnings,
    )


def check_model_name(name: str, what: str) -> str:
    """`name` stripped, if Ollama could call a model that.

    Raises:
        InvalidInputError: empty, or not a model name (`model[:tag]`, optionally `namespace/`).
    """
    name = name.strip()
    if not name:
        raise InvalidInputError(f"{what} is empty: name a model, e.g. llama3.2 (`gazette models list` shows them)")
    if not _MODEL_NAME.fullmatch(name):
        raise InvalidInputError(
            f"{what} {name!r} is not a model name: use model[:tag] as Ollama names them, e.g. llama3.2 or qwen2.5:7b",
            details={"model": name},
        )
    return name


def check_adapter(path: Path) -> Path:
    """The adapter's absolute path, if it is an existing `.gguf` file.

    Raises:
        InvalidInputError: missing, a directory, or not `.gguf`.
    """
    path = path.expanduser()
    if path.is_dir():
        raise InvalidInputError(
            f"adapter {path} is a directory: Gazette takes one GGUF adapter file (*.gguf); for a directory of "
            "safetensors adapter weights run `ollama create NAME -f Modelfile` next to them",
            details={"path": str(path)},
        )
    if not path.is_file():
        raise InvalidInputError(f"adapter {path} does not exist", details={"path": str(path)})
    if path.suffix.lower() != ".gguf":
        raise InvalidInputError(
            f"adapter {path} is not a GGUF file (*.gguf): convert a LoRA adapter with llama.cpp's "
            "convert_lora_to_gguf.py",
            details={"path": str(path)},
        )
    return path.resolve()


def check_range(name: str, value: float, what: str | None = None) -> None:
    """Raises InvalidInputError when `value` is outside `RANGES[name]` (or not a finite number)."""
    low, high = RANGES.get(name, (-math.inf, math.inf))
    if math.isfinite(value) and low <= value <= high and not (name in _NOT_ZERO and value == 0):
        return
    advice = _ADVICE.get(name)
    raise InvalidInputError(
        f"{what or name} {value} is out of range: use {low:g} to {high:g}"
        + (", not 0" if name in _NOT_ZERO else "")
        + (f" ({advice})" if advice else ""),
        details={"parameter": name, "value": value},
    )


def read_text_file(path: Path, what: str) -> str:
    """The text of a file the user named (`what`: "system file", "Modelfile"), without surrounding blank lines.

    Raises:
        InvalidInputError: missing, unreadable, not UTF-8, or empty.
    """
    details = {"path": str(path)}
    try:
        text = path.expanduser().read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInputError(f"{what} {path} does not exist", details=details) from None
    except UnicodeDecodeError:
        raise InvalidInputError(f"{what} {path} is not UTF-8 text", details=details) from None
    except OSError as exc:
        raise InvalidInputError(f"cannot read {what} {path}: {exc.strerror or exc}", details=details) from None
    if not text.strip():
        raise InvalidInputError(f"{what} {path} is empty", details=details)
    return text.strip()


def _add_parameter(parameters: dict[str, Any], name: str, command: Command) -> None:
    """Add `PARAMETER name value` to `parameters`, typed (a `stop` adds to the list of them)."""
    kind = PARAMETER_TYPES.get(name)
    where = f"Modelfile line {command.line}: PARAMETER {name}"
    details = {"line": command.line, "parameter": name}
    if kind is None:
        raise InvalidInputError(
            f"{where} is not a parameter Ollama knows; known: {', '.join(sorted(PARAMETER_TYPES))}", details=details
        )
    if kind is list:
        parameters.setdefault(name, []).append(command.value)
        return
    value: int | float | bool
    try:
        if kind is bool:
            value = _BOOLS[command.value.lower()]
        elif kind is int:
            value = int(command.value)
        else:
            value = float(command.value)
    except (KeyError, ValueError):
        expected = {bool: "true or false", int: "a whole number", float: "a number"}[kind]
        raise InvalidInputError(f"{where} {command.value!r} is not {expected}", details=details) from None
    if not isinstance(value, bool):
        try:
            check_range(name, value, where)
        except InvalidInputError as exc:
            exc.details["line"] = command.line
            raise
    parameters[name] = value
