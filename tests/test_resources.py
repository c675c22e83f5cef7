"""Memory and model fit (`gazette doctor`): the estimator on fixed inputs, a real (fake) nvidia-smi
process found on PATH, and the fake Ollama server telling a model's shape."""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gazette.app import Gazette
from gazette.cli import main
from gazette.errors import UnavailableError
from gazette.providers import ModelInfo
from gazette.settings import load_settings
from gazette.system import Doctor
from gazette.system.resources import (
    GIB,
    MIB,
    OVERHEAD_BYTES,
    Fit,
    Gpu,
    Memory,
    ModelFacts,
    facts_from_info,
    facts_from_name,
    kv_bytes_per_token,
    parameter_count,
    parse_meminfo,
    parse_nvidia_smi,
    query_gpus,
    recommend,
    smallest_need,
)
from tests.model_servers import ModelServer

LLAMA32 = ModelFacts(
    name="llama3.2",
    parameters=3212749888,
    quantization="Q4_K_M",
    kv_bytes_per_token=2 * 28 * 8 * 128 * 2,  # 112 KiB: 28 layers, 8 KV heads of 128
    context_length=131072,
    source="ollama",
)
LLAMA32_WEIGHTS = int(3212749888 * 0.61)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    try:
        main(list(args))
        code = 0
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    out = capsys.readouterr().out
    return code, {check["name"]: check for check in json.loads(out)["checks"]}


# --------------------------------------------------------------------------- reading the machine


def test_meminfo_gives_total_and_available_ram() -> None:
    text = "MemTotal:       16318412 kB\nMemFree:         1021460 kB\nMemAvailable:    9876544 kB\nHugePages_Total: 0\n"
    assert parse_meminfo(text) == Memory(total_bytes=16318412 * 1024, available_bytes=9876544 * 1024)
    assert parse_meminfo("MemTotal: 2048 kB\nMemFree: 1024 kB\n") == Memory(
        total_bytes=2048 * 1024, available_bytes=1024 * 1024
    )
    assert parse_meminfo("nothing here") is None


def test_nvidia_smi_csv_gives_each_gpu_in_bytes() -> None:
    text = "NVIDIA GeForce RTX 3070, 8192, 1024\nNVIDIA RTX A2000, Ada, 12282, 0\n\n"
    assert parse_nvidia_smi(text) == [
        Gpu(name="NVIDIA GeForce RTX 3070", total_bytes=8 * GIB, used_bytes=GIB),
        Gpu(name="NVIDIA RTX A2000, Ada", total_bytes=12282 * MIB, used_bytes=0),
    ]
    with pytest.raises(ValueError, match="not `name, total, used`"):
        parse_nvidia_smi("Failed to initialize NVML: Driver/library version mismatch")


def fake_nvidia_smi(directory: Path, script: str) -> Path:
    """A real executable printing what nvidia-smi would: the tests run it as a process."""
    directory.mkdir(exist_ok=True)
    path = directory / "nvidia-smi"
    path.write_text("#!/bin/sh\n" + script + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ("echo 'NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver.'; exit 9",
         "nvidia-smi failed (exit 9): NVIDIA-SMI has failed"),
        ("echo 'No devices were found'", "nvidia-smi printed something unexpected: 'No devices were found'"),
        ("exit 0", "nvidia-smi lists no GPU"),
        ("exec sleep 5", "nvidia-smi did not answer within 0.3 s"),
    ],
)  # fmt: skip
def test_a_failing_nvidia_smi_is_one_unavailable_error(tmp_path: Path, script: str, message: str) -> None:
    executable = fake_nvidia_smi(tmp_path / "bin", script)
    with pytest.raises(UnavailableError, match=re.escape(message)):
        query_gpus(str(executable), timeout=0.3)


# --------------------------------------------------------------------------- what a model needs


@pytest.mark.parametrize(
    ("size", "parameters"),
    [("3.2B", 3.2e9), ("270M", 2.7e8), ("8x7b", 56e9), ("70b", 70e9), ("latest", None), ("3.2", None)],
)
def test_parameter_sizes_are_read_as_ollama_writes_them(size: str, parameters: float | None) -> None:
    assert parameter_count(size) == parameters


