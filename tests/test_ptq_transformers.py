"""The causal-LM adapter of the ptq suite on a tiny GPT-NeoX built offline, in both checkpoint layouts.

Nothing is downloaded: the checkpoints and tokenizer are made locally, and the Hugging
Face cache is a folder made by the test (``HF_HUB_CACHE`` points at it for the test only);
HF_HUB_OFFLINE is set as well.
"""

from __future__ import annotations

import shutil
import sys

import numpy as np
import pytest
import torch
from torch.nn import functional

pytest.importorskip("transformers")

from conftest import cli_runner
from tiny_gpt_neox import build_checkpoints, hub_cache
from tiny_llava import tokenizer

import plugins.transformers_lm as tlm
from harness.errors import UsageError
from harness.plugins import load_registry
from harness.quantization import quantized_layers
from harness.store import Store
from suites.ptq.contract import CheckpointedModel
from suites.shared.data import stdlib_text

pytestmark = pytest.mark.usefixtures("one_thread")  # as in a cell

REPO = "tiny/neox"
STEPS = [40, 80, 120]
VOCAB = len(tokenizer())
METHODS = ("identity", "int4-g32", "gptq-int4-g32")
# 6 windows of 32 predictions, 2 per forward pass; logits of 50 of the 192 predictions over 3 checkpoints
SMALL = tlm.Settings(window=32, windows=6, logit_bytes=50 * 4 * VOCAB * len(STEPS))


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory, one_thread):
    return build_checkpoints(tmp_path_factory.mktemp("tiny-neox"), STEPS)


@pytest.fixture(scope="module")
def cache(tmp_path_factory, checkpoints):
    return hub_cache(tmp_path_factory.mktemp("hf-cache"), REPO, checkpoints)


@pytest.fixture
def hub(cache, monkeypatch):
    """The hub id, with the test's cache as the Hugging Face cache."""
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    return REPO


def direct(folder, step_folder, settings: tlm.Settings) -> tuple[torch.Tensor, torch.Tensor]:
    """Each window's mean NLL and every prediction's logits, from one plain forward pass over all windows."""
    from transformers import AutoTokenizer, GPTNeoXForCausalLM

    text = bytes(stdlib_text()["test"].to(torch.uint8).numpy()).decode("utf-8")
    ids = torch.tensor(AutoTokenizer.from_pretrained(folder)(text, add_special_tokens=False)["input_ids"])
    starts = torch.linspace(0, len(ids) - settings.window - 1, settings.windows).long()
    windows = torch.stack([ids[s : s + settings.window + 1] for s in starts])
    with torch.no_grad():
        logits = GPTNeoXForCausalLM.from_pretrained(step_folder).eval()(windows[:, :-1]).logits
    nll = functional.cross_entropy(logits.transpose(1, 2), windows[:, 1:], reduction="none").mean(dim=1)
    return nll, logits.flatten(0, 1)


def test_evaluate_equals_a_direct_computation(checkpoints):
    family = tlm.transformers_lm("tiny", checkpoints, settings=SMALL, batch_tokens=64).create(None, 0)
    assert isinstance(family, CheckpointedModel) and family.steps == STEPS
    evaluation = family.evaluate(family.checkpoint(80))
    nll, logits = direct(checkpoints, checkpoints / "step80", SMALL)
    np.testing.assert_allclose(evaluation.nll, nll, atol=1e-5)
    kept = torch.linspace(0, SMALL.windows * SMALL.window - 1, 50).round().long()
    assert evaluation.logits.shape == (50, VOCAB)
    np.testing.assert_allclose(evaluation.logits, logits[kept], atol=1e-5)
    whole = tlm.transformers_lm("tiny", checkpoints, settings=SMALL, batch_tokens=10_000).create(None, 0)
    assert torch.equal(whole.kept_predictions(VOCAB), kept)  # the batching changes nothing
    np.testing.assert_allclose(whole.evaluate(whole.checkpoint(80)).nll, evaluation.nll, atol=1e-6)


