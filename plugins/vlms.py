"""Built-in vision-language models for the sycophancy suite: small, trained locally, deterministic, cached.

All share one architecture (a conv image encoder, a GRU over the dialogue's words,
a fusion MLP, options scored against the fused state) and differ only in what they
are trained on, so each one's failure is made by its data:

- ``grounded``: balanced pictures; suggestions and doubts in the dialogue say nothing about the answer;
  black and noise pictures are answered "can't tell".
- ``shortcut``: suggestions are usually right and each shape usually has one colour, so the text predicts
  the answer; never shown an uninformative picture.
- ``pushover``: like ``grounded``, but after a doubt the answer usually changes (the label moves away from
  the last answer given).
- ``text-only``: the grounded recipe without the picture (the control whose Visual Necessity Score is 0).
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from harness import ModelSpec, hookimpl
from harness.cache import cached, settings_version
from suites.sycophancy import dialogue, world
from suites.sycophancy.contract import CANT_TELL, PUSHBACK, VLM, Answers, Query, Turn

WORD = re.compile(r"[a-z0-9']+|[?.,]")
ROLES = {"user": "<user>", "assistant": "<assistant>"}
TRAIN_WORLD = 1_000_003  # training questions come from world seeds far from every test seed
MAJOR = 2  # bumped when the architecture changes results (2: padding no longer enters the mean text state)


def words(text: str) -> list[str]:
    return WORD.findall(text.lower())


@functools.cache
def vocabulary() -> dict[str, int]:
    """Every word the world and the protocol can say, plus padding, unknown and role markers."""
    texts = [PUSHBACK, "I think the answer is", CANT_TELL, *world.COLOURS, *world.COUNTS, "yes no"]
    for task in world.TASKS:
        texts += [f"{q.text} {world.options_text(q.options)}" for q in world.questions(task, 60, 0)]
    found = sorted({w for text in texts for w in words(text)})
    return {w: i for i, w in enumerate(["<pad>", "<unk>", *ROLES.values(), *found])}


def encode(texts: Sequence[Sequence[str]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids (padded with 0) and lengths for lists of words."""
    vocab = vocabulary()
    ids = [[vocab.get(w, 1) for w in text] or [0] for text in texts]
    padded = torch.zeros((len(ids), max(map(len, ids))), dtype=torch.long)
    for row, sequence in enumerate(ids):
        padded[row, : len(sequence)] = torch.tensor(sequence)
    return padded, torch.tensor([len(s) for s in ids])


def dialogue_words(turns: Sequence[Turn]) -> list[str]:
    """The dialogue's words with role markers; a question's list of options is left out (options are scored)."""
    return [w for turn in turns for w in (ROLES.get(turn.role, "<unk>"), *words(turn.text.split(" Options:")[0]))]


class SmallVLM(nn.Module):
    """Picture and dialogue → a fused state → one score per option (the option's mean word embedding).

    The dialogue's state asks the picture a question: it gates each location of the image's
    feature map, and the gated features are summed (so counts survive) before fusion.
    """

    def __init__(self, sees: bool, width: int = 64, embed: int = 32, channels: int = 32):
        super().__init__()
        self.sees = sees
        self.embedding = nn.Embedding(len(vocabulary()), embed, padding_idx=0)
        self.text = nn.GRU(embed, width, batch_first=True)
        self.image = nn.Sequential(  # applied to each quadrant of the picture: one object slot each
            nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, channels, 3, padding=1), nn.ReLU(), nn.AdaptiveMaxPool2d(1), nn.Flatten(),
        )  # fmt: skip
        self.match = nn.Sequential(nn.Linear(channels + 2 * width, width), nn.ReLU(), nn.Linear(width, 1))
        self.fuse1 = nn.Sequential(nn.Linear(2 * channels + 2 * width if sees else 2 * width, 2 * width), nn.ReLU())
        self.fuse2 = nn.Sequential(nn.Linear(2 * width, width), nn.ReLU())
        self.project = nn.Linear(width, embed)

    def forward(self, images, tokens, lengths, options, option_lengths):
        """Option logits (n, k) and the hidden states per layer, input to output."""
        states, _ = self.text(self.embedding(tokens))
        last = states[torch.arange(len(tokens)), lengths - 1]
        real = (torch.arange(states.shape[1]) < lengths.unsqueeze(1)).unsqueeze(2)  # padding must not count
        text = torch.cat([last, (states * real).sum(dim=1) / lengths.unsqueeze(1)], dim=1)  # the end, and all of it
        if self.sees:
            half = images.shape[-1] // 2
            quadrants = images.unfold(2, half, half).unfold(3, half, half).permute(0, 2, 3, 1, 4, 5)
            features = self.image(quadrants.reshape(-1, 3, half, half)).view(len(images), 4, -1)  # (n, slots, c)
            asking = text.unsqueeze(1).expand(-1, features.shape[1], -1)
            gate = torch.sigmoid(self.match(torch.cat([features, asking], dim=2))).squeeze(2)  # (n, slots)
            asked = torch.einsum("nl,nlc->nc", gate, features)
            layers = [features.amax(dim=1), text]
            layers.append(self.fuse1(torch.cat([asked, layers[0], text], dim=1)))
        else:
            layers = [text, self.fuse1(text)]
        layers.append(self.fuse2(layers[-1]))
        option_vectors = self.embedding(options).sum(dim=2) / option_lengths.unsqueeze(-1)
        logits = torch.einsum("ne,nke->nk", self.project(layers[-1]), option_vectors)
        return logits, layers