@pytest.mark.parametrize(
    ("name", "parameters", "quantization"),
    [
        ("llama3.2", 3.2e9, "Q4_K_M"),  # the library's default tag
        ("ollama:llama3.2:latest", 3.2e9, "Q4_K_M"),
        ("qwen2.5:7b", 7e9, "Q4_K_M"),
        ("llama3.2:1b-instruct-q8_0", 1e9, "Q8_0"),
        ("phi3:3.8b-mini-128k-instruct-fp16", 3.8e9, "F16"),
        ("hf.co/bartowski/Llama-3.2-3B-Instruct-GGUF:Q5_K_M", 3e9, "Q5_K_M"),
        ("smollm2:135m", 1.35e8, "Q4_K_M"),
    ],
)
def test_a_models_size_and_quantisation_are_guessed_from_its_name(
    name: str, parameters: float, quantization: str
) -> None:
    facts = facts_from_name(name)
    assert facts is not None
    assert (facts.parameters, facts.quantization, facts.source) == (parameters, quantization, "name")


def test_a_name_without_a_size_gives_no_guess() -> None:
    assert facts_from_name("my-assistant") is None


def test_the_kv_cache_comes_from_the_models_shape_else_its_size() -> None:
    shaped = ModelInfo(name="llama3.2", provider="ollama", layers=28, kv_heads=8, head_dim=128)
    assert kv_bytes_per_token(shaped, 3.2e9) == 114688
    assert kv_bytes_per_token(None, 1.2e9) == 32 * 1024  # 32 MiB per 1024 tokens
    assert kv_bytes_per_token(None, 3.2e9) == 112 * 1024
    assert kv_bytes_per_token(None, 8e9) == 128 * 1024
    assert kv_bytes_per_token(None, 70e9) == 320 * 1024


def test_facts_from_ollama_use_its_parameter_count_quantisation_and_shape() -> None:
    info = ModelInfo(
        name="llama3.2:latest", provider="ollama", parameter_size="3.2B", quantization="Q4_K_M",
        context_length=131072, parameter_count=3212749888, layers=28, kv_heads=8, head_dim=128,
    )  # fmt: skip
    assert facts_from_info(info) == LLAMA32.model_copy(update={"name": "llama3.2:latest"})
    assert facts_from_info(ModelInfo(name="x", provider="ollama")) is None


def fit(device: str, quantization: str, num_ctx: int, weights: int, budget_of: int) -> Fit:
    kv = LLAMA32.kv_bytes_per_token * num_ctx
    return Fit.model_validate(
        {
            "device": device, "quantization": quantization, "num_ctx": num_ctx, "weights_bytes": weights,
            "kv_bytes": kv, "need_bytes": weights + kv + OVERHEAD_BYTES, "budget_bytes": int(budget_of * 0.9),
        }
    )  # fmt: skip


@pytest.mark.parametrize(
    ("vram", "ram", "expected"),
    [
        # 8 GB card: 1.8 GiB of weights leave room for 32k tokens of KV cache (3.5 GiB).
        (8 * GIB, 16 * GIB, fit("gpu", "Q4_K_M", 32768, LLAMA32_WEIGHTS, 8 * GIB)),
        (4 * GIB, 16 * GIB, fit("gpu", "Q4_K_M", 8192, LLAMA32_WEIGHTS, 4 * GIB)),
        # 2.5 GiB: Q4_K_M does not fit even at 2048 tokens; Q3_K_M does.
        (int(2.5 * GIB), 16 * GIB, fit("gpu", "Q3_K_M", 2048, int(3212749888 * 0.50), int(2.5 * GIB))),
        # 2 GiB: not even Q2_K fits the GPU, so the CPU with the model's own Q4_K_M.
        (2 * GIB, 16 * GIB, fit("cpu", "Q4_K_M", 32768, LLAMA32_WEIGHTS, 16 * GIB)),
        (None, 4 * GIB, fit("cpu", "Q4_K_M", 8192, LLAMA32_WEIGHTS, 4 * GIB)),
        (None, GIB, None),
    ],
)
def test_the_recommendation_is_the_largest_context_and_best_quantisation_that_fit(
    vram: int | None, ram: int, expected: Fit | None
) -> None:
    assert recommend(LLAMA32, vram_bytes=vram, ram_bytes=ram) == expected


