"""What the Hugging Face adapters share: reading models from disk only, naming their weights, their env variables.

Models are only ever read from disk (``local_files_only=True``): a folder, or a hub id
whose revision is already in the local Hugging Face cache; nothing is set globally.
``transformers`` is imported only when it is needed, so an adapter costs nothing to
users who do not use it.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Container, Iterator
from pathlib import Path
from types import ModuleType

from harness.errors import UsageError
from harness.registry import InvalidSpec, check_slug

HASHED_WHOLE = 64 * 2**20  # files up to this size (configs, tokenizers, templates) are hashed by content
SAMPLED = 2**20  # of a larger file, its first and last MiB are hashed
HUB_ID = re.compile(r"[\w.-]+/[\w.-]+")


def import_transformers(missing: str) -> ModuleType:
    """``transformers``, or a :class:`UsageError` with ``missing`` (what needs it, and the pip command)."""
    try:
        import transformers
    except ImportError:
        raise UsageError(missing) from None
    return transformers


def resolve_source(source: str | Path, revision: str | None = None) -> Path:
    """The local folder of a model: ``source`` itself, or a hub id's snapshot in the local HF cache (no download)."""
    path = Path(source).expanduser()
    if not path.exists() and isinstance(source, str) and HUB_ID.fullmatch(source):
        from huggingface_hub import snapshot_download
        from huggingface_hub.utils import HFValidationError, LocalEntryNotFoundError

        try:
            path = Path(snapshot_download(source, revision=revision, local_files_only=True))
        except (LocalEntryNotFoundError, HFValidationError, OSError):
            if revision is None:
                raise UsageError(
                    f"no model at {source!r}: no such folder, and {source!r} is not in the local Hugging Face "
                    f"cache (download it first, e.g. `hf download {source}`; nothing is downloaded at run time)"
                ) from None
            raise UsageError(
                f"revision {revision!r} of {source!r} is not in the local Hugging Face cache (download it first, "
                f"e.g. `hf download {source} --revision {revision}`; nothing is downloaded at run time)"
            ) from None
    if not path.is_dir():
        raise UsageError(f"no model at {str(source)!r}: {'not a folder' if path.exists() else 'no such folder'}")
    if not (path / "config.json").is_file():
        raise UsageError(
            f"no model at {str(path)!r}: the folder has no config.json (save a model there with "
            "save_pretrained, or point at a Hugging Face model folder)"
        )
    return path


def weights_version(folder: Path, adapter_version: str) -> str:
    """A short hash naming these weights: small files by content, large ones (weights) by name, size, and their
    first and last MiB (the safetensors header and real weight values, so two fine-tunes of one base differ).

    Inside a Hugging Face cache the snapshot's commit leads the version; the adapter's
    version enters too, since changing how an adapter scores changes the results.
    """
    digest = hashlib.sha256(f"adapter {adapter_version}\n".encode())
    for path in sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")):
        size = path.stat().st_size
        digest.update(f"{path.name} {size}\n".encode())
        if size <= HASHED_WHOLE:
            digest.update(path.read_bytes())
        else:
            with path.open("rb") as handle:
                digest.update(handle.read(SAMPLED))
                handle.seek(size - SAMPLED)
                digest.update(handle.read(SAMPLED))
    commit = f"{folder.name[:12]}-" if folder.parent.name == "snapshots" else ""
    return commit + digest.hexdigest()[:16]


@contextlib.contextmanager
def no_progress_bars(transformers: ModuleType) -> Iterator[None]:
    """transformers' loading bars would break into the harness's own progress display."""
    shown = transformers.utils.logging.is_progress_bar_enabled()
    transformers.utils.logging.disable_progress_bar()
    try:
        yield
    finally:
        if shown:
            transformers.utils.logging.enable_progress_bar()


def dtype_argument(transformers: ModuleType) -> str:
    """``from_pretrained``'s precision keyword: ``dtype`` since transformers 4.56, ``torch_dtype`` before."""
    from packaging.version import Version

    return "dtype" if Version(transformers.__version__) >= Version("4.56") else "torch_dtype"


def entry_name(env: str, name: str, taken: Container[str]) -> str:
    """``name`` of an entry in the variable ``env`` if it is a slug not in ``taken``; else why not, naming ``env``."""
    try:
        check_slug("model", name)
    except InvalidSpec as exc:
        raise UsageError(f"{env}: {exc}") from None
    if name in taken:
        raise UsageError(f"{env}: model {name!r} is named twice")
    return name
