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
from plugins.classifiers import ARCHITECTURES, Recipe, train
from suites.ptq.contract import CheckpointedModel, Evaluation
from suites.shared.data import load, stdlib_text, text_fingerprint


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
class Training:
    """How a family is trained (every field enters the cache key); the defaults are the quick profile's recipe.

    AdamW with a linear warm-up over ``warmup`` of the steps, then a cosine decay
    to ``final_lr`` of the peak (1.0 keeps the rate constant); a checkpoint every
    ``steps / checkpoints`` steps.
    """

    steps: int = 1200
    checkpoints: int = 30
    batch: int = 32
    lr: float = 3e-3
    weight_decay: float = 0.1
    beta2: float = 0.999
    warmup: float = 0.05
    final_lr: float = 0.0


def pythia_like(steps: int, checkpoints: int, **changes: Any) -> Training:
    """Pythia's optimiser settings (Biderman et al. 2023): AdamW β2 0.95, weight decay 0.01,
    1% warm-up, cosine decay to 10% of the peak rate."""
    settings = {"weight_decay": 0.01, "beta2": 0.95, "warmup": 0.01, "final_lr": 0.1} | changes
    return Training(steps=steps, checkpoints=checkpoints, **settings)


def train_checkpoints(
    model: nn.Module, training: Training, seed: int, batch_loss: Callable[[torch.Generator], torch.Tensor]
) -> tuple[dict[int, dict], dict[str, Any]]:
    """Train ``model`` on the losses ``batch_loss`` draws with its generator; keep evenly spaced checkpoints."""
    sampler = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=training.lr, weight_decay=training.weight_decay, betas=(0.9, training.beta2)
    )
    warmup = max(1, int(training.steps * training.warmup))
    final = training.final_lr

    def rate(step: int) -> float:
        cosine = 0.5 * (1 + torch.cos(torch.tensor(torch.pi * step / training.steps)).item())
        return min(1.0, (step + 1) / warmup) * (final + (1 - final) * cosine)

    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, rate)
    every = training.steps // training.checkpoints
    saved = {}
    for step in range(1, training.steps + 1):
        loss = batch_loss(sampler)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        if step % every == 0:
            saved[step] = copy.deepcopy(model.state_dict())
    return saved, {"final_train_loss": float(loss.detach())}


@dataclass(frozen=True)
class LMRecipe:
    context: int = 64
    width: int = 64
    heads: int = 4
    layers: int = 2
    eval_windows: int = 64
    training: Training = Training()


def _load_states(path) -> dict:
    return torch.load(path, weights_only=True)


def _windows(tokens: torch.Tensor, starts: torch.Tensor, length: int) -> torch.Tensor:
    return tokens[starts[:, None] + torch.arange(length)]


def train_lm(recipe: LMRecipe, seed: int) -> tuple[dict[int, dict], dict[str, Any]]:
    """Next-byte cross entropy on random windows of the training sources."""
    torch.manual_seed(seed)
    model = CharTransformer(recipe.context, recipe.width, recipe.heads, recipe.layers)
    tokens = stdlib_text()["train"]

    def batch_loss(sampler: torch.Generator) -> torch.Tensor:
        starts = torch.randint(len(tokens) - recipe.context - 1, (recipe.training.batch,), generator=sampler)
        window = _windows(tokens, starts, recipe.context + 1)
        logits = model(window[:, :-1])
        return functional.cross_entropy(logits.reshape(-1, 256), window[:, 1:].reshape(-1))

    return train_checkpoints(model, recipe.training, seed, batch_loss)


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
    states, meta = cached("checkpoints", key, lambda: train_lm(recipe, seed), torch.save, _load_states)
    return TextFamily(recipe, {int(k): v for k, v in states.items()}, meta)


class ClassifierFamily:
    """A :class:`CheckpointedModel` over a digits classifier's checkpoints; a sample is one test image."""

    def __init__(self, architecture: str, data, states: dict[int, dict], info: dict):
        self.architecture, self.data, self.states, self.info = architecture, data, states, info
        self.steps = sorted(states)
        self.x, self.y = data.tensors("test")

    def checkpoint(self, step: int) -> nn.Module:
        model = ARCHITECTURES[self.architecture](self.data.input_shape, self.data.num_classes)
        model.load_state_dict(self.states[step])
        return model.eval()

    def evaluate(self, model: nn.Module) -> Evaluation:
        with torch.no_grad():
            logits = model(self.x)
        return Evaluation(functional.cross_entropy(logits, self.y, reduction="none"), logits)

    def calibration(self) -> torch.Tensor:
        return self.data.tensors("train")[0][:256]


