"""The PTQ suite end to end on the digits model families, and the char transformer on a tiny recipe."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from harness.grid import plan_grid
from harness.plugins import load_registry
from harness.quantization import quantized_layers
from harness.runner import run_cells
from harness.store import Store
from plugins.checkpointed_models import STUDY_LM_RECIPES, STUDY_RECIPES, LMRecipe, TextFamily, Training, train_lm
from plugins.quantizers import GPTQ, Identity, RoundToNearest

ORDER = ["int4-g32", "int4-g128", "int4-channel", "int4-tensor"]


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    registry = load_registry()
    db = tmp_path_factory.mktemp("ptq") / "ptq.duckdb"
    cells = plan_grid(registry, suites=["ptq"], tasks=["digits"])
    with Store(db) as store:
        summary = run_cells(registry, cells, store, show_progress=False)
        scores = store.results("ptq")
    assert len(cells) == 2 * 8 * 2 and not summary.failed, [o.error for _, o in summary.failed]
    return scores


def test_study_families_run_only_in_the_study_profile():
    registry = load_registry()
    quick = {c.model_name for c in plan_grid(registry, suites=["ptq"])}
    study = {c.model_name for c in plan_grid(registry, suites=["ptq"], profile="study")}
    assert quick == {"char-transformer", "mlp-checkpoints", "cnn-checkpoints"}
    lms = {f"char-transformer-{recipe}" for recipe in STUDY_LM_RECIPES}
    assert study - quick == lms | {f"mlp-{recipe}" for recipe in STUDY_RECIPES}


def _metric(scores, name):
    return scores[scores["metric"] == name]


def test_identity_gap_is_exactly_zero_at_every_checkpoint(digits):
    gaps = _metric(digits, "gap")
    identity = gaps[gaps["method"] == "identity"]
    assert len(identity) >= 2 * 2 * 30 and (identity["value"] == 0.0).all()
    nll = _metric(digits, "final-nll-increase")
    assert (nll[nll["method"] == "identity"]["value"] == 0.0).all()


def test_int8_gap_stays_within_one_percent_at_every_checkpoint(digits):
    gaps = _metric(digits, "gap")
    assert gaps[gaps["method"] == "int8-channel"]["value"].abs().max() < 0.01


def test_finer_groups_never_lose_to_coarser_on_any_layer(digits):
    errors = _metric(digits, "reconstruction-error")
    table = errors.pivot_table(index=["model", "seed", "row", "col"], columns="method", values="value")
    for finer, coarser in itertools.pairwise(ORDER):
        assert (table[finer] <= table[coarser] + 1e-7).all(), (finer, coarser)


def test_every_checkpoint_has_a_phase_and_the_curves_line_up(digits):
    phase = _metric(digits, "phase")
    assert set(phase["value"].unique()) <= {0.0, 1.0, 2.0}
    steps = phase.groupby(["model", "method", "seed"])["step"].apply(list)
    assert all(s == sorted(s) and len(s) == len(steps.iloc[0]) for s in steps)


@pytest.fixture(scope="module")
def tiny_text():
    recipe = LMRecipe(eval_windows=8, training=Training(steps=40, checkpoints=4))
    states, info = train_lm(recipe, seed=0)
    return TextFamily(recipe, states, info)


def test_text_family_checkpoints_and_evaluation(tiny_text):
    assert tiny_text.steps == [10, 20, 30, 40]
    evaluation = tiny_text.evaluate(tiny_text.checkpoint(40))
    assert evaluation.nll.shape == (8,) and evaluation.logits.shape == (8 * 64, 256)
    assert evaluation.nll.mean() < tiny_text.evaluate(tiny_text.checkpoint(10)).nll.mean()


@pytest.mark.parametrize("quantizer", [Identity(), RoundToNearest(4, "group", 32), GPTQ(4, 32)])
def test_quantizers_on_the_transformer(tiny_text, quantizer):
    model = tiny_text.checkpoint(40)
    original = {name: layer.weight.detach().clone() for name, layer in quantized_layers(model)}
    quantizer.quantize(model, tiny_text.calibration())
    for name, layer in quantized_layers(model):
        w = layer.weight.detach()
        if isinstance(quantizer, Identity):
            assert torch.equal(w, original[name])
        else:
            levels = w.reshape(w.shape[0], -1)
            groups = torch.nn.functional.pad(levels, (0, -levels.shape[1] % 32)).reshape(-1, 32)
            per_group = np.array([len(torch.unique(g[g != 0])) for g in groups])
            assert (per_group <= 16).all(), f"{name}: more than 16 levels in a group"
            assert not torch.equal(w, original[name])