def test_the_recommendation_keeps_within_the_models_own_context_length() -> None:
    short = LLAMA32.model_copy(update={"context_length": 4096})
    chosen = recommend(short, vram_bytes=80 * GIB, ram_bytes=None)
    assert chosen is not None
    assert chosen.num_ctx == 4096


def test_a_model_too_large_for_the_machine_gets_no_recommendation() -> None:
    facts = facts_from_name("llama3.1:70b")
    assert facts is not None
    assert recommend(facts, vram_bytes=8 * GIB, ram_bytes=16 * GIB) is None
    assert smallest_need(facts) == int(70e9 * 0.40) + 320 * 1024 * 2048 + OVERHEAD_BYTES


# --------------------------------------------------------------------------- gazette doctor


@pytest.fixture
def ollama() -> Iterator[ModelServer]:
    server = ModelServer("ollama").listen()
    yield server
    server.stop()


@pytest.fixture
def no_gpu(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """PATH without nvidia-smi, whatever this machine has."""
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))


def with_gpu(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, script: str) -> None:
    bin_dir = fake_nvidia_smi(tmp_path / "bin", script).parent
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")


@pytest.mark.usefixtures("no_gpu")
def test_doctor_always_reports_ram_and_no_vram_without_nvidia_smi(capsys: pytest.CaptureFixture[str]) -> None:
    code, checks = run(capsys, "doctor", "--json")
    assert code == 0
    assert checks["ram"]["status"] in ("ok", "warn")
    assert re.match(r"\d+\.\d GiB total, \d+\.\d GiB available", checks["ram"]["detail"])
    assert "vram" not in checks
    assert checks["model_fit"] == {
        "name": "model_fit",
        "status": "skip",
        "detail": "no model to size: `gazette doctor --model llama3.2`, or set models.default",
        "required": False,
    }


def test_doctor_reports_vram_and_sizes_the_model_ollama_describes(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, ollama: ModelServer
) -> None:
    with_gpu(monkeypatch, tmp_path, "echo 'NVIDIA GeForce RTX 3070, 8192, 1024'")
    monkeypatch.setenv("GAZETTE_PROVIDERS__OLLAMA__URL", ollama.url)
    code, checks = run(capsys, "doctor", "--model", "llama3.2", "--json")
    assert code == 0
    assert checks["vram"] == {
        "name": "vram",
        "status": "ok",
        "detail": "NVIDIA GeForce RTX 3070: 8.0 GiB, 1.0 GiB used",
        "required": False,
    }
    assert checks["model_fit"]["status"] == "ok"
    assert checks["model_fit"]["detail"] == (
        "llama3.2 (3.2B parameters, Q4_K_M, as Ollama reports it): use num_ctx 32768 and its Q4_K_M "
        "(`gazette training modelfile --num-ctx 32768`); weights 1.8 GiB + KV cache 3.5 GiB + 0.5 GiB working "
        "memory of 7.2 GiB usable VRAM"
    )
    assert [seen.path for seen in ollama.seen][-1] == "/api/show"


def test_doctor_sizes_models_default_on_a_small_card(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, ollama: ModelServer
) -> None:
    with_gpu(monkeypatch, tmp_path, "echo 'NVIDIA GeForce GTX 1650, 4096, 300'")
    monkeypatch.setenv("GAZETTE_PROVIDERS__OLLAMA__URL", ollama.url)
    monkeypatch.setenv("GAZETTE_MODELS__ROUTES", json.dumps({"llama": "ollama:llama3.2"}))
    monkeypatch.setenv("GAZETTE_MODELS__DEFAULT", "llama")
    _, checks = run(capsys, "doctor", "--json")
    assert "use num_ctx 8192 and its Q4_K_M" in checks["model_fit"]["detail"]


