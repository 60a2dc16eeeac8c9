"""The throughput benchmark's yardsticks: FLOPs counted by the library agree with the
multiply-adds of the architecture trace (forward x2 per multiply-add, a training step about
three forward passes of each network), and peaks are given only for GPUs that are listed."""

from __future__ import annotations

import pytest
import torch

from dcgan_lib import Discriminator, Generator, TrainConfig, Trainer
from dcgan_lib.device import DENSE_PEAKS, dense_peak_flops
from dcgan_lib.tracing import count_flops, trace_layers


def _macs(model, x):
    return sum(r.multiply_adds for r in trace_layers(model, x))


def test_forward_flops_are_twice_the_multiply_adds():
    G, D = Generator(100, 32, 3, 16), Discriminator(32, 3, 16)
    z, x = torch.randn(3, 100), torch.randn(3, 3, 32, 32)
    assert count_flops(G, z) == 2 * 3 * _macs(G, z[:1])
    assert count_flops(D, x) == 2 * 3 * _macs(D, x[:1])


def test_a_training_step_counts_every_pass():
    """D step: D on real and fake, forward + backward (input and weight grads: 3x forward),
    except the first layer's input gradient of the real batch; G step: G forward once (its
    fakes feed the D step), D forward + input-gradient backward, G backward (2x)."""
    G, D = Generator(100, 16, 1, 16), Discriminator(16, 1, 16)
    b = 8
    data = torch.rand(64, 1, 16, 16) * 2 - 1
    cfg = TrainConfig(steps=2, batch_size=b, device="cpu", progress=False, n_samples=4)
    trainer = Trainer(G, D, data, cfg)
    trainer.fit(steps=1)
    flops = count_flops(trainer.train_step)
    g = 2 * b * _macs(G, torch.randn(1, 100))
    d = 2 * b * _macs(D, data[:1])
    # G: forward + backward (3x); D: real and fake in the D step (3x each, bar the input
    # gradients D's first layer never needs), fake in the G step (forward + input grads: 2x)
    assert 3 * g + 6 * d < flops <= 3 * g + 8 * d
    assert trainer.step == 2


def test_peaks_only_for_listed_gpus():
    assert dense_peak_flops("cpu", "bf16") is None
    with pytest.raises(ValueError, match="precision must be"):
        dense_peak_flops("cpu", "int8")
    names = [n for n, _ in DENSE_PEAKS]
    # a more specific name comes before the general one it contains
    for i, a in enumerate(names):
        assert not any(a in b for b in names[i + 1 :] if b != a), (a, names)
    t4 = dict(DENSE_PEAKS)["T4"]
    assert "bf16" not in t4  # no number for what a GPU cannot do
