"""The one training loop every strategy shares: masked to the classes seen so far, seeded, mini-batched."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional

from suites.continual.contract import Training


def masked(logits: torch.Tensor, seen: list[int]) -> torch.Tensor:
    """Logits with every class not yet seen set to −inf, so it is never predicted or pushed down."""
    mask = torch.full((logits.shape[1],), float("-inf"))
    mask[seen] = 0.0
    return logits + mask


def fit(
    net: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    seen: list[int],
    training: Training,
    penalty: Callable[[torch.Tensor, torch.Tensor, torch.Tensor | None], torch.Tensor] | None = None,
    parameters: list[nn.Parameter] | None = None,
    extra: torch.Tensor | None = None,
) -> None:
    """Adam on cross-entropy over the ``seen`` classes' logits, plus ``penalty(inputs, logits, extra rows)``
    if the strategy adds one (``extra`` is batched alongside x, e.g. concept labels); ``parameters`` limits
    what is trained (default: everything)."""
    optimizer = torch.optim.Adam(parameters if parameters is not None else net.parameters(), lr=training.lr)
    net.train()
    for _ in range(training.epochs):
        for batch in torch.randperm(len(x), generator=training.generator).split(training.batch_size):
            logits = net(x[batch])
            loss = functional.cross_entropy(masked(logits, seen), y[batch])
            if penalty is not None:
                loss = loss + penalty(x[batch], logits, None if extra is None else extra[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    net.eval()


def predict(net: nn.Module, x: torch.Tensor, seen: list[int]) -> torch.Tensor:
    """Labels for ``x``: the largest logit among the ``seen`` classes, without gradients."""
    with torch.no_grad():
        return masked(net(x), seen).argmax(dim=1)
