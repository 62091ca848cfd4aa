"""The PTQ suite: does a well-trained model survive INT4, and how does that change along training?

One cell takes every checkpoint of a model family (one training seed), quantizes
a copy with one quantizer, and compares it with the FP32 checkpoint on fixed
held-out data. The FP32 evaluations are shared by every quantizer of a family
within a process.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional

from harness import Curve, Metric, Profile, Suite, Task
from harness.quantization import quantized_layers
from suites.ptq import phases
from suites.ptq.contract import CheckpointedModel, Evaluation, Quantizer
from suites.shared.data import data_task, text_fingerprint

DESCRIPTION = """\
Does a well-trained model survive INT4 weight quantization, and does that change as
training goes on? The seed paper ("When Flat Minima Fail", arXiv 2604.15167) found on
154 Pythia-160m checkpoints that the INT4 round-to-nearest gap passes through three
phases (rapid learning, a long plateau, then explosive divergence from 11% to 517%)
while FP32 perplexity barely moves, that INT8 is immune, and that divergence begins
when FP32 training converges. This suite lets any quantizer and any checkpointed model
family test that finding: each checkpoint is quantized (weights only, every linear and
convolution layer; activations stay float) and compared with its FP32 self on fixed
held-out data.

Primary metric: the per-sample increase in negative log-likelihood at the final
checkpoint, the model people deploy. Its mean is the log of the perplexity ratio,
log(1 + gap), so ranking by it ranks by the final gap, while per-sample values give
paired confidence intervals across quantizers. Quantizers are ranked across every
(task, model family) condition. The gap curve along training, its
phases, the FP32 convergence step, the divergence onset and their lag are reported
beside it, with the weights' kurtosis and outlier channels.

