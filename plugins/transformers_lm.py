"""Pythia, or any ``transformers`` causal LM saved with checkpoints, as a checkpointed model family of the ptq suite.

Checkpoints are only ever read from disk (``local_files_only=True``; nothing is downloaded),
in one of two layouts:

- **a hub id in the local Hugging Face cache, one revision (branch) per checkpoint**, as
  Pythia publishes them: ``EleutherAI/pythia-160m`` at ``step1000`` … ``step143000``, fetched
  beforehand with ``hf download EleutherAI/pythia-160m --revision step1000``;
- **a local folder with one sub-folder per checkpoint**, each a ``save_pretrained`` folder
  named by its step: ``step1000`` (Pythia's naming) or ``checkpoint-1000`` (transformers'
  Trainer); any name of letters, ``-`` or ``_`` followed by the step number.

A checkpoint's step is the number that ends its revision's name. Without a list of
revisions, every one found locally whose name ends in a number is taken (the cache's
branches, or the folder's sub-folders). The tokenizer is the model's own: the folder's
(layout b) if it holds one, else the last checkpoint's.

**Held-out data.** The ``stdlib_text`` task's held-out Python sources, decoded as UTF-8 and
tokenized with that tokenizer, cut into ``windows`` windows of ``window + 1`` tokens at evenly
spaced starts (as the byte-level family does): a sample is one window, its NLL the mean over
its ``window`` next-token predictions. Calibration: windows of training tokens, about
``calibration_tokens`` in all.

**Logits.** The suite keeps every checkpoint's FP32 evaluation for the whole cell, and a
prediction's logits are a vocabulary wide (Pythia: 50,304 floats, 201 KB). So the logits of
all checkpoints together are held to ``logit_bytes`` (1 GiB): each evaluation returns the
logits of P = logit_bytes / (4 · vocab · checkpoints) predictions (all of them if fewer),
evenly spaced over the held-out windows, the same for every checkpoint. The suite's KL and
top-1 agreement are measured on those P (Pythia-160m: 37 of 8,192 over 143 checkpoints,
533 over 10); the NLL, gap and loss metrics use every prediction.

**Quantizable layers.** The suite's quantizers replace the weights of every ``nn.Linear``.
GPT-NeoX (Pythia), Llama, Mistral, OPT and most current architectures use ``nn.Linear``,
the output head included (GPT-NeoX's ``embed_out``, ``lm_head`` since transformers 5), so
the head is quantized too, as in the byte-level family. GPT-2 and other OpenAI-GPT-style
models use transformers' ``Conv1D``, a linear layer whose weight is stored transposed
(in, out), which the quantizers would skip; :meth:`TransformersLM.checkpoint` replaces each
with the equal ``nn.Linear``. Where the head is tied to the token embedding (GPT-2),
quantizing the head quantizes the embedding too.

**Seeds.** A pretrained family ignores the seed: every seed's cell is the same, so run it
with ``--seeds 0``.

Register a family from a plugin with :func:`transformers_lm`, or without code through
``RELIABENCH_CAUSAL_LMS`` (quote it: ``;`` separates families)::

    RELIABENCH_CAUSAL_LMS="pythia-160m=EleutherAI/pythia-160m@step1000,step2000,step143000" \\
        reliabench run --suite ptq --model pythia-160m --seeds 0
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib.util
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional

from harness import ModelSpec, hookimpl
from harness.errors import UsageError
from harness.quantization import quantized_layers
from plugins.transformers_local import (
    HUB_ID,
    dtype_argument,
    entry_name,
    import_transformers,
    no_progress_bars,
    resolve_source,
    weights_version,
)
from suites.ptq.contract import CheckpointedModel, Evaluation
from suites.shared.data import stdlib_text

ENV = "RELIABENCH_CAUSAL_LMS"
ENV_FORMAT = (
    f'{ENV}="name=source[@revision,revision...][;name=source...]" (source: a hub id in the local Hugging Face '
    f'cache or a folder of checkpoint sub-folders), e.g. {ENV}="pythia-160m=EleutherAI/pythia-160m@step1000,step2000"'
)
ADAPTER_VERSION = "1"  # enters every family's version: bump it when the held-out windows or scoring change
MISSING_TRANSFORMERS = "a Hugging Face causal LM in the ptq suite needs transformers: pip install transformers"
STEP = re.compile(r"[A-Za-z_-]*(\d+)")  # a revision's name: letters, '-' or '_', then its step
STEP_NAMING = "name checkpoints by their step, e.g. step1000 or checkpoint-1000"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "vocab.json")
BATCH_TOKENS = 1024  # tokens per forward pass; its logits take 4·vocab bytes each (Pythia: 206 MB), twice over


@dataclass(frozen=True)
class Settings:
    """What decides a family's held-out data and logits (so it enters the version)."""

    window: int = 256  # next-token predictions per held-out window
    windows: int = 32  # held-out windows (samples)
    calibration_tokens: int = 2048  # training tokens given to calibrated quantizers such as GPTQ
    logit_bytes: int = 2**30  # all checkpoints' FP32 logits together, which the suite keeps for a cell