def test_both_layouts_give_the_same_checkpoints(checkpoints, hub):
    folder = tlm.transformers_lm("tiny", checkpoints, settings=SMALL).create(None, 0)
    cached = tlm.transformers_lm("tiny", hub, settings=SMALL).create(None, 1)
    assert cached.steps == folder.steps == STEPS
    assert cached.info["revisions"] == ["step40", "step80", "step120"]
    losses = []
    for step in STEPS:
        a, b = folder.evaluate(folder.checkpoint(step)), cached.evaluate(cached.checkpoint(step))
        assert torch.equal(a.nll, b.nll) and torch.equal(a.logits, b.logits)
        losses.append(float(a.nll.mean()))
    assert len(set(losses)) == len(STEPS)  # the checkpoints differ
    assert tlm.transformers_lm("x", hub, ["step120", "step40"], settings=SMALL).create(None, 0).steps == [40, 120]


def test_a_checkpoint_is_a_fresh_fp32_module_whose_linear_layers_quantizers_find(checkpoints):
    family = tlm.transformers_lm("tiny", checkpoints, settings=SMALL).create(None, 0)
    model = family.checkpoint(120)
    assert not model.training and all(p.dtype == torch.float32 for p in model.parameters())
    names = {name.rsplit(".", 1)[-1] for name, _ in quantized_layers(model)}
    assert {"query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h"} <= names
    assert names & {"embed_out", "lm_head"}  # the output head: embed_out before transformers 5
    before = family.evaluate(model).nll
    with torch.no_grad():
        for _, layer in quantized_layers(model):
            layer.weight.zero_()
    assert torch.equal(family.evaluate(family.checkpoint(120)).nll, before)  # a fresh module each time
    calibration = family.calibration()
    assert calibration.shape == (SMALL.calibration_tokens // SMALL.window, SMALL.window)
    assert calibration.dtype == torch.long and int(calibration.max()) < VOCAB


def test_gpt2_conv1d_layers_become_equal_linear_layers(tmp_path, one_thread):
    from transformers import GPT2Config, GPT2LMHeadModel
    from transformers.pytorch_utils import Conv1D

    tok = tokenizer()
    tok.save_pretrained(tmp_path)
    config = GPT2Config(vocab_size=VOCAB, n_embd=32, n_layer=1, n_head=2, n_positions=64)
    torch.manual_seed(0)
    GPT2LMHeadModel(config).save_pretrained(tmp_path / "step5")
    family = tlm.transformers_lm("gpt2", tmp_path, settings=tlm.Settings(window=32, windows=2)).create(None, 0)
    model = family.checkpoint(5)
    assert not any(isinstance(m, Conv1D) for m in model.modules())
    names = {name.rsplit(".", 1)[-1] for name, _ in quantized_layers(model)}
    assert {"c_attn", "c_proj", "c_fc", "lm_head"} <= names
    original = GPT2LMHeadModel.from_pretrained(tmp_path / "step5").eval()
    tokens = family.held_out[:, :-1]
    with torch.no_grad():
        np.testing.assert_allclose(model(tokens).logits, original(tokens).logits, atol=1e-5)


def test_the_version_names_weights_tokenizer_and_settings(checkpoints, tmp_path):
    spec = tlm.transformers_lm("tiny", checkpoints)
    assert spec.kind is CheckpointedModel and spec.tasks == ("stdlib_text",)
    assert spec.version == tlm.transformers_lm("tiny", str(checkpoints), batch_tokens=64).version
    assert tlm.transformers_lm("tiny", checkpoints, settings=SMALL).version != spec.version
    assert tlm.transformers_lm("tiny", checkpoints, ["step40", "step80"]).version != spec.version
    changed = shutil.copytree(checkpoints, tmp_path / "changed")
    weights = changed / "step80" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1
    weights.write_bytes(bytes(data))
    assert tlm.transformers_lm("tiny", changed).version != spec.version
    (changed / "tokenizer_config.json").write_text("{}")
    assert tlm.transformers_lm("tiny", changed).version != tlm.transformers_lm("tiny", checkpoints).version


def test_clear_errors_name_the_problem_and_the_fix(checkpoints, hub, tmp_path, monkeypatch):
    cases = [
        ((tmp_path / "nowhere",), r"no checkpoints at .*nowhere.*no such folder"),
        ((tmp_path,), r"no checkpoints in .*one sub-folder per checkpoint"),
        ((hub, ["step40", "step50"]), r"revision 'step50' of 'tiny/neox' is not in the local Hugging Face cache.*"
         r"hf download tiny/neox --revision step50"),
        (("tiny/absent",), r"no revisions of 'tiny/absent' named by step .*hf download tiny/absent --revision"),
        ((checkpoints, ["step40", "step50"]), r"no model at .*step50.*no such folder"),
        ((hub, ["main"]), r"revision 'main' has no step number: name checkpoints by their step"),
        ((checkpoints, ["step40", "checkpoint-40"]), r"'step40' and 'checkpoint-40' are both step 40"),
    ]  # fmt: skip
    for args, reason in cases:
        with pytest.raises(UsageError, match=reason):
            tlm.transformers_lm("x", *args)
    bare = tmp_path / "bare"
    shutil.copytree(checkpoints / "step40", bare / "step40")
    with pytest.raises(UsageError, match=r"no tokenizer for .*bare.*tokenizer\.save_pretrained"):
        tlm.transformers_lm("x", bare)
    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(UsageError, match="pip install transformers"):
        tlm.transformers_lm("x", checkpoints)


def test_env_variable_lists_families_with_their_revisions():
    assert tlm.parse_causal_lms("") == []
    parsed = tlm.parse_causal_lms(" pythia = EleutherAI/pythia-160m@step1000, step2000 ;run=/m/a@b@step5;all=/m/x;")
    assert parsed == [
        ("pythia", "EleutherAI/pythia-160m", ("step1000", "step2000")),
        ("run", "/m/a@b", ("step5",)),  # split at the last @
        ("all", "/m/x", ()),
    ]
    for bad, reason in [
        ("pythia", "not name=source"),
        ("=/models/x", "not name=source"),
        ("pythia=", "not name=source"),
        ("pythia=org/model@", "not name=source"),
        ("Pythia=/models/x", "not a slug"),
        ("a=/x;a=/y", "named twice"),
    ]:
        with pytest.raises(UsageError, match=reason) as error:
            tlm.parse_causal_lms(bad)
        assert str(error.value).startswith(tlm.ENV)


def test_the_hook_registers_the_env_families_and_reports_bad_ones(checkpoints, tmp_path, monkeypatch):
    monkeypatch.setenv(tlm.ENV, f"tiny={checkpoints};gone={tmp_path / 'gone'}")
    registry = load_registry(extra=[tlm], defaults=False)
    assert list(registry.models) == ["tiny"] and registry.models["tiny"].kind is CheckpointedModel
    assert any(f"{tlm.ENV}: model 'gone': no checkpoints at" in p for p in registry.problems), registry.problems


def test_the_ptq_suite_runs_through_the_cli(checkpoints, hub, db, capsys, monkeypatch):
    """The cache layout end to end (the folder layout gives the same evaluations, above): one seed, since a
    pretrained family ignores it."""
    monkeypatch.setenv(tlm.ENV, f"tiny={checkpoints};tiny-hub={hub}@step40,step80,step120")
    run = cli_runner(db, capsys, plugins_dirs=())
    code, output = run(
        "run", "--suite", "ptq", "--model", "tiny-hub", "--method", ",".join(METHODS), "--profile", "quick",
        "--seeds", "0",
    )  # fmt: skip
    assert code == 0, output
    assert "Loading weights" not in output  # transformers' own bars stay out of the harness's display
    with Store(db, read_only=True) as store:
        cells, scores = store.cells("ptq"), store.results("ptq")
    assert len(cells) == len(METHODS) and (cells["status"] == "ok").all(), cells[["method", "status", "error"]]
    gaps = scores[scores["metric"] == "gap"].sort_values("step")
    gap = {m: gaps.loc[gaps["method"] == m, "value"].to_numpy() for m in METHODS}
    assert list(gaps["step"].unique()) == STEPS
    assert len(gap["identity"]) == len(STEPS) and (gap["identity"] == 0).all()
    assert (gap["int4-g32"] != 0).all() and np.isfinite(gap["gptq-int4-g32"]).all()
    final = scores[scores["metric"] == "final-gap"].set_index("method")["value"]
    assert final["identity"] == 0 and final["int4-g32"] > 0
    increase = scores[scores["metric"] == "final-nll-increase"]
    assert increase.groupby("method")["value"].count().to_dict() == dict.fromkeys(METHODS, tlm.Settings().windows)
