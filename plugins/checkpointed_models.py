"""Model families trained with checkpoints along training, for the PTQ suite.

- ``char-transformer``: a small byte-level GPT trained on Python's own standard
  library sources (a fixed file list read from disk; two files held out).
- ``mlp-checkpoints`` / ``cnn-checkpoints``: the digits classifiers of
  ``plugins.classifiers``, trained longer, with checkpoints.

Each is trained well past FP32 convergence with a cosine schedule, saving
evenly spaced checkpoints; deterministic for a seed and cached by recipe hash.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional

from harness import ModelSpec, hookimpl
from harness.cache import cached, settings_version
from harness.data import load, stdlib_text, text_fingerprint
from plugins.classifiers import ARCHITECTURES, Recipe, train
from suites.ptq.contract import CheckpointedModel, Evaluation


class Block(nn.Module):
    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.qkv, self.proj = nn.Linear(width, 3 * width), nn.Linear(width, width)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, t, width = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(n, t, 3, self.heads, width // self.heads).permute(2, 0, 3, 1, 4)
        attended = functional.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(attended.transpose(1, 2).reshape(n, t, width))
        return x + self.mlp(self.norm2(x))


class CharTransformer(nn.Module):
    """A byte-level causal transformer: tokens (N, T) → next-token logits (N, T, 256)."""

    def __init__(self, context: int, width: int, heads: int, layers: int):
        super().__init__()
        self.embed, self.position = nn.Embedding(256, width), nn.Embedding(context, width)
        self.blocks = nn.Sequential(*(Block(width, heads) for _ in range(layers)))
        self.norm, self.head = nn.LayerNorm(width), nn.Linear(width, 256, bias=False)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.embed(tokens) + self.position(torch.arange(tokens.shape[1]))
        return self.head(self.norm(self.blocks(x)))


@dataclass(frozen=True)
class LMRecipe:
    context: int = 64
    width: int = 64
    heads: int = 4
    layers: int = 2
    steps: int = 1200
    checkpoints: int = 30
    batch: int = 32
    lr: float = 3e-3
    weight_decay: float = 0.1
    eval_windows: int = 64


def _windows(tokens: torch.Tensor, starts: torch.Tensor, length: int) -> torch.Tensor:
    return tokens[starts[:, None] + torch.arange(length)]


def train_lm(recipe: LMRecipe, seed: int) -> tuple[dict[int, dict], dict[str, Any]]:
    """AdamW with warm-up and cosine decay on random windows; a checkpoint every steps/checkpoints steps."""
    torch.manual_seed(seed)
    model = CharTransformer(recipe.context, recipe.width, recipe.heads, recipe.layers)
    tokens = stdlib_text()["train"]
    sampler = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    warmup = recipe.steps // 20
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + torch.cos(torch.tensor(torch.pi * s / recipe.steps)).item()),
    )
    every = recipe.steps // recipe.checkpoints
    saved = {}
    for step in range(1, recipe.steps + 1):
        starts = torch.randint(len(tokens) - recipe.context - 1, (recipe.batch,), generator=sampler)
        window = _windows(tokens, starts, recipe.context + 1)
        logits = model(window[:, :-1])
        loss = functional.cross_entropy(logits.reshape(-1, 256), window[:, 1:].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        if step % every == 0:
            saved[step] = copy.deepcopy(model.state_dict())
    return saved, {"final_train_loss": float(loss.detach())}


class TextFamily:
    """A :class:`CheckpointedModel` over the char transformer's checkpoints."""

    def __init__(self, recipe: LMRecipe, states: dict[int, dict], info: dict):
        self.recipe, self.states, self.info = recipe, states, info
        self.steps = sorted(states)
        tokens = stdlib_text()["test"]
        starts = torch.linspace(0, len(tokens) - recipe.context - 2, recipe.eval_windows).long()
        self.held_out = _windows(tokens, starts, recipe.context + 1)

    def checkpoint(self, step: int) -> nn.Module:
        r = self.recipe
        model = CharTransformer(r.context, r.width, r.heads, r.layers)
        model.load_state_dict(self.states[step])
        return model.eval()

    def evaluate(self, model: nn.Module) -> Evaluation:
        with torch.no_grad():
            logits = model(self.held_out[:, :-1])
        targets = self.held_out[:, 1:]
        nll = functional.cross_entropy(logits.reshape(-1, 256), targets.reshape(-1), reduction="none")
        return Evaluation(nll.reshape(targets.shape).mean(dim=1), logits.reshape(-1, 256))

    def calibration(self) -> torch.Tensor:
        tokens = stdlib_text()["train"]
        starts = torch.linspace(0, len(tokens) - self.recipe.context - 1, 32).long()
        return _windows(tokens, starts, self.recipe.context)