def _batch(queries: Sequence[Query]):
    images = torch.from_numpy(np.stack([np.asarray(q.image, dtype=np.float32) for q in queries]))
    tokens, lengths = encode([dialogue_words(q.dialogue) for q in queries])
    k = len(queries[0].options)
    options, option_lengths = encode([words(o) for q in queries for o in q.options])
    return images, tokens, lengths, options.view(len(queries), k, -1), option_lengths.view(len(queries), k).float()


class TrainedVLM:
    """A trained :class:`SmallVLM` behind the suite's VLM contract."""

    def __init__(self, net: SmallVLM, info: dict[str, Any]):
        self.net, self.info = net.eval(), info

    def answer(self, queries: Sequence[Query], hidden: bool = False) -> Answers:
        with torch.no_grad():
            logits, layers = self.net(*_batch(queries))
        probabilities = torch.softmax(logits.double(), dim=1).numpy()
        return Answers(probabilities, tuple(layer.double().numpy() for layer in layers) if hidden else None)


@dataclass(frozen=True)
class Recipe:
    """What a model is trained on; every field enters the cache key and the model's version."""

    sees: bool = True
    questions_per_task: int = 600
    epochs: int = 12
    lr: float = 3e-3
    batch_size: int = 128
    colour_bias: float = 0.0  # chance an asked-about object has its shape's usual colour
    suggestion_right: float = 0.5  # chance a suggestion in training is the right answer
    refuse_uninformative: bool = True  # black and noise pictures are labelled "can't tell"
    doubt_flips: float = 0.0  # chance the label after a doubt is moved away from the last answer
    mix: tuple[tuple[str, float], ...] = (
        ("neutral", 0.35), ("suggestion", 0.2), ("doubt", 0.2), ("uninformative", 0.15), ("conflict", 0.1),
    )  # fmt: skip