class TransformersLM:
    """The :class:`~suites.ptq.contract.CheckpointedModel` protocol over local checkpoints of a causal LM."""

    def __init__(
        self, folders: dict[int, Path], tokenizer_folder: Path, settings: Settings, batch_tokens: int, info: dict
    ):
        self.transformers = import_transformers(MISSING_TRANSFORMERS)
        self.folders, self.settings, self.batch_tokens, self.info = folders, settings, batch_tokens, info
        self.steps = sorted(folders)
        self.tokenizer = _tokenizer(self.transformers, tokenizer_folder)
        context = getattr(
            self.transformers.AutoConfig.from_pretrained(folders[self.steps[-1]], local_files_only=True),
            "max_position_embeddings",
            None,
        )
        if context is not None and settings.window > context:
            raise UsageError(
                f"held-out windows of {settings.window} tokens are longer than the model's context ({context}): "
                "pass a smaller Settings(window=...) to transformers_lm"
            )
        held_out = _encode(self.tokenizer, "test")
        if len(held_out) <= settings.window:
            raise UsageError(
                f"the held-out text is {len(held_out)} tokens, too few for windows of {settings.window}: "
                "pass a smaller Settings(window=...) to transformers_lm"
            )
        starts = torch.linspace(0, len(held_out) - settings.window - 1, settings.windows).long()
        self.held_out = held_out[starts[:, None] + torch.arange(settings.window + 1)]
        self.calibration_windows: torch.Tensor | None = None
        self.info |= {"held_out_tokens": len(held_out), "tokenizer": str(tokenizer_folder)}

    def checkpoint(self, step: int) -> nn.Module:
        """A fresh FP32 model on CPU (where the suite's quantizers and calibration live), in eval mode,
        with any ``Conv1D`` replaced by the equal ``nn.Linear``."""
        folder = self.folders[step]
        with no_progress_bars(self.transformers):
            try:
                model = self.transformers.AutoModelForCausalLM.from_pretrained(
                    folder, local_files_only=True, **{dtype_argument(self.transformers): torch.float32}
                )
            except ValueError as exc:  # transformers' "Unrecognized configuration class ..."
                raise UsageError(
                    f"{folder} is not a causal LM transformers can load with AutoModelForCausalLM: "
                    f"{str(exc).splitlines()[0]}"
                ) from None
            except OSError as exc:
                raise UsageError(f"cannot load the model in {folder}: {exc}") from None
        _linear_conv1d(model)
        if not quantized_layers(model):
            raise UsageError(f"{folder}: the model has no nn.Linear layer: the suite's quantizers would change nothing")
        return model.eval()

    def evaluate(self, model: nn.Module) -> Evaluation:
        """Per-window mean NLL of every prediction, and the logits of the kept predictions (see the module)."""
        window = self.settings.window
        per_pass = max(1, self.batch_tokens // window)
        device = next(model.parameters()).device
        nll, logits_kept = [], []
        kept = None
        with torch.no_grad():
            for first in range(0, len(self.held_out), per_pass):
                rows = self.held_out[first : first + per_pass].to(device)
                logits = model(input_ids=rows[:, :-1], use_cache=False).logits.float().flatten(0, 1)
                if kept is None:
                    kept = self.kept_predictions(logits.shape[-1])
                losses = functional.cross_entropy(logits, rows[:, 1:].flatten(), reduction="none")
                nll.append(losses.view(len(rows), window).mean(dim=1).cpu())
                here = kept[(kept >= first * window) & (kept < (first + len(rows)) * window)] - first * window
                logits_kept.append(logits[here.to(device)].cpu())
        return Evaluation(torch.cat(nll), torch.cat(logits_kept))

    def kept_predictions(self, vocab: int) -> torch.Tensor:
        """Indices, in the (window, position) order, of the predictions whose logits :meth:`evaluate` returns."""
        total = len(self.held_out) * self.settings.window
        count = min(total, max(1, self.settings.logit_bytes // (4 * vocab * len(self.steps))))
        return torch.linspace(0, total - 1, count).round().long()

    def calibration(self) -> torch.Tensor:
        """Windows of training tokens (input ids), evenly spaced over the training split; the split (0.7 MB) is
        tokenized when first asked for."""
        if self.calibration_windows is None:
            train = _encode(self.tokenizer, "train")
            count = max(1, self.settings.calibration_tokens // self.settings.window)
            starts = torch.linspace(0, len(train) - self.settings.window, count).long()
            self.calibration_windows = train[starts[:, None] + torch.arange(self.settings.window)]
        return self.calibration_windows


def _encode(tokenizer: Any, split: str) -> torch.Tensor:
    """A split of the ``stdlib_text`` task's sources, decoded from its bytes, as the model's tokens."""
    text = bytes(stdlib_text()[split].to(torch.uint8).numpy()).decode("utf-8")
    return torch.tensor(tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])


def _tokenizer(transformers: Any, folder: Path) -> Any:
    with no_progress_bars(transformers):
        try:
            return transformers.AutoTokenizer.from_pretrained(folder, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise UsageError(f"cannot load a tokenizer from {folder}: {exc}") from None


def _linear_conv1d(model: nn.Module) -> None:
    """Replace transformers' ``Conv1D`` (GPT-2; weight (in, out)) by the equal ``nn.Linear`` (weight (out, in)),
    so quantizers find it and read its rows as output channels."""
    from transformers.pytorch_utils import Conv1D

    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, Conv1D):
                linear = nn.Linear(child.nx, child.nf)
                with torch.no_grad():
                    linear.weight.copy_(child.weight.T)
                    linear.bias.copy_(child.bias)
                setattr(parent, name, linear)


def step_of(revision: str) -> int:
    """The step a revision's name ends with (``step1000``, ``checkpoint-1000`` → 1000)."""
    match = STEP.fullmatch(revision)
    if match is None:
        raise UsageError(f"revision {revision!r} has no step number: {STEP_NAMING}")
    return int(match.group(1))


def cached_revisions(repo_id: str) -> list[str]:
    """The revisions of ``repo_id`` in the local Hugging Face cache whose names end in a step."""
    from huggingface_hub import constants
    from huggingface_hub.file_download import repo_folder_name

    refs = Path(constants.HF_HUB_CACHE) / repo_folder_name(repo_id=repo_id, repo_type="model") / "refs"
    found = sorted(p.name for p in refs.iterdir() if p.is_file() and STEP.fullmatch(p.name)) if refs.is_dir() else []
    if not found:
        raise UsageError(
            f"no revisions of {repo_id!r} named by step in the local Hugging Face cache ({refs.parent}): download "
            f"some first, e.g. `hf download {repo_id} --revision step1000`; nothing is downloaded at run time"
        )
    return found


def checkpoint_folders(source: str | Path, revisions: Sequence[str] = ()) -> dict[int, tuple[str, Path]]:
    """Each step's revision name and local folder, by step; without ``revisions``, every one found locally."""
    root = Path(source).expanduser()
    local = root.is_dir()
    if local:
        revisions = revisions or [p.name for p in root.iterdir() if p.is_dir() and STEP.fullmatch(p.name)]
        if not revisions:
            raise UsageError(
                f"no checkpoints in {str(root)!r}: expected one sub-folder per checkpoint saved with "
                f"save_pretrained; {STEP_NAMING}"
            )
    elif isinstance(source, str) and HUB_ID.fullmatch(source):
        revisions = revisions or cached_revisions(source)
    else:
        raise UsageError(f"no checkpoints at {str(source)!r}: no such folder, and not a Hugging Face hub id")
    found: dict[int, tuple[str, Path]] = {}
    for revision in revisions:
        step = step_of(revision)
        if step in found:
            raise UsageError(f"revisions {found[step][0]!r} and {revision!r} are both step {step}: list one of them")
        found[step] = (revision, resolve_source(root / revision) if local else resolve_source(source, revision))
    return dict(sorted(found.items()))


def tokenizer_folder(source: str | Path, last: Path) -> Path:
    """Where the model's tokenizer is: the checkpoints' parent folder if it holds one, else the ``last`` checkpoint."""
    root = Path(source).expanduser()
    candidates = (root, last) if root.is_dir() else (last,)
    for folder in candidates:
        if any((folder / name).is_file() for name in TOKENIZER_FILES):
            return folder
    raise UsageError(
        f"no tokenizer for {str(source)!r}: none of {', '.join(TOKENIZER_FILES)} in "
        f"{' or '.join(str(c) for c in candidates)}; save the model's tokenizer there with tokenizer.save_pretrained"
    )


@functools.cache  # a family holds its tokenizer and token windows; checkpoints load on demand
def load_family(
    source: str,
    checkpoints: tuple[tuple[int, str, Path], ...],
    tokenizer: Path,
    settings: Settings,
    batch_tokens: int = BATCH_TOKENS,
) -> TransformersLM:
    """The family over (step, revision, folder) ``checkpoints``; kept for its next cells in this process."""
    info = {"source": source, "revisions": [revision for _, revision, _ in checkpoints]}
    return TransformersLM({step: folder for step, _, folder in checkpoints}, tokenizer, settings, batch_tokens, info)


def _load(
    source: str, checkpoints: tuple, tokenizer: Path, settings: Settings, batch_tokens: int, *_: Any
) -> TransformersLM:
    """What the suite calls with (task data, seed): a pretrained family ignores both."""
    return load_family(source, checkpoints, tokenizer, settings, batch_tokens)


def transformers_lm(
    name: str,
    source: str | Path,
    revisions: Sequence[str] = (),
    *,
    settings: Settings | None = None,
    batch_tokens: int = BATCH_TOKENS,
    description: str = "",
) -> ModelSpec:
    """A :class:`ModelSpec` for the checkpoints of a causal LM: a hub id's revisions in the local HF cache, or a
    folder's step sub-folders (see the module). Fails at once, with what to do, when any is missing.

    Its version names every checkpoint's weights, the tokenizer and ``settings`` (default
    :class:`Settings`); ``batch_tokens``, the memory knob, changes no result, so it stays out.
    """
    if importlib.util.find_spec("transformers") is None:
        raise UsageError(MISSING_TRANSFORMERS)
    settings = settings or Settings()
    found = checkpoint_folders(source, revisions)
    tokenizer = tokenizer_folder(source, found[max(found)][1])
    digest = hashlib.sha256(repr(dataclasses.astuple(settings)).encode())
    for step, (_, folder) in found.items():
        digest.update(f"{step} {weights_version(folder, ADAPTER_VERSION)}\n".encode())
    if tokenizer not in {folder for _, folder in found.values()}:
        digest.update(f"tokenizer {weights_version(tokenizer, ADAPTER_VERSION)}\n".encode())
    checkpoints = tuple((step, revision, folder) for step, (revision, folder) in found.items())
    return ModelSpec(
        name,
        CheckpointedModel,
        f"{ADAPTER_VERSION}-{digest.hexdigest()[:16]}",
        functools.partial(_load, str(source), checkpoints, tokenizer, settings, batch_tokens),
        description=description
        or f"Hugging Face causal LM {source}, {len(found)} checkpoints (steps {min(found)}–{max(found)})",
        tasks=("stdlib_text",),
    )


def parse_causal_lms(raw: str) -> list[tuple[str, str, tuple[str, ...]]]:
    """``name=source[@rev,rev...][;...]`` as (name, source, revisions); a malformed entry names the variable and
    the format. A source is split from its revisions at its last ``@`` (hub ids have none)."""
    entries: list[tuple[str, str, tuple[str, ...]]] = []
    for entry in raw.split(";"):
        if not entry.strip():
            continue
        name, equals, rest = (part.strip() for part in entry.partition("="))
        source, at, listed = rest.rpartition("@") if "@" in rest else (rest, "", "")
        revisions = tuple(r.strip() for r in listed.split(",") if r.strip())
        if not equals or not name or not source.strip() or (at and not revisions):
            raise UsageError(f"{ENV}: {entry.strip()!r} is not name=source[@revision,...]; expected {ENV_FORMAT}")
        entries.append((entry_name(ENV, name, {n for n, _, _ in entries}), source.strip(), revisions))
    return entries


@hookimpl
def register_models(register: Callable[[ModelSpec], None]) -> None:
    """The families named in RELIABENCH_CAUSAL_LMS; one bad entry is reported without hiding the others."""
    problems = []
    for name, source, revisions in parse_causal_lms(os.environ.get(ENV, "")):
        try:
            register(transformers_lm(name, source, revisions))
        except UsageError as exc:
            problems.append(f"model {name!r}: {exc}")
    if problems:
        raise UsageError(f"{ENV}: " + "; ".join(problems))