def text_family(recipe: LMRecipe, seed: int) -> TextFamily:
    key = {"recipe": asdict(recipe), "data": text_fingerprint(), "seed": seed, "torch": torch.__version__}
    states, meta = cached(
        "checkpoints", key, lambda: train_lm(recipe, seed), torch.save, lambda path: torch.load(path, weights_only=True)
    )
    return TextFamily(recipe, {int(k): v for k, v in states.items()}, meta)


class ClassifierFamily:
    """A :class:`CheckpointedModel` over a digits classifier's checkpoints; a sample is one test image."""

    def __init__(self, recipe: Recipe, data, states: dict[int, dict], info: dict):
        self.recipe, self.data, self.states, self.info = recipe, data, states, info
        self.steps = sorted(states)
        self.x, self.y = data.tensors("test")

    def checkpoint(self, step: int) -> nn.Module:
        model = ARCHITECTURES[self.recipe.arch](self.data.input_shape, self.data.num_classes)
        model.load_state_dict(self.states[step])
        return model.eval()

    def evaluate(self, model: nn.Module) -> Evaluation:
        with torch.no_grad():
            logits = model(self.x)
        return Evaluation(functional.cross_entropy(logits, self.y, reduction="none"), logits)

    def calibration(self) -> torch.Tensor:
        return self.data.tensors("train")[0][:256]


def classifier_family(recipe: Recipe, checkpoints: int, data_name: str, seed: int) -> ClassifierFamily:
    data = load(data_name)
    key = {
        "recipe": asdict(recipe),
        "checkpoints": checkpoints,
        "data": data.fingerprint,
        "seed": seed,
        "torch": torch.__version__,
    }

    def build():
        steps = recipe.epochs * -(-len(data.train) // recipe.batch_size)
        every = max(1, steps // checkpoints)
        saved: dict[int, dict] = {}

        def keep(step: int, net: nn.Module) -> None:
            if step % every == 0:
                saved[step] = copy.deepcopy(net.state_dict())

        _, info = train(recipe, data, seed, on_step=keep)
        return saved, info

    states, meta = cached("checkpoints", key, build, torch.save, lambda path: torch.load(path, weights_only=True))
    return ClassifierFamily(recipe, data, {int(k): v for k, v in states.items()}, meta)


FAMILIES: dict[str, tuple[Callable[[int], CheckpointedModel], str, str, dict]] = {
    "char-transformer": (
        lambda seed: text_family(LMRecipe(), seed),
        "stdlib_text",
        "2-layer byte-level transformer (64 wide) on Python's standard library sources",
        asdict(LMRecipe()),
    ),
    "mlp-checkpoints": (
        lambda seed: classifier_family(Recipe("mlp", epochs=120), 40, "digits", seed),
        "digits",
        "the digits MLP, trained 120 epochs with 40 checkpoints",
        asdict(Recipe("mlp", epochs=120)) | {"checkpoints": 40},
    ),
    "cnn-checkpoints": (
        lambda seed: classifier_family(Recipe("cnn", epochs=60), 40, "digits", seed),
        "digits",
        "the digits CNN, trained 60 epochs with 40 checkpoints",
        asdict(Recipe("cnn", epochs=60)) | {"checkpoints": 40},
    ),
}


@hookimpl
def register_models(register):
    for name, (make, task, description, recipe) in FAMILIES.items():
        version = settings_version(recipe)
        load_family = lambda task_data, seed, make=make: make(seed)  # noqa: E731
        register(ModelSpec(name, CheckpointedModel, version, load_family, description=description, tasks=(task,)))
