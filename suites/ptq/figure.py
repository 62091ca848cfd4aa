"""The study's figure: the INT4 gap along training per family and recipe, with FP32 loss, convergence and onsets.

    python -m suites.ptq.figure --db results/reliabench.duckdb --out docs/figures/ptq-study.svg

Reads the ``study`` profile's stored results; one panel per (family, recipe),
thin lines per seed and a thick line for their mean, FP32 held-out loss on the
right axis, dotted lines at each seed's convergence and triangles at each
detected divergence onset; one row per family, ending with a panel of its
weights' kurtosis and share of outlier channels.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from harness.store import Store
from plugins.checkpointed_models import STUDY_LM_RECIPES, STUDY_RECIPES

FAMILIES = {"char-transformer": STUDY_LM_RECIPES, "mlp": tuple(STUDY_RECIPES)}
QUANTIZERS = {"int4-tensor": "tab:red", "int4-channel": "tab:orange", "gptq-int4-g32": "tab:purple"}
REFERENCE = {"int8-channel": "tab:gray"}


def study_results(db: Path) -> pd.DataFrame:
    with Store(db, read_only=True) as store:
        scores = store.results("ptq")
    version = scores["suite_version"].astype(int).max()
    return scores[(scores["profile"] == "study") & (scores["suite_version"].astype(int) == version)]


def _panel(axis: plt.Axes, scores: pd.DataFrame, model: str) -> None:
    ours = scores[scores["model"] == model]
    for method, colour in (QUANTIZERS | REFERENCE).items():
        gaps = ours[(ours["metric"] == "gap") & (ours["method"] == method)]
        for _, seed in gaps.groupby("seed"):
            axis.plot(seed["step"], seed["value"], color=colour, alpha=0.25, linewidth=0.8)
        mean = gaps.groupby("step")["value"].mean()
        axis.plot(mean.index, mean.values, color=colour, linewidth=2, label=method)
        onsets = ours[(ours["metric"] == "divergence-onset") & (ours["method"] == method)]
        for step in onsets["value"]:
            axis.plot(step, mean.reindex([step], method="nearest").iloc[0], "v", color=colour, markersize=8)
    for step in ours[ours["metric"] == "convergence-step"].drop_duplicates("seed")["value"]:
        axis.axvline(step, color="black", linestyle=":", linewidth=1)
    loss = ours[ours["metric"] == "fp32-loss"].groupby("step")["value"].mean()
    right = axis.twinx()
    right.plot(loss.index, loss.values, color="black", linewidth=1.2)
    right.set_ylabel("FP32 held-out loss (black)", fontsize=8)
    axis.set_yscale("symlog", linthresh=0.01)
    axis.set_title(model, fontsize=9)
    axis.set_xlabel("training step", fontsize=8)
    axis.set_ylabel("perplexity ratio − 1", fontsize=8)


def _weights_panel(axis: plt.Axes, scores: pd.DataFrame, family: str) -> None:
    right = axis.twinx()
    for recipe, style in zip(FAMILIES[family], ("-", "--", ":"), strict=False):
        ours = scores[(scores["model"] == f"{family}-{recipe}") & (scores["method"] == "identity")]
        kurtosis = ours[ours["metric"] == "weight-kurtosis"].groupby("step")["value"].mean()
        outliers = ours[ours["metric"] == "outlier-channels"].groupby("step")["value"].mean()
        axis.plot(kurtosis.index, kurtosis.values, style, color="tab:blue", label=f"kurtosis, {recipe}")
        right.plot(outliers.index, outliers.values, style, color="tab:green", label=f"outlier channels, {recipe}")
    axis.set_title(f"{family}: weights (mean over seeds)", fontsize=9)
    axis.set_xlabel("training step", fontsize=8)
    axis.set_ylabel("excess kurtosis (blue)", fontsize=8)
    right.set_ylabel("share of outlier channels (green)", fontsize=8)
    axis.legend(fontsize=6, loc="upper left")
    right.legend(fontsize=6, loc="lower right")


def draw(scores: pd.DataFrame, out: Path) -> None:
    columns = max(len(recipes) for recipes in FAMILIES.values()) + 1
    figure, axes = plt.subplots(len(FAMILIES), columns, figsize=(4.2 * columns, 3.4 * len(FAMILIES)), squeeze=False)
    for row, (family, recipes) in enumerate(FAMILIES.items()):
        for column, recipe in enumerate(recipes):
            _panel(axes[row, column], scores, f"{family}-{recipe}")
        _weights_panel(axes[row, len(recipes)], scores, family)
        for axis in axes[row, len(recipes) + 1 :]:
            axis.remove()
    axes[0, 0].legend(fontsize=7, loc="upper left")
    figure.suptitle("ptq study: quantization gap along training (▼ detected onset, ┆ FP32 convergence per seed)")
    figure.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=Path("results/reliabench.duckdb"))
    parser.add_argument("--out", type=Path, default=Path("docs/figures/ptq-study.svg"))
    arguments = parser.parse_args()
    scores = study_results(arguments.db)
    if scores.empty:
        raise SystemExit(f"no ptq study results in {arguments.db}; run `reliabench run --suite ptq --profile study`")
    draw(scores, arguments.out)
    print(f"wrote {arguments.out}")


if __name__ == "__main__":
    main()
