"""EWC's Fisher: per-sample squared gradients, against a loop over samples."""

from __future__ import annotations

import torch
from torch.nn import functional

from plugins.continual_strategies import per_sample_fisher
from suites.continual.contract import IncrementalNet
from suites.continual.training import masked


def test_the_fisher_is_the_mean_of_per_sample_squared_gradients():
    torch.manual_seed(0)
    features = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ReLU())
    net = IncrementalNet(features, 8, 5).double()
    x, y, seen = torch.randn(23, 6, dtype=torch.float64), torch.randint(0, 3, (23,)), [0, 1, 2]
    found = per_sample_fisher(net, x, y, seen, batch=7)  # batches of 7, 7, 7 and 2
    reference = [torch.zeros_like(p) for p in net.parameters()]
    for xi, yi in zip(x, y, strict=True):
        net.zero_grad()
        functional.cross_entropy(masked(net(xi[None]), seen), yi[None]).backward()
        for total, p in zip(reference, net.parameters(), strict=True):
            total += p.grad**2 / len(x)
    for a, b in zip(found, reference, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-12)
    # the mini-batch estimate it replaces is far smaller
    net.zero_grad()
    functional.cross_entropy(masked(net(x), seen), y).backward()
    assert sum(float((p.grad**2).sum()) for p in net.parameters()) < 0.5 * sum(float(f.sum()) for f in found)