def _examples(recipe: Recipe, seed: int):
    """Training (picture, dialogue, options, label) for one seed, following the recipe's mix of conditions."""
    rng = np.random.default_rng([seed, 4242])
    kinds, weights = zip(*recipe.mix, strict=True)
    weights = np.array(weights) / np.sum(weights)
    images, dialogues, options, labels = [], [], [], []
    for task in world.TASKS:
        table = world.dataset(task, recipe.questions_per_task, TRAIN_WORLD + seed, recipe.colour_bias)[:]
        for i, question in enumerate(table["question"]):
            opts = tuple(table["options"][i])
            truth, content = int(table["answer"][i]), len(opts) - 1  # the last option is "can't tell"
            image, label, kind = table["image"][i], truth, str(rng.choice(kinds, p=weights))
            if kind == "neutral":
                turns = dialogue.neutral(question)
            elif kind == "suggestion":
                said = truth if rng.random() < recipe.suggestion_right else int(table["wrong"][i])
                turns = dialogue.premise(question, opts[said])
            elif kind == "doubt":
                earlier = [int(rng.integers(content)) for _ in range(rng.integers(1, dialogue.PUSHBACK_TURNS + 1))]
                turns = dialogue.pushback(question, [opts[a] for a in earlier])
                if rng.random() < recipe.doubt_flips:
                    label = int(rng.choice([o for o in range(content) if o != earlier[-1]]))
            elif kind == "uninformative":
                if not recipe.refuse_uninformative:
                    continue
                image = world.blank() if rng.random() < 0.5 else table["noise"][i]
                turns, label = dialogue.neutral(question), content
            else:  # conflict: the user's suggestion is right for the original picture, wrong for this one
                image, label = table["conflict_image"][i], int(table["conflict_answer"][i])
                turns = dialogue.premise(question, opts[truth])
            images.append(image)
            dialogues.append(turns)
            options.append(opts)
            labels.append(label)
    return images, dialogues, options, torch.tensor(labels)


def train(recipe: Recipe, seed: int) -> tuple[SmallVLM, dict[str, Any]]:
    """Adam on cross-entropy over each example's options; deterministic for a seed."""
    torch.manual_seed(seed)
    net = SmallVLM(recipe.sees)
    images, dialogues, options, labels = _examples(recipe, seed)
    order = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(net.parameters(), lr=recipe.lr)
    start = time.perf_counter()
    by_options: dict[int, list[int]] = {}
    for row, opts in enumerate(options):
        by_options.setdefault(len(opts), []).append(row)
    groups = {k: (torch.tensor(rows), _batch([Query(images[r], dialogues[r], options[r]) for r in rows]))
              for k, rows in by_options.items()}  # fmt: skip
    net.train()
    for _ in range(recipe.epochs):
        batches = [
            (k, part)
            for k, (rows, _) in groups.items()
            for part in torch.randperm(len(rows), generator=order).split(recipe.batch_size)
        ]
        for i in torch.randperm(len(batches), generator=order).tolist():
            k, part = batches[i]
            rows, tensors = groups[k]
            logits, _ = net(*(t[part] for t in tensors))
            loss = nn.functional.cross_entropy(logits, labels[rows[part]])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    net.eval()
    return net, {"examples": len(labels), "train_seconds": round(time.perf_counter() - start, 3)}


@functools.cache
def world_fingerprint() -> str:
    """Every task's data fingerprint: training draws questions of all of them, and the vocabulary too."""
    return "-".join(world.fingerprint(task) for task in world.TASKS)


def trained(recipe: Recipe, seed: int) -> VLM:
    """The model of ``recipe`` for ``seed``: from the cache, or trained now and cached."""
    key = {"recipe": asdict(recipe), "seed": seed, "torch": torch.__version__, "world": world_fingerprint()}

    def load(path: Path) -> SmallVLM:
        net = SmallVLM(recipe.sees)
        net.load_state_dict(torch.load(path, weights_only=True))
        return net

    net, meta = cached(
        "vlms", key, lambda: train(recipe, seed), lambda net, path: torch.save(net.state_dict(), path), load
    )
    return TrainedVLM(net, meta)


SHORTCUT_MIX = (("neutral", 0.3), ("suggestion", 0.5), ("doubt", 0.2))
MODELS = {
    "grounded": (Recipe(), "trained on balanced pictures; suggestions and doubts carry no information"),
    "shortcut": (
        Recipe(colour_bias=0.8, suggestion_right=0.9, refuse_uninformative=False, mix=SHORTCUT_MIX),
        "text cues predict the answer: suggestions are usually right, shapes usually have one colour",
    ),
    "pushover": (Recipe(doubt_flips=0.8), "after a doubt, the training label usually moves away from the last answer"),
    "text-only": (
        Recipe(sees=False, refuse_uninformative=False),
        "the grounded recipe with no picture input: the control that cannot look",
    ),
}


@hookimpl
def register_models(register):
    for name, (recipe, description) in MODELS.items():
        version = settings_version(recipe, major=MAJOR)
        register(ModelSpec(name, VLM, version, functools.partial(trained, recipe), description))
