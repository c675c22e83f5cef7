"""The store: the only package that speaks SQL."""

from gazette.store.database import Store, Viewer
from gazette.store.engine import SQLITE_FILE_NAME, backend_of, store_url

__all__ = ["SQLITE_FILE_NAME", "Store", "Viewer", "backend_of", "store_url"]
