"""Rank a local Hugging Face vision-language model (LLaVA-style) in the sycophancy suite.

The adapter never generates text. It renders each query's dialogue with the
processor's chat template (the picture in the first user turn), appends every
option as the assistant's reply, and scores it by the summed log-likelihood of the
option's tokens; a softmax over the options gives the probabilities the suite reads.
All (query, option) pairs go through the model in a few left-padded forward passes.

Models are only ever read from disk (``local_files_only=True``): a folder, or a hub
id already in the local Hugging Face cache. Register one from a plugin with
:func:`transformers_vlm`, or without code through ``RELIABENCH_VLMS``::

    RELIABENCH_VLMS=llava=/models/llava-1.5-7b reliabench run --suite sycophancy --model llava

``transformers`` is imported only when a model is loaded, so this built-in plugin
costs nothing to users who do not set the variable.
"""

from __future__ import annotations

import functools
import importlib.util
import inspect
import itertools
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from harness import ModelSpec, hookimpl
from harness.errors import UsageError
from plugins.transformers_local import (
    dtype_argument,
    entry_name,
    import_transformers,
    no_progress_bars,
    resolve_source,
    weights_version,
)
from suites.sycophancy.contract import VLM, Answers, Query, Turn

ENV = "RELIABENCH_VLMS"
ENV_FORMAT = f"{ENV}=name=path[,name=path...], e.g. {ENV}=llava=/models/llava-1.5-7b"
ADAPTER_VERSION = "1"  # enters every model's version: bump it when prompts or scoring change
MISSING_TRANSFORMERS = "ranking a Hugging Face VLM needs the transformers package: pip install transformers"
PLAIN_IMAGE_TOKEN = "<image>"
# An option's tokens are decided by the prompt's last BOUNDARY characters (tokenisers merge only locally):
# the prompts of one call share their ending, so each option text is tokenised once.
BOUNDARY = 64
BATCH_TOKENS = 4096  # padded tokens per forward pass; a 7B model's hidden states of every layer take ~1 GB (fp16)


@dataclass(frozen=True)
class Batch:
    """One padded forward pass: the model's keyword arguments, and where each row's option is.

    Rows are left-padded so every option ends at the last position; ``inputs`` holds
    exactly what a plain forward call gets (``position_ids`` skip the padding, and
    ``logits_to_keep``, when the model accepts it, limits the logits to the option's end).
    """

    inputs: dict[str, Any]
    rows: torch.Tensor  # each row's index in the flat (query, option) order
    option_lengths: torch.Tensor  # how many tokens each row's option takes at its end
    keep: int  # the last positions whose logits predict option tokens (the longest option + 1)