Convergence is the first checkpoint whose FP32 held-out loss, smoothed by a
decreasing isotonic fit, has made 95% of its total improvement. The divergence
onset is a change point: after convergence the gap is fitted as a line plus a
hinge, and the hinge's largest t-statistic over all break points is compared with
its simulated null distribution (a line with AR(1) noise whose coefficient is
estimated from the residuals), so a noisy flat or slowly, linearly rising plateau
is called divergent in about 2% of curves; a significant rise must also reach one
percentage point of gap. The onset is then walked back to the first checkpoint from
which the gap stays above the plateau's line. The `study` profile trains the
byte-level transformer and the digits MLP far past convergence under Pythia's
recipe and two variants of it (constant learning rate; no weight decay)."""

CURVE = "one value per checkpoint"
OUTLIER_FACTOR = 3.0
METRICS = (
    Metric(
        "final-nll-increase",
        False,
        "nats",
        "Extra negative log-likelihood per held-out sample after quantizing the final checkpoint.",
        formula="NLL_q(x) − NLL_fp(x) at the last checkpoint; mean = log(1 + gap)",
    ),
    Metric(
        "final-gap",
        False,
        "ratio",
        "Perplexity ratio quantized / FP32 − 1 at the final checkpoint.",
        shape="scalar",
        formula="exp(mean NLL_q − mean NLL_fp) − 1",
    ),
    Metric("max-gap", False, "ratio", "Largest gap over all checkpoints.", shape="scalar"),
    Metric(
        "convergence-step",
        True,
        "step",
        "First step whose FP32 held-out loss (isotonic fit) has made 95% of its total improvement.",
        shape="scalar",
    ),
    Metric(
        "divergence-onset",
        True,
        "step",
        "First step of a significant sustained rise of the gap after convergence (hinge change point, "
        "2% false alarms on a noisy flat or linear plateau, rise ≥ 0.01); absent when there is none.",
        shape="scalar",
    ),
    Metric("onset-lag", True, "steps", "Divergence onset minus FP32 convergence.", shape="scalar"),
    Metric("diverged", False, "0/1", "1 if a divergence onset was found.", shape="scalar"),
    Metric("gap", False, "ratio", f"Perplexity ratio − 1, {CURVE}.", shape="curve"),
    Metric("fp32-loss", False, "nats", f"FP32 held-out loss, {CURVE}.", shape="curve"),
    Metric("quantized-loss", False, "nats", f"Quantized held-out loss, {CURVE}.", shape="curve"),
    Metric("logit-kl", False, "nats", f"Mean KL(p_fp ‖ p_q) over held-out predictions, {CURVE}.", shape="curve"),
    Metric(
        "top1-agreement", True, "fraction", f"Share of predictions whose argmax is unchanged, {CURVE}.", shape="curve"
    ),
    Metric(
        "weight-kurtosis",
        False,
        "excess kurtosis",
        f"Mean excess kurtosis of the FP32 layer weights, {CURVE}.",
        shape="curve",
    ),
    Metric(
        "outlier-channels",
        False,
        "fraction",
        f"Share of FP32 input channels whose largest |w| exceeds {OUTLIER_FACTOR:g}× the layer's median channel "
        f"maximum (mean over layers), {CURVE}.",
        shape="curve",
    ),
    Metric("phase", False, "0/1/2", f"0 rapid learning, 1 plateau, 2 divergence, {CURVE}.", shape="curve", phases=True),
    Metric(
        "reconstruction-error",
        False,
        "relative",
        "‖W − Ŵ‖_F / ‖W‖_F per layer (rows) and checkpoint (columns).",
        shape="matrix",
    ),
)

QUICK = {"tolerance": 0.05, "alpha": 0.02, "min_rise": 0.01}
FULL = QUICK

TASKS = (
    Task(
        "stdlib_text",
        "Python standard library sources, byte level: 16 files to train on, 2 held out",
        fingerprint=text_fingerprint,
    ),
    data_task("digits", "; the fixed 20% test split"),
)


_FP32: dict[tuple, Evaluation] = {}


def _fp32(family_key: tuple, family: CheckpointedModel, step: int) -> Evaluation:
    """FP32 evaluation of one checkpoint, shared by every quantizer of the family in this process."""
    key = (*family_key, step)
    if key not in _FP32:
        _FP32[key] = family.evaluate(family.checkpoint(step))
    return _FP32[key]


def _kurtosis(model: torch.nn.Module) -> float:
    values = []
    for _, layer in quantized_layers(model):
        w = layer.weight.detach().flatten().double()
        centred = w - w.mean()
        values.append(float((centred**4).mean() / (centred**2).mean() ** 2 - 3))
    return float(np.mean(values))


def _outlier_channels(model: torch.nn.Module) -> float:
    """Input channels (weight columns) that stretch a shared quantization range, as a share per layer."""
    shares = []
    for _, layer in quantized_layers(model):
        largest = layer.weight.detach().reshape(layer.weight.shape[0], -1).abs().amax(dim=0)
        shares.append(float((largest > OUTLIER_FACTOR * largest.median()).float().mean()))
    return float(np.mean(shares))


def evaluate(cell) -> dict:
    family: CheckpointedModel = cell.model.create(None, cell.seed)
    quantizer: Quantizer = cell.method.create()
    family_key = (cell.model.name, cell.model.version, cell.seed)
    calibration = family.calibration()
    curves: dict[str, list[float]] = {
        k: [] for k in ("gap", "fp32", "quantized", "kl", "agreement", "kurtosis", "outliers")
    }
    reconstruction = []
    for step in family.steps:
        fp = _fp32(family_key, family, step)
        original, model = family.checkpoint(step), family.checkpoint(step)
        quantizer.quantize(model, calibration)
        quantized = family.evaluate(model)
        fp_loss, q_loss = float(fp.nll.mean()), float(quantized.nll.mean())
        log_p, log_q = fp.logits.log_softmax(dim=1), quantized.logits.log_softmax(dim=1)
        curves["gap"].append(float(np.expm1(q_loss - fp_loss)))
        curves["fp32"].append(fp_loss)
        curves["quantized"].append(q_loss)
        curves["kl"].append(float(functional.kl_div(log_q, log_p, log_target=True, reduction="batchmean")))
        curves["agreement"].append(float((fp.logits.argmax(1) == quantized.logits.argmax(1)).float().mean()))
        curves["kurtosis"].append(_kurtosis(original))
        curves["outliers"].append(_outlier_channels(original))
        reconstruction.append(
            [
                float((a.weight - b.weight).detach().norm() / a.weight.detach().norm())
                for (_, a), (_, b) in zip(quantized_layers(original), quantized_layers(model), strict=True)
            ]
        )

    steps = np.array(family.steps, dtype=float)
    gaps = np.array(curves["gap"])
    converged = phases.convergence_index(np.array(curves["fp32"]), cell.config["tolerance"])
    onset = phases.onset_index(gaps, converged, cell.config["alpha"], cell.config["min_rise"])
    result = {  # fp and quantized hold the final checkpoint's evaluations
        "final-nll-increase": (quantized.nll - fp.nll).double(),
        "final-gap": gaps[-1],
        "max-gap": gaps.max(),
        "convergence-step": steps[converged],
        "diverged": float(onset is not None),
        "gap": Curve(steps, gaps),
        "fp32-loss": Curve(steps, curves["fp32"]),
        "quantized-loss": Curve(steps, curves["quantized"]),
        "logit-kl": Curve(steps, curves["kl"]),
        "top1-agreement": Curve(steps, curves["agreement"]),
        "weight-kurtosis": Curve(steps, curves["kurtosis"]),
        "outlier-channels": Curve(steps, curves["outliers"]),
        "phase": Curve(steps, phases.label_phases(len(steps), converged, onset).astype(float)),
        "reconstruction-error": np.array(reconstruction).T,
    }
    if onset is not None:
        result |= {"divergence-onset": steps[onset], "onset-lag": steps[onset] - steps[converged]}
    return result


SUITE = Suite(
    name="ptq",
    version="2",
    title="INT4 post-training quantization collapse",
    description=DESCRIPTION,
    tasks=TASKS,
    metrics=METRICS,
    primary_metric="final-nll-increase",
    profiles={
        "quick": Profile(seeds=(0, 1), config=QUICK),
        "full": Profile(seeds=(0, 1, 2, 3, 4), config=FULL),
        "study": Profile(seeds=(0, 1, 2), config=QUICK),
    },
    evaluate=evaluate,
    model_kind=CheckpointedModel,
    method_kind=Quantizer,
    rank_by="method",
    references=(
        "When Flat Minima Fail: Characterizing INT4 Quantization Collapse After FP32 Convergence, arXiv 2604.15167",
        "Frantar et al. (2023), GPTQ: Accurate Post-Training Quantization for Generative Pre-trained Transformers",
    ),
)
