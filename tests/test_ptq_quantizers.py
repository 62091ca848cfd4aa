"""Weight-only quantizers: exact agreement with torch's fake quantization, torchao, error ordering, GPTQ."""

from __future__ import annotations

import pytest
import torch

from harness.quantization import asymmetric, symmetric
from suites.ptq.quantizers import gptq


@pytest.fixture(scope="module")
def weight():
    torch.manual_seed(0)
    heavy = torch.distributions.StudentT(3.0).sample((64, 256))  # heavy tails, as trained weights have
    return (0.05 * heavy).float()


@pytest.mark.parametrize("group", [32, 128])
def test_per_group_equals_torch_fake_quantize_on_the_group_reshaped_weight(weight, group):
    blocks = weight.reshape(-1, group)
    scale = (blocks.abs().amax(dim=1) / 7).clamp_min(1e-12)
    expected = torch.fake_quantize_per_channel_affine(
        blocks, scale, torch.zeros(len(blocks), dtype=torch.int32), 0, -8, 7
    ).reshape(weight.shape)
    assert torch.equal(symmetric(weight, 4, "group", group), expected)


def test_per_channel_equals_torch_fake_quantize(weight):
    scale = weight.abs().amax(dim=1) / 127
    expected = torch.fake_quantize_per_channel_affine(weight, scale, torch.zeros(64, dtype=torch.int32), 0, -128, 127)
    assert torch.equal(symmetric(weight, 8, "channel"), expected)


def test_per_group_agrees_with_torchao(weight):
    torchao = pytest.importorskip("torchao.quantization")
    from torchao.quantization.granularity import PerGroup

    layer = torch.nn.Linear(256, 64, bias=False)
    layer.weight.data = weight.clone()
    torchao.quantize_(layer, torchao.IntxWeightOnlyConfig(weight_dtype=torch.int4, granularity=PerGroup(32)))
    theirs = layer(torch.eye(256)).T.detach()
    ours = symmetric(weight, 4, "group", 32)
    step = (weight.reshape(-1, 32).abs().amax(dim=1, keepdim=True) / 7).expand(-1, 32).reshape(weight.shape)
    # torchao's symmetric int4 maps max|w| to the level -8 side (scale max|w|/7.5): values differ by at most
    # one quantization step, and the relative reconstruction errors agree closely.
    assert ((ours - theirs).abs() <= step * 1.0001).all()
    error = lambda w_hat: float((w_hat - weight).norm() / weight.norm())  # noqa: E731
    assert error(ours) == pytest.approx(error(theirs), rel=0.15)


def relative_error(w_hat: torch.Tensor, w: torch.Tensor) -> float:
    return float((w_hat - w).norm() / w.norm())


def test_finer_granularity_never_loses_on_reconstruction(weight):
    tensor = relative_error(symmetric(weight, 4, "tensor"), weight)
    channel = relative_error(symmetric(weight, 4, "channel"), weight)
    g128 = relative_error(symmetric(weight, 4, "group", 128), weight)
    g32 = relative_error(symmetric(weight, 4, "group", 32), weight)
    assert g32 <= g128 <= channel <= tensor
    assert relative_error(symmetric(weight, 8, "channel"), weight) < channel / 10


def test_asymmetric_uses_every_level_of_a_skewed_block():
    w = torch.linspace(0.0, 1.5, 32).repeat(2, 1)  # all positive: symmetric wastes half its levels
    assert relative_error(asymmetric(w, 4, "group", 32), w) < relative_error(symmetric(w, 4, "group", 32), w) / 1.5
    assert torch.unique(asymmetric(w, 4, "group", 32)[0]).numel() == 16


def test_gptq_lowers_the_output_error_of_round_to_nearest(weight):
    torch.manual_seed(1)
    mixing = torch.randn(256, 256) / 16
    inputs = torch.randn(2048, 256) @ mixing + 0.3 * torch.randn(2048, 256)  # correlated inputs
    rtn = symmetric(weight, 4, "group", 32)
    calibrated = gptq(weight, inputs[:1024], bits=4, group=32)
    held_out = inputs[1024:]
    output_error = lambda w_hat: float(((held_out @ (w_hat - weight).T) ** 2).mean())  # noqa: E731
    assert output_error(calibrated) < 0.8 * output_error(rtn)
    levels = calibrated.reshape(-1, 32) / (calibrated.reshape(-1, 32).abs().amax(1, keepdim=True) / 7 + 1e-30)
    assert torch.unique(levels.round()).numel() <= 16, "GPTQ's weights stay on an INT4 grid"


def test_clipping_caps_the_range_at_a_multiple_of_the_rms_weight():
    """Shared with the snn suite: clip=None is the max-|w| range; a clip narrower than it saturates the largest
    weights at the clipping range and resolves the rest on a finer grid."""
    weight = torch.randn(16, 64, generator=torch.Generator().manual_seed(0))
    rms, top = weight.pow(2).mean().sqrt(), weight.abs().max()
    assert torch.equal(symmetric(weight, 4, "tensor", clip=None), symmetric(weight, 4, "tensor"))
    assert torch.equal(symmetric(weight, 4, "tensor", clip=100.0), symmetric(weight, 4, "tensor"))  # wider than max
    clipped = symmetric(weight, 4, "tensor", clip=1.5)
    step = 1.5 * rms / 7
    assert torch.allclose(clipped.max(), 7 * step) and torch.allclose(clipped.min(), -8 * step)
    inside = weight.abs() < 1.5 * rms
    assert (clipped[inside] - weight[inside]).abs().max() <= step / 2 + 1e-6
    assert (symmetric(weight, 4, "tensor") - weight)[inside].abs().max() > step / 2  # the full range is coarser
    assert float(top) > float(1.5 * rms)
    with pytest.raises(ValueError, match="at least 2 bits"):
        symmetric(weight, 1)
