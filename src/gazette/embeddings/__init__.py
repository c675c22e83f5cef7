"""Embedding providers for hybrid search."""

from gazette.embeddings.providers import Embedder, load_embedder

__all__ = ["Embedder", "load_embedder"]
