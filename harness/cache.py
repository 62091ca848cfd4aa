"""A content-addressed cache for things that are expensive to make and fixed by a recipe.

Trained models are the main use: the key hashes the training recipe (data
fingerprint, architecture, hyper-parameters, seed, library versions), so a
changed recipe trains anew and an unchanged one is loaded. Writes are atomic
(temp file, then rename), so a killed run never leaves half a file behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

CACHE_ENV = "RELIABENCH_CACHE"
_sealed = False  # set in a cell's process once method code may run there: from then on, nothing is written


def seal() -> None:
    """Make the cache read-only in this process: artifacts are still built and loaded, never saved.

    A cell's process seals it before any method code runs, so a method that
    monkeypatches torch cannot write a corrupted model that later cells would load.
    """
    global _sealed
    _sealed = True


def cache_dir() -> Path:
    """``$RELIABENCH_CACHE``, else ``~/.cache/reliabench``."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "reliabench")


def recipe_key(recipe: Mapping[str, Any]) -> str:
    text = json.dumps(recipe, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def settings_version(settings: object, major: int = 1) -> str:
    """A version that changes whenever ``settings`` (a dataclass, a recipe) do: major number + hash of their repr.

    Built-in plugins version their models and methods with it, so editing a setting re-runs exactly its cells.
    """
    return f"{major}-{recipe_key({'settings': repr(settings)})[:8]}"


def _atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def cached(
    namespace: str,
    recipe: Mapping[str, Any],
    build: Callable[[], Any],
    save: Callable[[Any, Path], None],
    load: Callable[[Path], Any],
) -> tuple[Any, dict[str, Any]]:
    """Load the artifact made by ``recipe``, or ``build`` and store it; return it with its metadata.

    The metadata file holds the recipe itself plus whatever ``build`` returned as
    the second item of a ``(artifact, info)`` pair, so provenance travels with it.
    """
    key = recipe_key(recipe)
    folder = cache_dir() / namespace
    artifact_path, meta_path = folder / f"{key}.bin", folder / f"{key}.json"
    if artifact_path.exists() and meta_path.exists():
        return load(artifact_path), json.loads(meta_path.read_text())
    artifact, info = build()
    meta = {"key": key, "recipe": dict(recipe), **info}
    if _sealed:
        return artifact, meta
    _atomic_write(artifact_path, lambda p: save(artifact, p))
    _atomic_write(meta_path, lambda p: p.write_text(json.dumps(meta, indent=1, sort_keys=True, default=str)))
    return artifact, meta
