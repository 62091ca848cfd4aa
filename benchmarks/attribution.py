"""Attribution speed against the floor and against the reference libraries, on the same work.

Run: .venv/bin/python benchmarks/attribution.py [--samples 128]

On the digits CNN with 128 test samples, each metric and path method is timed
beside its reference (Quantus, Captum) on the same model and inputs, their
values are checked to agree, and every time is reported as a ratio to the
*floor*: the bare batched model evaluations the same work needs (forward only
for metrics; forward + backward for path methods).
Goals: metrics within 2x of the forward floor; IG and PS-IG within 1.2x of the
forward+backward floor.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import quantus
import torch
from captum.attr import IntegratedGradients as CaptumIG
from captum.metrics import infidelity as captum_infidelity
from captum.metrics import sensitivity_max as captum_sensitivity_max
from quantus.functions.perturb_func import batch_baseline_replacement_by_indices
from timing import best_time

from plugins.attribution_methods import IntegratedGradients, PathSampledIG
from plugins.classifiers import MODELS, trained
from suites.attribution import metrics
from suites.attribution.contract import ExplainContext
from suites.attribution.paths import MAX_ROWS
from suites.shared.data import load

STEPS = 32
RUNS = 100
SUBSET = 16
DRAWS = 32
SHIFTS = 8


def forward_floor(model, rows: int, shape: torch.Size) -> float:
    inputs = torch.rand((rows, *shape))

    def work():
        with torch.no_grad():
            for chunk in inputs.split(MAX_ROWS):
                model(chunk)

    return best_time(work)


def backward_floor(model, rows: int, shape: torch.Size) -> float:
    inputs = torch.rand((rows, *shape))

    def work():
        for chunk in inputs.split(MAX_ROWS):
            chunk = chunk.requires_grad_(True)
            torch.autograd.grad(model(chunk)[:, 0].sum(), chunk)

    return best_time(work)


def report(name: str, ours: float, floor: float, goal: float, reference: tuple | None = None) -> None:
    """One line: our time as a ratio to the floor, and the reference's (label, seconds[, its own floor])."""
    line = f"{name:<26} ours {ours * 1e3:7.1f} ms = {ours / floor:4.2f}x floor (goal <= {goal}x)"
    if reference:
        label, seconds, *own_floor = reference
        reference_floor = own_floor[0] if own_floor else floor
        line += f" | {label} {seconds * 1e3:7.1f} ms = {seconds / reference_floor:4.2f}x its floor"
    print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=128)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    torch.manual_seed(0)

    data = load("digits")
    model = trained(MODELS["cnn"][0], data, seed=0)
    x = data.tensors("test")[0][: args.samples]
    n, shape, d = len(x), x.shape[1:], x[0].numel()
    with torch.no_grad():
        target = model(x).argmax(dim=1)
    baseline = model.baseline()
    context = ExplainContext(baseline, x, torch.Generator().manual_seed(0), MAX_ROWS)
    print(f"digits CNN, {n} samples, {d} features, torch {torch.__version__}, {torch.get_num_threads()} threads\n")

    # Path methods against the forward+backward floor of their path points.
    ig = IntegratedGradients(steps=STEPS)
    path_floor = backward_floor(model, n * STEPS, shape)
    ours_ig = ig.attribute(model, x, target, context)
    captum = CaptumIG(model)
    theirs_ig = captum.attribute(x, baselines=baseline[None], target=target, n_steps=STEPS)
    torch.testing.assert_close(ours_ig, theirs_ig, rtol=1e-4, atol=1e-5)
    report(
        "integrated gradients",
        best_time(lambda: ig.attribute(model, x, target, context)),
        path_floor,
        1.2,
        ("captum", best_time(lambda: captum.attribute(x, baselines=baseline[None], target=target, n_steps=STEPS))),
    )
    psig = PathSampledIG(steps=STEPS)
    report("ps-ig", best_time(lambda: psig.attribute(model, x, target, context)), path_floor, 1.2)
    phi = ours_ig + 1e-6 * torch.randn(ours_ig.shape)  # no ties, so Quantus's unstable sort agrees

    # Deletion: Quantus PixelFlipping evaluates one curve of d points per sample.
    pixel_flipping = quantus.PixelFlipping(
        features_in_step=1, perturb_baseline=0.0, normalise=False, disable_warnings=True
    )

    def call_quantus():
        return pixel_flipping(model=model, x_batch=x.numpy(), y_batch=target.numpy(), a_batch=phi.numpy(), softmax=True)

    deletion, _ = metrics.deletion_insertion(model, x, phi, baseline, target)
    np.testing.assert_allclose(deletion[:, 1:].numpy(), np.array(call_quantus()), atol=1e-6)
    ours = best_time(lambda: metrics.deletion_insertion(model, x, phi, baseline, target))
    report(
        "deletion + insertion",
        ours,
        forward_floor(model, n * 2 * (d + 1), shape),
        2.0,
        ("quantus (deletion only)", best_time(call_quantus, repeats=2), forward_floor(model, n * d, shape)),
    )

    # Faithfulness correlation on the subsets Quantus itself draws.
    recorded = []

    def recording(arr, indices, **kwargs):
        recorded.append(np.asarray(indices).copy())
        return batch_baseline_replacement_by_indices(arr, indices, **kwargs)

    np.random.seed(0)
    make = lambda func: quantus.FaithfulnessCorrelation(  # noqa: E731
        nr_runs=RUNS,
        subset_size=SUBSET,
        perturb_baseline=0.0,
        perturb_func=func,
        normalise=False,
        return_aggregate=False,
        disable_warnings=True,
    )
    theirs = make(recording)(model=model, x_batch=x.numpy(), y_batch=target.numpy(), a_batch=phi.numpy())
    chosen = torch.as_tensor(
        np.concatenate([np.stack(recorded[i : i + RUNS], axis=1) for i in range(0, len(recorded), RUNS)])
    )
    subsets = torch.zeros((n, RUNS, d), dtype=torch.bool).scatter_(2, chosen, True)
    ours_fc = metrics.faithfulness_correlation(model, x, phi, baseline, target, subsets)
    np.testing.assert_allclose(ours_fc.numpy(), np.array(theirs), atol=1e-5)
    plain = make(batch_baseline_replacement_by_indices)
    report(
        "faithfulness correlation",
        best_time(lambda: metrics.faithfulness_correlation(model, x, phi, baseline, target, subsets)),
        forward_floor(model, n * (RUNS + 1), shape),
        2.0,
        (
            "quantus",
            best_time(
                lambda: plain(model=model, x_batch=x.numpy(), y_batch=target.numpy(), a_batch=phi.numpy()), repeats=2
            ),
        ),
    )

    # Infidelity with the same Gaussian perturbations fed to Captum.
    noise = 0.1 * torch.randn((n, DRAWS, d))

    def captum_run():
        position = [0]

        def feed(inputs):
            per = inputs.shape[0] // n
            chunk = noise[:, position[0] : position[0] + per].reshape(inputs.shape)
            position[0] += per
            return chunk, inputs - chunk

        return captum_infidelity(model, feed, x, phi, target=target, n_perturb_samples=DRAWS, normalize=True)

    torch.testing.assert_close(metrics.infidelity(model, x, phi, target, noise), captum_run(), rtol=1e-4, atol=1e-6)
    report(
        "infidelity",
        best_time(lambda: metrics.infidelity(model, x, phi, target, noise)),
        forward_floor(model, n * (DRAWS + 1), shape),
        2.0,
        ("captum", best_time(captum_run)),
    )

    # Sensitivity-max: re-explaining perturbed inputs is the work, so its floor is IG's on all of them.
    shifts = 0.05 * (2 * torch.rand((n, SHIFTS, d)) - 1)

    def explain(inputs, targets):
        return ig.attribute(model, inputs, targets, context)

    def captum_explain(inputs, target):
        return (explain(inputs[0] if isinstance(inputs, tuple) else inputs, target),)

    def captum_sensitivity():
        position = [0]

        def feed(inputs):
            per = inputs.shape[0] // n
            chunk = shifts[:, position[0] : position[0] + per].reshape(inputs.shape)
            position[0] += per
            return inputs + chunk

        return captum_sensitivity_max(captum_explain, x, perturb_func=feed, n_perturb_samples=SHIFTS, target=target)

    torch.testing.assert_close(
        metrics.sensitivity_max(explain, x, ours_ig, target, shifts), captum_sensitivity(), rtol=1e-4, atol=1e-6
    )
    report(
        "sensitivity-max (IG)",
        best_time(lambda: metrics.sensitivity_max(explain, x, ours_ig, target, shifts), 3),
        backward_floor(model, n * SHIFTS * STEPS, shape),
        2.0,
        ("captum", best_time(captum_sensitivity, 3)),
    )


if __name__ == "__main__":
    main()