def test_doctor_guesses_from_the_name_when_ollama_does_not_answer_and_warns_when_it_needs_the_cpu(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with_gpu(monkeypatch, tmp_path, "echo 'NVIDIA GeForce GTX 1650, 4096, 300'")
    meminfo = tmp_path / "meminfo"
    meminfo.write_text(f"MemTotal: {32 * 1024 * 1024} kB\nMemAvailable: {16 * 1024 * 1024} kB\n")
    loaded = load_settings(providers={"ollama": {"url": "http://127.0.0.1:1"}, "retry_backoff_seconds": []})
    gz = Gazette(loaded.settings, loaded=loaded)
    checks = {check.name: check for check in Doctor(gz, meminfo=meminfo).run("qwen2.5:14b").checks}
    gz.close()
    assert checks["ram"].detail == "32.0 GiB total, 16.0 GiB available"
    assert checks["model_fit"].status == "warn"  # advice, never a failure
    assert checks["model_fit"].detail == (
        "too large for the GPU, runs on the CPU (slower): qwen2.5:14b (14.0B parameters, Q4_K_M, "
        "estimated from its name; Ollama did not answer): use num_ctx 16384 and its Q4_K_M "
        "(`gazette training modelfile --num-ctx 16384`); weights 8.0 GiB + KV cache 3.0 GiB + 0.5 GiB working "
        "memory of 14.4 GiB usable RAM available"
    )


@pytest.mark.usefixtures("no_gpu")
@pytest.mark.parametrize(
    ("model", "status", "detail"),
    [
        (
            "llama3.1:70b",
            "warn",
            "llama3.1:70b (70.0B parameters, Q4_K_M, estimated from its name; Ollama did not answer) does not fit: "
            "it needs about 27.2 GiB even at Q2_K with num_ctx 2048; pick a smaller model",
        ),
        (
            "big",  # a route: the guess is made from the model it leads to
            "ok",
            "big (8.0B parameters, Q8_0, estimated from its name; Ollama did not answer): use num_ctx 16384 and its "
            "Q8_0 (`gazette training modelfile --num-ctx 16384`); weights 7.9 GiB + KV cache 2.0 GiB + 0.5 GiB "
            "working memory of 10.8 GiB usable RAM available",
        ),
        (
            "my-assistant",
            "warn",
            "my-assistant: cannot tell its size (estimated from its name; Ollama did not answer); "
            "name one with a size, e.g. qwen2.5:7b",
        ),
    ],
)
def test_doctor_sizes_a_model_on_the_cpu_from_its_name(tmp_path: Path, model: str, status: str, detail: str) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text(f"MemTotal: {16 * 1024 * 1024} kB\nMemAvailable: {12 * 1024 * 1024} kB\n")
    loaded = load_settings(
        providers={"ollama": {"url": "http://127.0.0.1:1"}, "retry_backoff_seconds": []},
        models={"routes": {"big": "ollama:llama3.1:8b-instruct-q8_0"}},
    )
    gz = Gazette(loaded.settings, loaded=loaded)
    checks = {check.name: check for check in Doctor(gz, meminfo=meminfo).run(model).checks}
    gz.close()
    assert (checks["model_fit"].status, checks["model_fit"].detail) == (status, detail)


@pytest.mark.usefixtures("no_gpu")
def test_doctor_does_not_size_a_hosted_model(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GAZETTE_MODELS__ROUTES", json.dumps({"claude": "anthropic:claude-sonnet-4-5"}))
    _, checks = run(capsys, "doctor", "--model", "claude", "--json")
    assert checks["model_fit"]["status"] == "skip"
    assert checks["model_fit"]["detail"] == "claude runs at anthropic: nothing to load on this machine"


def test_a_broken_nvidia_smi_is_a_warning_not_a_failure(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with_gpu(monkeypatch, tmp_path, "echo 'Failed to initialize NVML: Driver/library version mismatch' >&2; exit 18")
    code, checks = run(capsys, "doctor", "--json")
    assert code == 0
    assert checks["vram"]["status"] == "warn"
    assert checks["vram"]["detail"] == (
        "nvidia-smi failed (exit 18): Failed to initialize NVML: Driver/library version mismatch: VRAM unknown"
    )
