"""Memory on this machine, and what a local model needs of it: the estimates `gazette doctor` reports.

A model loaded by Ollama needs its weights, its KV cache (which grows with `num_ctx`) and some
working memory. The estimates, documented in docs/models.md:

- weights: parameters x bytes per parameter of the quantisation (`BYTES_PER_PARAMETER`, measured on
  the sizes of Ollama's library tags of llama3.1:8b);
- KV cache per token: 2 (keys and values) x layers x KV heads x head size x 2 bytes (Ollama's
  default f16 cache) when Ollama tells the model's shape; else `KV_MIB_PER_1K_TOKENS` by size;
- working memory: `OVERHEAD_BYTES`; and only `HEADROOM` of the memory is counted as usable.

The recommendation is the largest `num_ctx` in `CONTEXTS` (up to the model's own limit) with the
model's quantisation, else the next smaller one in `LADDER`, that fits the GPUs' VRAM; else the
same on the CPU in the RAM available now.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from gazette.errors import UnavailableError
from gazette.providers.models import ModelInfo

MIB = 1 << 20
GIB = 1 << 30
CONTEXTS = (2048, 4096, 8192, 16384, 32768)
HEADROOM = 0.9
OVERHEAD_BYTES = 512 * MIB
BYTES_PER_PARAMETER = {
    "F32": 4.0, "F16": 2.0, "BF16": 2.0, "Q8_0": 1.06, "Q6_K": 0.82, "Q5_1": 0.76, "Q5_K_M": 0.71,
    "Q5_K_S": 0.70, "Q5_0": 0.70, "Q4_1": 0.65, "Q4_K_M": 0.61, "Q4_K_S": 0.59, "Q4_0": 0.59,
    "Q3_K_L": 0.54, "Q3_K_M": 0.50, "Q3_K_S": 0.46, "Q2_K": 0.40,
}  # fmt: skip
LADDER = ("F16", "Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "Q3_K_M", "Q2_K")  # the tags Ollama's library offers
DEFAULT_QUANTIZATION = "Q4_K_M"  # what Ollama's library serves under a model's default tag
# KV cache (f16) per 1024 tokens of models of up to N billion parameters, from their published shapes:
# 1B llama3.2 32 MiB, 3B llama3.2 112, 8B llama3.1 128, 14B qwen2.5 192, 32B qwen2.5 256, 70B llama3 320.
KV_MIB_PER_1K_TOKENS = ((2.0, 32), (4.5, 112), (9.5, 128), (16.0, 192), (36.0, 256), (float("inf"), 320))
# Parameters (billions) of the default tag of common models in Ollama's library, for names without a size.
DEFAULT_SIZES = {
    "llama3.2": 3.2, "llama3.1": 8.0, "llama3": 8.0, "llama2": 7.0, "codellama": 7.0, "mistral": 7.2,
    "mixtral": 46.7, "qwen2.5": 7.6, "qwen2.5-coder": 7.6, "qwen3": 8.2, "gemma3": 4.3, "gemma2": 9.2,
    "phi3": 3.8, "phi4": 14.7, "deepseek-r1": 8.0, "tinyllama": 1.1,
}  # fmt: skip
MEMINFO = Path("/proc/meminfo")
NVIDIA_SMI_ARGS = ("--query-gpu=name,memory.total,memory.used", "--format=csv,noheader,nounits")


class Memory(BaseModel):
    total_bytes: int
    available_bytes: int


class Gpu(BaseModel):
    name: str
    total_bytes: int
    used_bytes: int


class ModelFacts(BaseModel):
    """What the estimate needs to know about a model."""

    name: str
    parameters: float
    quantization: str
    kv_bytes_per_token: int
    context_length: int | None = None
    source: Literal["ollama", "name"]


Device = Literal["gpu", "cpu"]


class Fit(BaseModel):
    """The recommendation: a quantisation and context window that fit, and the sums behind it."""

    device: Device
    quantization: str
    num_ctx: int
    weights_bytes: int
    kv_bytes: int
    need_bytes: int
    budget_bytes: int


def parse_meminfo(text: str) -> Memory | None:
    """RAM from the text of Linux's /proc/meminfo (kB values); None without MemTotal."""
    values = {
        name: int(number) * 1024 for name, number in re.findall(r"^(\w+):\s+(\d+)\s*kB", text, flags=re.MULTILINE)
    }
    if "MemTotal" not in values:
        return None
    return Memory(total_bytes=values["MemTotal"], available_bytes=values.get("MemAvailable", values.get("MemFree", 0)))


