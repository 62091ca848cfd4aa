"""What made a run's numbers: code version, interpreter, libraries, plugins, host."""

from __future__ import annotations

import importlib.metadata
import platform
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.registry import Registry

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def package_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return ""


def git_sha(root: Path = PROJECT_ROOT) -> str:
    """The checkout's commit, with '-dirty' when it has uncommitted changes; '' outside git."""
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""
    return sha + ("-dirty" if dirty else "")


def collect(registry: Registry, argv: Sequence[str]) -> dict[str, Any]:
    return {
        "argv": list(argv),
        "git_sha": git_sha(),
        "python": platform.python_version(),
        "torch": package_version("torch"),
        "harness_version": package_version("reliabench"),
        "host": platform.node(),
        "plugins": [
            {"name": p.name, "package": p.package, "version": p.version, "loaded": p.loaded} for p in registry.plugins
        ],
    }