class TransformersVLM:
    """The :class:`~suites.sycophancy.contract.VLM` protocol over a ``transformers`` model and its processor.

    ``batch_tokens`` bounds one forward pass's padded tokens (rows × longest row), the memory knob: rows
    (query, option pairs) of similar length share a pass, as many as fit, at least one.
    """

    def __init__(self, model: Any, processor: Any, batch_tokens: int = BATCH_TOKENS):
        self.model = model.eval()
        self.processor = processor
        self.tokenizer = processor.tokenizer
        if self.tokenizer.pad_token is None:  # prompts are padded together; padding is masked out, so any token does
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.batch_tokens = batch_tokens
        parameters = inspect.signature(model.forward).parameters
        self.keep_arg = next((a for a in ("logits_to_keep", "num_logits_to_keep") if a in parameters), None)
        self.separator = self._reply_separator()

    def answer(self, queries: Sequence[Query], hidden: bool = False) -> Answers:
        """Probabilities over each query's options; with ``hidden``, the states at each prompt's last token.

        Hidden states are the language model's, after each of its layers; the embedding output is
        left out, since at the prompt's last token (the same text for every query) it never varies.
        """
        k = len(queries[0].options)
        log_likelihood = torch.empty(len(queries) * k, dtype=torch.float64)
        states: list[tuple[torch.Tensor, tuple[torch.Tensor, ...]]] = []
        with torch.inference_mode():
            for batch in self.prepare(queries):
                out = self.model(**batch.inputs, output_hidden_states=hidden)
                log_likelihood[batch.rows] = option_log_likelihood(
                    out.logits[:, -batch.keep :], batch.inputs["input_ids"], batch.option_lengths
                )
                if hidden:
                    first = batch.rows % k == 0  # one row per query: the prompt is the same for all its options
                    position = batch.inputs["input_ids"].shape[1] - 1 - batch.option_lengths[first]
                    rows = first.nonzero()[:, 0]
                    layers = tuple(h[rows, position].float().cpu() for h in out.hidden_states[1:])
                    states.append((batch.rows[first] // k, layers))
        scores = log_likelihood.view(len(queries), k)
        probabilities = torch.softmax(scores, dim=1).numpy()
        if not hidden:
            return Answers(probabilities)
        order = torch.cat([q for q, _ in states]).argsort()
        depth = len(states[0][1])
        layers = tuple(torch.cat([s[i] for _, s in states])[order].numpy() for i in range(depth))
        return Answers(probabilities, layers)

    def prepare(self, queries: Sequence[Query]) -> list[Batch]:
        """Tokenise every (query, option) pair and pad them into batches of similar length.

        Each query's picture is processed once and its prompt tokenised once; each
        distinct option text is tokenised once per distinct prompt ending.
        """
        contexts, replies = self.prompts([q.dialogue for q in queries])
        add_special = not (self.tokenizer.bos_token and contexts[0].startswith(self.tokenizer.bos_token))
        processed = self.processor(
            text=contexts,
            images=[to_pil(q.image) for q in queries],
            padding=True,
            return_tensors="pt",
            add_special_tokens=add_special,
        )
        mask = processed.pop("attention_mask").bool()
        per_token = [key for key, value in processed.items() if key != "input_ids" and value.shape[:2] == mask.shape]
        if per_token:
            raise ValueError(
                f"{type(self.processor).__name__} gives per-token inputs ({', '.join(per_token)}) this adapter "
                "does not lay out: it takes LLaVA-style processors (input_ids, attention_mask, per-picture tensors)"
            )
        prompts = [ids[m].tolist() for ids, m in zip(processed.pop("input_ids"), mask, strict=True)]
        options = self._option_ids(
            [(c[-BOUNDARY:], r + o) for c, r, q in zip(contexts, replies, queries, strict=True) for o in q.options]
        )
        k = len(queries[0].options)
        rows = [prompts[i // k] + option for i, option in enumerate(options)]
        chunks: list[list[int]] = [[]]
        for i in sorted(range(len(rows)), key=lambda i: len(rows[i])):
            if chunks[-1] and (len(chunks[-1]) + 1) * len(rows[i]) > self.batch_tokens:
                chunks.append([])
            chunks[-1].append(i)
        return [self._batch(rows, options, chunk, processed, k) for chunk in chunks]

    def prompts(self, dialogues: Sequence[Sequence[Turn]]) -> tuple[list[str], list[str]]:
        """Per dialogue, the text before the assistant's reply, and what the reply starts with before an option.

        Trailing spaces move from the prompt into the reply, so ``"ASSISTANT: red"`` is
        tokenised as it would be in one piece (``":"``, ``" red"``).
        """
        contexts, replies = [], []
        for text in self._render(dialogues):
            contexts.append(text.rstrip(" "))
            replies.append(text[len(contexts[-1]) :] + self.separator)
        return contexts, replies

    def _render(self, dialogues: Sequence[Sequence[Turn]], reply: str | None = None) -> list[str]:
        """The chat template's text (the picture in the first user turn), else LLaVA-1.5's plain format."""
        conversations = [[*d, Turn("assistant", reply)] if reply is not None else list(d) for d in dialogues]
        firsts = [next(i for i, t in enumerate(turns) if t.role == "user") for turns in conversations]
        if getattr(self.processor, "chat_template", None):
            messages = [
                [
                    {"role": t.role, "content": [{"type": "image"}] * (i == first) + [{"type": "text", "text": t.text}]}
                    for i, t in enumerate(turns)
                ]
                for turns, first in zip(conversations, firsts, strict=True)
            ]
            return self.processor.apply_chat_template(messages, add_generation_prompt=reply is None, tokenize=False)
        image = getattr(self.processor, "image_token", PLAIN_IMAGE_TOKEN)
        texts = []
        for turns, first in zip(conversations, firsts, strict=True):
            said = [f"{t.role.upper()}: " + f"{image}\n" * (i == first) + t.text for i, t in enumerate(turns)]
            texts.append(" ".join(said if reply is not None else [*said, "ASSISTANT:"]))
        return texts

    def _reply_separator(self) -> str:
        """What the template puts between the generation prompt and the reply (" " after "ASSISTANT:")."""
        probe = [(Turn("user", "Which?"),)]
        prompt, full = self._render(probe)[0], self._render(probe, "yes")[0]
        at = full.find("yes", len(prompt))
        return full[len(prompt) : at] if full.startswith(prompt) and at >= 0 else " "

    def _option_ids(self, pairs: Sequence[tuple[str, str]]) -> list[list[int]]:
        """The tokens of each (prompt ending, continuation) pair's continuation, as tokenised after that ending.

        Should the tokeniser merge across the boundary, the continuation is tokenised on its own.
        """
        encode = functools.partial(self.tokenizer, add_special_tokens=False)
        distinct = list(dict.fromkeys(pairs))
        endings = list(dict.fromkeys(ending for ending, _ in distinct))
        ending_ids = dict(zip(endings, encode(endings)["input_ids"], strict=True))
        ids = {}
        for (ending, text), whole in zip(distinct, encode([e + t for e, t in distinct])["input_ids"], strict=True):
            context = ending_ids[ending]
            ids[ending, text] = whole[len(context) :] if whole[: len(context)] == context else encode(text)["input_ids"]
        return [ids[pair] for pair in pairs]

    def _batch(
        self, rows: list[list[int]], options: list[list[int]], chosen: list[int], per_query: dict, k: int
    ) -> Batch:
        sizes = np.array([len(rows[i]) for i in chosen])
        mask = np.arange(sizes.max()) >= (sizes.max() - sizes)[:, None]  # left padding: each row ends at the end
        ids = np.full(mask.shape, self.tokenizer.pad_token_id, dtype=np.int64)
        ids[mask] = np.fromiter(itertools.chain.from_iterable(rows[i] for i in chosen), np.int64, int(sizes.sum()))
        lengths = torch.tensor([len(options[i]) for i in chosen])
        keep = int(lengths.max()) + 1
        queries = torch.tensor(chosen) // k
        mask = torch.from_numpy(mask).long()
        device, dtype = self.model.device, self.model.dtype
        inputs = {
            "input_ids": torch.from_numpy(ids).to(device),
            "attention_mask": mask.to(device),
            "position_ids": (mask.cumsum(1) - 1).clamp(min=0).to(device),
            **{
                key: value[queries].to(device, dtype=dtype if value.is_floating_point() else None)
                for key, value in per_query.items()
            },
        }
        if self.keep_arg is not None:
            inputs[self.keep_arg] = keep
        return Batch(inputs, torch.tensor(chosen), lengths, keep)


def option_log_likelihood(logits: torch.Tensor, input_ids: torch.Tensor, option_lengths: torch.Tensor) -> torch.Tensor:
    """Per row, the summed log-probability of its last ``option_lengths`` tokens, in float64.

    ``logits`` are the last ``keep`` positions of left-padded rows whose options end at
    the last position; position j predicts token j + 1, so one gather scores them all.
    """
    keep = logits.shape[1]
    targets = input_ids[:, -(keep - 1) :]
    log_probs = torch.log_softmax(logits[:, :-1].float(), dim=-1).gather(-1, targets[..., None])[..., 0]
    scored = torch.arange(keep - 1, device=logits.device) >= (keep - 1 - option_lengths.to(logits.device))[:, None]
    return torch.where(scored, log_probs, 0).double().sum(dim=1).cpu()


def to_pil(image: np.ndarray) -> Any:
    """A (3, H, W) float picture in [0, 1] as the RGB PIL image every processor accepts."""
    from PIL import Image

    pixels = np.rint(np.clip(image, 0.0, 1.0) * 255).astype(np.uint8).transpose(1, 2, 0)
    return Image.fromarray(np.ascontiguousarray(pixels), "RGB")


@functools.lru_cache(maxsize=1)
def load_vlm(folder: str | Path, batch_tokens: int = BATCH_TOKENS) -> TransformersVLM:
    """The adapter over the model in ``folder``; kept for the next cell of the same model in this process.

    On CPU the model runs in float32; on a GPU in the precision it was saved in. CUDA is
    looked for only here, in the cell's process, never while plugins register.
    """
    transformers = import_transformers(MISSING_TRANSFORMERS)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype_arg = dtype_argument(transformers)
    with no_progress_bars(transformers):
        try:
            processor = transformers.AutoProcessor.from_pretrained(folder, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise UsageError(f"cannot load a processor from {folder}: {exc}") from None
        if not hasattr(processor, "image_processor") or not hasattr(processor, "tokenizer"):
            raise UsageError(
                f"{folder} is not a vision-language model: its processor is a {type(processor).__name__}, "
                "with no image processor"
            )
        try:
            model = transformers.AutoModelForImageTextToText.from_pretrained(
                folder, local_files_only=True, **{dtype_arg: "auto" if device == "cuda" else torch.float32}
            )
        except ValueError as exc:  # transformers' "Unrecognized configuration class ..."
            raise UsageError(
                f"{folder} is not a vision-language model transformers can load with AutoModelForImageTextToText: "
                f"{str(exc).splitlines()[0]}"
            ) from None
        except OSError as exc:
            raise UsageError(f"cannot load the model in {folder}: {exc}") from None
    return TransformersVLM(model.to(device), processor, batch_tokens)


def _load(folder: str, batch_tokens: int, seed: int | None = None) -> TransformersVLM:
    """What the suite calls with a seed: a pretrained model ignores it."""
    return load_vlm(folder, batch_tokens)


def transformers_vlm(
    name: str,
    source: str | Path,
    revision: str | None = None,
    *,
    batch_tokens: int = BATCH_TOKENS,
    description: str = "",
) -> ModelSpec:
    """A :class:`ModelSpec` for the VLM in a local folder, or a hub id in the local HF cache (``revision``
    picks its snapshot). Fails at once, with what to do, when there is no model there or no transformers."""
    if importlib.util.find_spec("transformers") is None:
        raise UsageError(MISSING_TRANSFORMERS)
    folder = resolve_source(source, revision)
    return ModelSpec(
        name,
        VLM,
        weights_version(folder, ADAPTER_VERSION),
        functools.partial(_load, str(folder), batch_tokens),
        description=description or f"Hugging Face transformers VLM from {source}",
    )


def parse_vlms(raw: str) -> list[tuple[str, str]]:
    """``name=path[,name=path...]`` as (name, path) pairs; a malformed entry names the variable and the format."""
    pairs: list[tuple[str, str]] = []
    for entry in raw.split(","):
        if not entry.strip():
            continue
        name, equals, source = (part.strip() for part in entry.partition("="))
        if not equals or not name or not source:
            raise UsageError(f"{ENV}: {entry.strip()!r} is not name=path; expected {ENV_FORMAT}")
        pairs.append((entry_name(ENV, name, dict(pairs)), source))
    return pairs


@hookimpl
def register_models(register: Callable[[ModelSpec], None]) -> None:
    """The models named in RELIABENCH_VLMS; one bad entry is reported without hiding the others."""
    problems = []
    for name, source in parse_vlms(os.environ.get(ENV, "")):
        try:
            register(transformers_vlm(name, source))
        except UsageError as exc:
            problems.append(f"model {name!r}: {exc}")
    if problems:
        raise UsageError(f"{ENV}: " + "; ".join(problems))