def read_memory(meminfo: Path = MEMINFO) -> Memory | None:
    """This machine's RAM: /proc/meminfo, else `os.sysconf`; None where neither answers."""
    try:
        memory = parse_meminfo(meminfo.read_text())
    except OSError:
        memory = None
    if memory is not None:
        return memory
    try:
        page = os.sysconf("SC_PAGE_SIZE")
        total, available = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_AVPHYS_PAGES")
        return Memory(total_bytes=page * total, available_bytes=page * available)
    except (AttributeError, ValueError, OSError):  # not on this platform
        return None


def parse_nvidia_smi(text: str) -> list[Gpu]:
    """GPUs from `nvidia-smi --query-gpu=name,memory.total,memory.used --format=csv,noheader,nounits` (MiB).

    Raises:
        ValueError: a line that is not `name, total, used`.
    """
    gpus = []
    for line in text.splitlines():
        if not line.strip():
            continue
        parts = [part.strip() for part in line.rsplit(",", 2)]
        if len(parts) != 3:
            raise ValueError(f"not `name, total, used`: {line!r}")
        name, total, used = parts
        gpus.append(Gpu(name=name, total_bytes=int(float(total) * MIB), used_bytes=int(float(used) * MIB)))
    return gpus


def query_gpus(executable: str, timeout: float = 5.0) -> list[Gpu]:
    """The NVIDIA GPUs `executable` (nvidia-smi) reports.

    Raises:
        UnavailableError: it failed, timed out, or printed something else.
    """
    try:
        command = [executable, *NVIDIA_SMI_ARGS]
        result = subprocess.run(command, check=False, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise UnavailableError(f"nvidia-smi did not answer within {timeout:g} s") from None
    except OSError as exc:
        raise UnavailableError(f"cannot run nvidia-smi: {exc.strerror or exc}") from None
    if result.returncode != 0:
        said = (result.stderr or result.stdout).strip().splitlines()
        raise UnavailableError(f"nvidia-smi failed (exit {result.returncode}): {said[0] if said else 'no output'}")
    try:
        gpus = parse_nvidia_smi(result.stdout)
    except ValueError:
        raise UnavailableError(f"nvidia-smi printed something unexpected: {result.stdout.strip()[:80]!r}") from None
    if not gpus:
        raise UnavailableError("nvidia-smi lists no GPU")
    return gpus


def parameter_count(size: str) -> float | None:
    """Parameters from Ollama's `parameter_size` or a tag: "3.2B", "270M", "8x7b"; None otherwise."""
    match = re.fullmatch(r"(?:(\d+)x)?(\d+(?:\.\d+)?)\s*([bBmM])", size.strip())
    if match is None:
        return None
    experts, number, unit = match.groups()
    return float(number) * (1e9 if unit in "bB" else 1e6) * (int(experts) if experts else 1)


def kv_bytes_per_token(info: ModelInfo | None, parameters: float) -> int:
    """KV-cache bytes per token of context: from the model's shape, else by its size."""
    if info is not None and info.layers and info.kv_heads and info.head_dim:
        return 2 * info.layers * info.kv_heads * info.head_dim * 2
    mib = next(mib for billions, mib in KV_MIB_PER_1K_TOKENS if parameters <= billions * 1e9)
    return mib * MIB // 1024


def facts_from_info(info: ModelInfo) -> ModelFacts | None:
    """Facts from what Ollama's /api/show told; None without a parameter count."""
    parameters = float(info.parameter_count or 0) or parameter_count(info.parameter_size or "")
    if not parameters:
        return None
    return ModelFacts(
        name=info.name,
        parameters=parameters,
        quantization=(info.quantization or DEFAULT_QUANTIZATION).upper(),
        kv_bytes_per_token=kv_bytes_per_token(info, parameters),
        context_length=info.context_length,
        source="ollama",
    )


def facts_from_name(name: str) -> ModelFacts | None:
    """Facts guessed from a model's name: a size in its tag or name ("qwen2.5:7b"), else the size of
    the library's default tag (`DEFAULT_SIZES`); the quantisation in its tag, else Q4_K_M."""
    model = name.removeprefix("ollama:")
    base, _, tag = model.partition(":")
    parameters = None
    for part in re.split(r"[-_:/]", f"{tag}-{base.rsplit('/', 1)[-1]}"):
        parameters = parameters or parameter_count(part)
    parameters = parameters or DEFAULT_SIZES.get(base.rsplit("/", 1)[-1].lower(), 0) * 1e9
    if not parameters:
        return None
    quantization = re.search(r"(?i)q\d_k_[sml]|q\d_k|q\d_\d|bf16|fp16|f16", tag)
    found = quantization.group(0).upper().replace("FP16", "F16") if quantization else DEFAULT_QUANTIZATION
    return ModelFacts(
        name=name,
        parameters=parameters,
        quantization=found,
        kv_bytes_per_token=kv_bytes_per_token(None, parameters),
        source="name",
    )


def weights_bytes(parameters: float, quantization: str) -> int:
    """Bytes of the weights at `quantization` (an unknown one counts as Q4_K_M)."""
    return int(parameters * BYTES_PER_PARAMETER.get(quantization, BYTES_PER_PARAMETER[DEFAULT_QUANTIZATION]))


def recommend(facts: ModelFacts, *, vram_bytes: int | None, ram_bytes: int | None) -> Fit | None:
    """The largest context window and the best quantisation that fit on the GPUs, else on the CPU;
    None when nothing fits even at the smallest quantisation and 2048 tokens."""
    devices: tuple[tuple[Device, int | None], ...] = (("gpu", vram_bytes), ("cpu", ram_bytes))
    for device, memory in devices:
        if not memory:
            continue
        budget = int(memory * HEADROOM)
        for quantization in _quantizations(facts.quantization):
            fit = _largest_context(facts, quantization, budget, device)
            if fit is not None:
                return fit
    return None


def smallest_need(facts: ModelFacts) -> int:
    """Bytes needed at the smallest quantisation and 2048 tokens (before headroom)."""
    return weights_bytes(facts.parameters, LADDER[-1]) + facts.kv_bytes_per_token * CONTEXTS[0] + OVERHEAD_BYTES


def _quantizations(own: str) -> list[str]:
    """The model's own quantisation, then the smaller ones of the ladder."""
    size = BYTES_PER_PARAMETER.get(own)
    if size is None:
        own, size = DEFAULT_QUANTIZATION, BYTES_PER_PARAMETER[DEFAULT_QUANTIZATION]
    return [own] + [step for step in LADDER if BYTES_PER_PARAMETER[step] < size]


def _largest_context(facts: ModelFacts, quantization: str, budget: int, device: Device) -> Fit | None:
    limit = facts.context_length or CONTEXTS[-1]
    contexts = [size for size in CONTEXTS if size <= limit] or [limit]
    weights = weights_bytes(facts.parameters, quantization)
    for num_ctx in reversed(contexts):
        kv = facts.kv_bytes_per_token * num_ctx
        need = weights + kv + OVERHEAD_BYTES
        if need <= budget:
            return Fit(
                device=device, quantization=quantization, num_ctx=num_ctx, weights_bytes=weights, kv_bytes=kv,
                need_bytes=need, budget_bytes=budget,
            )  # fmt: skip
    return None


def gib(size: float) -> str:
    """Bytes as GiB with one decimal: 1.8 GiB."""
    return f"{size / GIB:.1f} GiB"