def classifier_family(recipe: Recipe, checkpoints: int, data_name: str, seed: int) -> ClassifierFamily:
    """The classifier of ``recipe`` (``plugins.classifiers``' epoch-based training) with evenly spaced checkpoints."""
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

    states, meta = cached("checkpoints", key, build, torch.save, _load_states)
    return ClassifierFamily(recipe.arch, data, {int(k): v for k, v in states.items()}, meta)


def stepped_classifier_family(architecture: str, training: Training, data_name: str, seed: int) -> ClassifierFamily:
    """A classifier trained by :func:`train_checkpoints` on random mini-batches (the study's recipes)."""
    data = load(data_name)
    key = {"architecture": architecture, "training": asdict(training), "data": data.fingerprint, "seed": seed}

    def build():
        torch.manual_seed(seed)
        net = ARCHITECTURES[architecture](data.input_shape, data.num_classes)
        x, y = data.tensors("train")

        def batch_loss(sampler: torch.Generator) -> torch.Tensor:
            index = torch.randint(len(x), (training.batch,), generator=sampler)
            return functional.cross_entropy(net(x[index]), y[index])

        return train_checkpoints(net, training, seed, batch_loss)

    states, meta = cached("checkpoints", key | {"torch": torch.__version__}, build, torch.save, _load_states)
    return ClassifierFamily(architecture, data, {int(k): v for k, v in states.items()}, meta)


@dataclass(frozen=True)
class Family:
    """A registered family: how to build it for a seed, its task, and the settings its version hashes."""

    make: Callable[[int], CheckpointedModel]
    task: str
    description: str
    settings: dict
    profiles: tuple[str, ...] | None = None


STUDY = ("study",)
STUDY_LM_STEPS, STUDY_LM_CHECKPOINTS, STUDY_EVAL_WINDOWS = 20_000, 100, 256
STUDY_MLP_STEPS, STUDY_MLP_CHECKPOINTS = 8000, 80
STUDY_RECIPES = {  # Pythia's recipe, and the same with one thing changed
    "pythia": {},
    "constant-lr": {"final_lr": 1.0},
    "no-weight-decay": {"weight_decay": 0.0},
}
STUDY_LM_RECIPES = ("pythia", "constant-lr")  # a 20k-step run costs about 11 CPU minutes


def _study_families() -> dict[str, Family]:
    families = {}
    for name in STUDY_LM_RECIPES:
        lm = LMRecipe(
            eval_windows=STUDY_EVAL_WINDOWS,
            training=pythia_like(STUDY_LM_STEPS, STUDY_LM_CHECKPOINTS, **STUDY_RECIPES[name]),
        )
        families[f"char-transformer-{name}"] = Family(
            lambda seed, lm=lm: text_family(lm, seed),
            "stdlib_text",
            f"the byte-level transformer, {STUDY_LM_STEPS} steps of the {name} recipe, {STUDY_LM_CHECKPOINTS} "
            "checkpoints (ptq's study profile)",
            asdict(lm),
            STUDY,
        )
    for name, changes in STUDY_RECIPES.items():
        training = pythia_like(STUDY_MLP_STEPS, STUDY_MLP_CHECKPOINTS, batch=64, **changes)
        families[f"mlp-{name}"] = Family(
            lambda seed, training=training: stepped_classifier_family("mlp", training, "digits", seed),
            "digits",
            f"the digits MLP, {STUDY_MLP_STEPS} steps of the {name} recipe, {STUDY_MLP_CHECKPOINTS} checkpoints "
            "(ptq's study profile)",
            {"architecture": "mlp"} | asdict(training),
            STUDY,
        )
    return families


FAMILIES: dict[str, Family] = {
    "char-transformer": Family(
        lambda seed: text_family(LMRecipe(), seed),
        "stdlib_text",
        "2-layer byte-level transformer (64 wide) on Python's standard library sources",
        asdict(LMRecipe()),
    ),
    "mlp-checkpoints": Family(
        lambda seed: classifier_family(Recipe("mlp", epochs=120), 40, "digits", seed),
        "digits",
        "the digits MLP, trained 120 epochs with 40 checkpoints",
        asdict(Recipe("mlp", epochs=120)) | {"checkpoints": 40},
    ),
    "cnn-checkpoints": Family(
        lambda seed: classifier_family(Recipe("cnn", epochs=60), 40, "digits", seed),
        "digits",
        "the digits CNN, trained 60 epochs with 40 checkpoints",
        asdict(Recipe("cnn", epochs=60)) | {"checkpoints": 40},
    ),
} | _study_families()


@hookimpl
def register_models(register):
    for name, family in FAMILIES.items():
        load_family = lambda task_data, seed, make=family.make: make(seed)  # noqa: E731
        register(
            ModelSpec(
                name,
                CheckpointedModel,
                settings_version(family.settings),
                load_family,
                description=family.description,
                tasks=(family.task,),
                profiles=family.profiles,
            )
        )
