"""A tiny GPT-NeoX (Pythia's architecture) trained a few steps between checkpoints, built offline: for tests.

The checkpoints are saved in both layouts the causal-LM adapter reads: a folder of
``step<N>`` sub-folders with the tokenizer beside them, and a Hugging Face cache with one
branch per checkpoint (``refs/step<N>`` holding a commit, ``snapshots/<commit>/``), as
``hf download EleutherAI/pythia-160m --revision step1000`` leaves it. The tokenizer is
tiny_llava's. The same seed gives the same weights.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Sequence
from pathlib import Path

import torch
from tiny_llava import tokenizer

from suites.shared.data import stdlib_text


def build_checkpoints(
    folder: Path, steps: Sequence[int] = (40, 80, 120), hidden: int = 32, context: int = 512, seed: int = 0
) -> Path:
    """Train a random 2-layer GPT-NeoX with Adam (cosine decay to 0); save it at each of ``steps`` as
    ``folder/step<N>``, and the tokenizer in ``folder``.

    It trains on the suite's held-out text, so that its last checkpoint sits near a minimum of
    the loss the suite measures: there INT4 raises it (by 0.2-0.5% over seeds 0-3). Trained
    on other text, or at an earlier checkpoint, a model this small can gain or lose.
    """
    from transformers import GPTNeoXConfig, GPTNeoXForCausalLM

    tok = tokenizer()
    tok.save_pretrained(folder)
    text = bytes(stdlib_text()["test"].to(torch.uint8).numpy()).decode("utf-8")
    tokens = torch.tensor(tok(text, add_special_tokens=False)["input_ids"])
    config = GPTNeoXConfig(
        vocab_size=len(tok),
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        num_hidden_layers=2,
        num_attention_heads=2,
        max_position_embeddings=context,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
    )
    torch.manual_seed(seed)
    model = GPTNeoXForCausalLM(config)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    decay = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, max(steps))
    sampler = torch.Generator().manual_seed(seed)
    for step in range(1, max(steps) + 1):
        starts = torch.randint(len(tokens) - 33, (8,), generator=sampler)
        batch = tokens[starts[:, None] + torch.arange(33)]
        loss = model(input_ids=batch, labels=batch).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        decay.step()
        if step in steps:
            model.save_pretrained(folder / f"step{step}")
    return folder


def hub_cache(cache: Path, repo_id: str, checkpoints: Path) -> Path:
    """Lay ``checkpoints``' step folders out in the HF cache ``cache`` as branches of ``repo_id``, each snapshot
    holding its weights and the tokenizer (as every Pythia branch does)."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True)
    tokenizer_files = [p for p in checkpoints.iterdir() if p.is_file()]
    for step_folder in sorted(p for p in checkpoints.iterdir() if p.is_dir()):
        commit = hashlib.sha1(step_folder.name.encode()).hexdigest()
        snapshot = shutil.copytree(step_folder, repo / "snapshots" / commit)
        for file in tokenizer_files:
            shutil.copy(file, snapshot / file.name)
        (repo / "refs" / step_folder.name).write_text(commit)
    return cache
