"""The transformers VLM adapter on a tiny random LLaVA built offline: scores, hidden states, errors, registration.

Nothing is downloaded: the model, tokenizer and processor are made locally and
loaded back from disk with ``local_files_only``; HF_HUB_OFFLINE is set as well.
"""

from __future__ import annotations

import copy
import shutil
import sys

import numpy as np
import pytest
import torch

pytest.importorskip("transformers")

from conftest import cli_runner
from tiny_llava import CHAT_TEMPLATE, build_tiny_llava, tokenizer

import plugins.transformers_vlm as tvlm
from harness.errors import UsageError
from harness.plugins import load_registry
from harness.store import Store
from suites.sycophancy.contract import CANT_TELL, PUSHBACK, VLM, Query, Turn
from suites.sycophancy.suite import SUITE

pytestmark = pytest.mark.usefixtures("one_thread")  # as in a cell

OPTIONS = ("red", "green", "blue", "yellow", CANT_TELL)
CHATML = (  # the reply follows "<|im_start|>assistant\n" directly, and each turn ends with a marker
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' }}"
    "{% for part in message['content'] %}{% if part['type'] == 'image' %}{{ '<image>' }}"
    "{% else %}{{ part['text'] }}{% endif %}{% endfor %}{{ '<|im_end|>\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return build_tiny_llava(tmp_path_factory.mktemp("tiny-llava"))


@pytest.fixture(scope="module")
def vlm(folder):
    return tvlm.load_vlm(str(folder))


def make_queries(n: int = 6, seed: int = 0) -> list[Query]:
    """Colour questions over random pictures; dialogues of one, three and five turns, so rows differ in length."""
    rng = np.random.default_rng(seed)
    queries = []
    for i in range(n):
        turns = (Turn("user", f"What colour is the shape number {i}? Options: {', '.join(OPTIONS)}."),)
        for answer in OPTIONS[: i % 3]:
            turns += (Turn("assistant", answer), Turn("user", PUSHBACK))
        queries.append(Query(rng.random((3, 24, 24), dtype=np.float32), turns, OPTIONS))
    return queries


def reference(vlm: tvlm.TransformersVLM, query: Query) -> tuple[np.ndarray, list[np.ndarray]]:
    """One unpadded forward pass per (query, option) on the prompt and option tokenised together:
    the probabilities, and the hidden states at the prompt's last token."""
    (context,), (reply,) = vlm.prompts([query.dialogue])
    image = tvlm.to_pil(query.image)
    with torch.inference_mode():
        prompt = vlm.processor(text=[context], images=[image], return_tensors="pt")
        states = vlm.model(**prompt, output_hidden_states=True).hidden_states[1:]
        scores = []
        for option in query.options:
            whole = vlm.processor(text=[context + reply + option], images=[image], return_tensors="pt")
            tokens = whole["input_ids"].shape[1] - prompt["input_ids"].shape[1]
            log_probs = torch.log_softmax(vlm.model(**whole).logits[0, -tokens - 1 : -1].double(), dim=-1)
            scores.append(float(log_probs.gather(1, whole["input_ids"][0, -tokens:, None]).sum()))
    return torch.softmax(torch.tensor(scores), 0).numpy(), [s[0, -1].numpy() for s in states]


def test_probabilities_are_distributions_over_the_options(vlm):
    answers = vlm.answer(make_queries())
    assert answers.probabilities.shape == (6, len(OPTIONS))
    assert answers.probabilities.dtype == np.float64 and (answers.probabilities >= 0).all()
    np.testing.assert_allclose(answers.probabilities.sum(axis=1), 1.0, atol=1e-12)
    assert answers.hidden is None
    assert isinstance(vlm, VLM)


@pytest.mark.parametrize("template", ["llava", "chatml"])
@pytest.mark.parametrize("batch_tokens", [100_000, 300])  # every row in one pass, or in several
def test_batched_scores_equal_each_pair_scored_alone(vlm, batch_tokens, template):
    """Left padding, position ids, kept logits and the option split give what one plain forward pass per pair does,
    whether the reply follows the prompt after a space ("ASSISTANT: red") or directly ("assistant\\nred")."""
    processor = copy.copy(vlm.processor)
    processor.chat_template = {"llava": CHAT_TEMPLATE, "chatml": CHATML}[template]
    adapter = tvlm.TransformersVLM(vlm.model, processor, batch_tokens)
    assert adapter.separator == {"llava": " ", "chatml": ""}[template]
    queries = make_queries()
    passes = adapter.prepare(queries)
    if batch_tokens == 100_000:  # rows of different lengths share the pass
        assert len(passes) == 1 and (passes[0].inputs["attention_mask"] == 0).any()
    else:
        assert len(passes) > 1
    answers = adapter.answer(queries, hidden=True)
    for i, query in enumerate(queries):
        probabilities, states = reference(adapter, query)
        np.testing.assert_allclose(answers.probabilities[i], probabilities, atol=1e-5)
        for layer, state in zip(answers.hidden, states, strict=True):
            np.testing.assert_allclose(layer[i], state, atol=1e-5)


def test_hidden_states_one_array_per_layer_at_the_last_prompt_token(vlm):
    answers = vlm.answer(make_queries(), hidden=True)
    assert len(answers.hidden) == vlm.model.config.text_config.num_hidden_layers
    assert all(layer.shape == (6, vlm.model.config.text_config.hidden_size) for layer in answers.hidden)
    assert not np.allclose(answers.hidden[-1][0], answers.hidden[-1][1])  # different queries, different states


def test_same_queries_same_answers(vlm):
    first, second = vlm.answer(make_queries(), hidden=True), vlm.answer(make_queries(), hidden=True)
    np.testing.assert_array_equal(first.probabilities, second.probabilities)
    for a, b in zip(first.hidden, second.hidden, strict=True):
        np.testing.assert_array_equal(a, b)


def test_options_are_tokenised_as_the_reply_after_the_prompt(vlm):
    (context,), (reply,) = vlm.prompts([(Turn("user", "Which?"),)])
    assert context == "USER: <image>\nWhich? ASSISTANT:" and reply == " "
    batch = vlm.prepare(make_queries(1))[0]  # one query: its five rows in one pass
    for option, said in [(0, ["Ġred"]), (4, ["Ġc", "an", "'t", "Ġtell"])]:
        row = int((batch.rows == option).nonzero()[0, 0])
        ids = batch.inputs["input_ids"][row][batch.inputs["attention_mask"][row].bool()]
        tokens = vlm.tokenizer.convert_ids_to_tokens(ids)
        assert tokens[0] == "<s>" and tokens.count("<image>") == 16
        assert tokens[-len(said) - 2 :] == ["ĠASSISTANT", ":", *said]
        assert int(batch.option_lengths[row]) == len(said)


def test_without_a_chat_template_the_llava_prompt_is_used(vlm):
    processor = copy.copy(vlm.processor)
    processor.chat_template = None
    plain = tvlm.TransformersVLM(vlm.model, processor)
    dialogue = (Turn("user", "Which?"), Turn("assistant", "red"), Turn("user", PUSHBACK))
    (context,), (reply,) = plain.prompts([dialogue])
    assert context == f"USER: <image>\nWhich? ASSISTANT: red USER: {PUSHBACK} ASSISTANT:" and reply == " "
    np.testing.assert_allclose(plain.answer(make_queries()).probabilities.sum(axis=1), 1.0, atol=1e-12)


class WithTokenTypes:
    """A processor that also gives per-token inputs, as Gemma 3's does."""

    def __init__(self, processor):
        self.processor = processor

    def __getattr__(self, name):
        return getattr(self.processor, name)

    def __call__(self, **kwargs):
        out = self.processor(**kwargs)
        out["token_type_ids"] = torch.zeros_like(out["input_ids"])
        return out


def test_a_processor_with_per_token_inputs_is_refused_with_a_reason(vlm):
    with pytest.raises(ValueError, match=r"per-token inputs \(token_type_ids\)"):
        tvlm.TransformersVLM(vlm.model, WithTokenTypes(vlm.processor)).answer(make_queries())


def test_spec_names_the_weights_and_loads_the_adapter(folder, tmp_path):
    spec = tvlm.transformers_vlm("tiny", folder)
    assert spec.kind is VLM and spec.tasks is None
    assert spec.version == tvlm.transformers_vlm("tiny", str(folder)).version
    assert isinstance(spec.create(0), tvlm.TransformersVLM)
    assert spec.create(1) is spec.create(0)  # a pretrained model ignores the seed; loaded once per process
    changed = shutil.copytree(folder, tmp_path / "changed")
    (changed / "config.json").write_text((changed / "config.json").read_text().replace("32", "33", 1))
    assert tvlm.transformers_vlm("tiny", changed).version != spec.version


def test_a_hub_id_resolves_to_its_snapshot_in_the_local_cache(folder, tmp_path, monkeypatch):
    import huggingface_hub.constants

    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "models--someone--tiny-llava"
    shutil.copytree(folder, repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    spec = tvlm.transformers_vlm("tiny", "someone/tiny-llava")
    assert spec.version.startswith(commit[:12] + "-")
    with pytest.raises(UsageError, match="not in the local Hugging Face cache"):
        tvlm.transformers_vlm("tiny", "someone/absent-model")


def test_clear_errors_for_no_model_not_a_vlm_and_no_transformers(folder, tmp_path, monkeypatch):
    with pytest.raises(UsageError, match=r"no model at .*no such folder"):
        tvlm.transformers_vlm("x", tmp_path / "nowhere")
    with pytest.raises(UsageError, match=r"no config\.json"):
        tvlm.transformers_vlm("x", tmp_path)

    from transformers import LlamaConfig, LlamaForCausalLM

    text_only = tmp_path / "text-only"
    config = LlamaConfig(
        vocab_size=400, hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2
    )
    LlamaForCausalLM(config).save_pretrained(text_only)
    tokenizer().save_pretrained(text_only)
    with pytest.raises(UsageError, match="is not a vision-language model"):
        tvlm.load_vlm(str(text_only))

    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(UsageError, match="pip install transformers"):
        tvlm.transformers_vlm("x", folder)
    with pytest.raises(UsageError, match="pip install transformers"):
        tvlm.load_vlm(str(tmp_path / "elsewhere"))


def test_env_variable_lists_name_path_pairs():
    assert tvlm.parse_vlms("") == []
    assert tvlm.parse_vlms(" llava = /models/llava-1.5-7b ,qwen=org/model,") == [
        ("llava", "/models/llava-1.5-7b"),
        ("qwen", "org/model"),
    ]
    for bad, reason in [
        ("llava", "not name=path"),
        ("=/models/x", "not name=path"),
        ("llava=", "not name=path"),
        ("LLaVA=/models/x", "not a slug"),
        ("a=/x,a=/y", "named twice"),
    ]:
        with pytest.raises(UsageError, match=reason) as error:
            tvlm.parse_vlms(bad)
        assert str(error.value).startswith("RELIABENCH_VLMS")


def test_the_hook_registers_the_env_models_and_reports_bad_ones(folder, tmp_path, monkeypatch):
    monkeypatch.setenv(tvlm.ENV, f"tiny={folder},gone={tmp_path / 'gone'}")
    registry = load_registry(extra=[tvlm], defaults=False)
    assert list(registry.models) == ["tiny"] and registry.models["tiny"].kind is VLM
    assert any("RELIABENCH_VLMS: model 'gone': no model at" in p for p in registry.problems), registry.problems

    monkeypatch.setenv(tvlm.ENV, "tiny")
    registry = load_registry(extra=[tvlm], defaults=False)
    assert not registry.models
    assert any("RELIABENCH_VLMS" in p and "name=path" in p for p in registry.problems), registry.problems


def test_the_suite_runs_the_tiny_model_through_the_cli(folder, db, capsys, monkeypatch):
    """Every task of the quick profile, on one of its seeds (all three take ~45 s on two cores; one takes ~10 s)."""
    monkeypatch.setenv(tvlm.ENV, f"tiny={folder}")
    run = cli_runner(db, capsys, plugins_dirs=())
    code, output = run("run", "--suite", "sycophancy", "--model", "tiny", "--profile", "quick", "--seeds", "0")
    assert code == 0, output
    assert "Loading weights" not in output  # transformers' own bars stay out of the harness's display
    with Store(db, read_only=True) as store:
        cells, scores = store.cells("sycophancy"), store.results("sycophancy")
    assert len(cells) == len(SUITE.tasks) and (cells["status"] == "ok").all(), cells[["task", "status", "error"]]
    stored = set(scores["metric"])
    assert {"accuracy", "visual-necessity", "robust-accuracy", "latent-anomaly", "split-belief", "pope-f1"} <= stored
    questions = SUITE.profiles["quick"].config["questions"]
    assert scores.loc[scores["metric"] == "accuracy", "value"].count() == len(SUITE.tasks) * questions
