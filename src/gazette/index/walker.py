"""Walk a repository root: honour .gitignore and .gazetteignore, skip what is not worth indexing,
and count every skip by reason (never silently)."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

IGNORE_FILES = (".gitignore", ".gazetteignore")
VENDORED_DIRS = frozenset(
    {
        "node_modules",
        "vendor",
        "third_party",
        "bower_components",
        "Pods",
        ".venv",
        "venv",
        "site-packages",
        ".git",
        ".hg",
        ".svn",
    }
)
GENERATED_DIRS = frozenset(
    {
        "__pycache__",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".tox",
        "dist",
        "build",
        "target",
        ".next",
        ".nuxt",
        "coverage",
        "htmlcov",
        ".gradle",
        ".idea",
        ".vscode",
        ".eggs",
    }
)
GENERATED_NAMES = frozenset(
    {
        "package-lock.json",
        "yarn.lock",
        "pnpm-lock.yaml",
        "poetry.lock",
        "uv.lock",
        "Cargo.lock",
        "Gemfile.lock",
        "composer.lock",
        "go.sum",
    }
)
GENERATED_SUFFIXES = (".min.js", ".min.css", ".map", ".pyc", ".pyo", ".lock")
BINARY_SUFFIXES = frozenset(
    {
        ".png",
        ".jpg",
        ".jpeg",
        ".gif",
        ".bmp",
        ".ico",
        ".webp",
        ".svgz",
        ".zip",
        ".gz",
        ".tgz",
        ".bz2",
        ".xz",
        ".7z",
        ".tar",
        ".rar",
        ".jar",
        ".war",
        ".class",
        ".so",
        ".dll",
        ".dylib",
        ".exe",
        ".bin",
        ".o",
        ".a",
        ".whl",
        ".woff",
        ".woff2",
        ".ttf",
        ".otf",
        ".eot",
        ".mp3",
        ".mp4",
        ".mov",
        ".avi",
        ".wav",
        ".flac",
        ".ogg",
        ".db",
        ".sqlite",
        ".sqlite3",
        ".parquet",
        ".npy",
        ".npz",
        ".pkl",
        ".pt",
        ".onnx",
        ".gguf",
        ".safetensors",
    }
)


@dataclass(frozen=True)
class Candidate:
    path: str  # relative to the root, "/"-separated
    absolute: Path
    size: int
    mtime: float


@dataclass
class Walk:
    files: list[Candidate] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def skip(self, reason: str, path: str) -> None:
        self.skipped[reason] += 1
        examples = self.examples.setdefault(reason, [])
        if len(examples) < 5:
            examples.append(path)


def walk(root: Path, *, max_bytes: int) -> Walk:
    """Every file under `root` worth indexing, and a count of the rest by reason."""
    result = Walk()
    root = root.resolve()
    specs: dict[str, pathspec.GitIgnoreSpec] = {}
    for directory, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(directory)
        relative_dir = here.relative_to(root).as_posix()
        prefix = "" if relative_dir == "." else relative_dir + "/"
        spec = _load_spec(here, filenames)
        if spec is not None:
            specs[prefix] = spec
        kept = []
        for name in sorted(dirnames):
            rel = prefix + name
            if name in VENDORED_DIRS:
                result.skip("vendored directory", rel + "/")
            elif name in GENERATED_DIRS:
                result.skip("generated directory", rel + "/")
            elif (here / name).is_symlink():
                result.skip("symlinked directory", rel + "/")
            elif _ignored(specs, rel + "/"):
                result.skip("ignored directory", rel + "/")
            else:
                kept.append(name)
        dirnames[:] = kept
        for name in sorted(filenames):
            rel = prefix + name
            absolute = here / name
            reason = _skip_reason(name, rel, specs)
            if reason is None:
                try:
                    if absolute.is_symlink() and not _inside(absolute.resolve(), root):
                        reason = "symlink outside the root"
                    else:
                        stat = absolute.stat()
                        if stat.st_size > max_bytes:
                            reason = "too large"
                        else:
                            result.files.append(Candidate(rel, absolute, stat.st_size, stat.st_mtime))
                except OSError:
                    reason = "unreadable"
            if reason is not None:
                result.skip(reason, rel)
    return result


def _skip_reason(name: str, rel: str, specs: dict[str, pathspec.GitIgnoreSpec]) -> str | None:
    lower = name.lower()
    if name in IGNORE_FILES:
        return "ignore file"
    if _ignored(specs, rel):
        return "ignored"
    if name in GENERATED_NAMES or lower.endswith(GENERATED_SUFFIXES):
        return "generated"
    dot = lower.rfind(".")
    if dot > 0 and lower[dot:] in BINARY_SUFFIXES:
        return "binary"
    return None


def _ignored(specs: dict[str, pathspec.GitIgnoreSpec], rel: str) -> bool:
    """Apply every ignore file from the root down to the path's directory, each relative to its own directory."""
    ignored = False
    for prefix, spec in specs.items():
        if rel.startswith(prefix):
            relative = rel[len(prefix) :]
            result = spec.check_file(relative)
            if result.include is not None:
                ignored = result.include
    return ignored


def _load_spec(directory: Path, filenames: list[str]) -> pathspec.GitIgnoreSpec | None:
    lines: list[str] = []
    for name in IGNORE_FILES:
        if name in filenames:
            try:
                lines.extend((directory / name).read_text(errors="replace").splitlines())
            except OSError:
                continue
    return pathspec.GitIgnoreSpec.from_lines(lines) if lines else None


def _inside(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
    except ValueError:
        return False
    return True
