"""Files only their owner may read: the admin token, the vault key file."""

from __future__ import annotations

import os
from pathlib import Path


def write_private_file(path: Path, content: str) -> None:
    """Write `content` readable by its owner only (0600), replacing any older file atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.unlink(missing_ok=True)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(content if content.endswith("\n") else content + "\n")
    os.replace(temporary, path)
