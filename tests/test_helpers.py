"""The helpers chapters call instead of keeping their own copies: the model pair, the one
sampling path, the model contract, the tracer, tables, the 1-D game, the device policy,
the command line's flags and the manifest writer."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest
import torch
from torch import nn

from dcgan_lib import (
    Discriminator,
    Generator,
    MLPDiscriminator,
    MLPGenerator,
    TrainConfig,
    Trainer,
    autocast_dtype,
    gaussian_game,
    hardware,
    make_pair,
    pixel_spread,
    resolve_device,
    sample_generator,
    table,
    trace_layers,
    trace_stages,
)
from dcgan_lib.checkpoint import load_checkpoint, manifest_entry, record_in_manifest
from dcgan_lib.cli import build_parser
from dcgan_lib.cli.training import CLI_DEFAULTS, TRAIN_HELP


def test_make_pair_builds_what_the_command_line_trains():
    G, D = make_pair("dcgan", (3, 64, 64), latent_dim=100, width=128)
    assert isinstance(G, Generator) and isinstance(D, Discriminator)
    assert G.config["kwargs"] == dict(latent_dim=100, image_size=64, channels=3, width=128)
    G, D = make_pair("mlp", (1, 32, 32), hidden=(256, 512))
    assert isinstance(G, MLPGenerator) and isinstance(D, MLPDiscriminator)
    assert G.config["kwargs"]["hidden"] == [256, 512] and D.config["kwargs"]["hidden"] == [512, 256]
    a, b = make_pair(seed=3)[0], make_pair(seed=3)[0]
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    with pytest.raises(ValueError, match="square images"):
        make_pair("dcgan", (2,))
    with pytest.raises(ValueError, match="model must be one of"):
        make_pair("vae")


def test_sample_generator_is_seeded_in_eval_mode_and_restores_the_mode():
    G = Generator(8, 16, 1, 8).train()
    a, b = sample_generator(G, 5, seed=1), sample_generator(G, 5, seed=1)
    assert a.shape == (5, 1, 16, 16) and torch.equal(a, b) and G.training
    # eval mode: a sample does not depend on the rest of its batch (BatchNorm running stats)
    z = torch.randn(4, 8)
    assert torch.allclose(sample_generator(G, z=z)[:1], sample_generator(G, z=z[:1]), atol=1e-6)
    assert torch.allclose(
        sample_generator(G, z=z, batch_size=3), sample_generator(G, z=z), atol=1e-6
    )
    with pytest.raises(ValueError, match="positive number of samples"):
        sample_generator(G, 0)


class _NoConfig(nn.Module):
    def __init__(self):
        super().__init__()
        self.latent_dim, self.net = 4, nn.Linear(4, 4)

    def forward(self, z):
        return self.net(z)


def test_the_trainer_checks_the_model_contract_before_training():
    data = torch.rand(16, 2) * 2 - 1
    G, D = MLPGenerator(4, (2,), (8,)), MLPDiscriminator((2,), (8,))
    with pytest.raises(TypeError, match=r"generator \(_NoConfig\) has no \.config"):
        Trainer(_NoConfig(), D, data, TrainConfig(steps=1, batch_size=8, progress=False))
    plain = _NoConfig()
    plain.config = {"class": "_NoConfig", "kwargs": {}}
    del plain.latent_dim
    with pytest.raises(TypeError, match="no int .latent_dim"):
        Trainer(plain, D, data, TrainConfig(steps=1, batch_size=8, progress=False))
    Trainer(G, D, data, TrainConfig(steps=1, batch_size=8, progress=False)).fit()


def test_trace_the_papers_generator_and_count_its_work():
    G = Generator(100, 64, 3, 128)
    stages = trace_stages(G, torch.randn(2, 100))
    assert [s["shape"] for s in stages] == [
        (1024, 4, 4),
        (512, 8, 8),
        (256, 16, 16),
        (128, 32, 32),
        (3, 64, 64),
    ]
    assert stages[-1]["layers"] == ["ConvTranspose2d", "Tanh"]
    rows = trace_layers(G, torch.randn(1, 100))
    assert sum(r.parameters for r in rows) == sum(p.numel() for p in G.parameters())
    # the projection: each of the 100 inputs scatters a 1024 x 4 x 4 patch
    assert rows[0].multiply_adds == 100 * 1024 * 16
    lin = trace_layers(nn.Linear(10, 3), torch.randn(2, 10))
    assert lin[0].multiply_adds == 30 and lin[0].output_shape == (3,)
    assert G.training  # mode restored


def test_pixel_spread():
    x = torch.rand(1, 1, 4, 4).expand(8, 1, 4, 4)
    assert pixel_spread(x) == 0.0
    assert pixel_spread(torch.tensor([[-1.0], [1.0]])) == pytest.approx(math.sqrt(2))
    with pytest.raises(ValueError):
        pixel_spread(torch.zeros(1, 3))


def test_table_renders_markdown_with_formats():
    t = table(
        [{"run": "a", "steps": 1500, "fid": 1.23456, "x": None}],
        [("run", "run"), ("steps", "steps", ","), ("fid", "FID", ".1f"), "x"],
    )
    assert t.splitlines() == [
        "| run | steps | FID | x |",
        "| --- | ---: | ---: | --- |",
        "| a | 1,500 | 1.2 | - |",
    ]
    assert t._repr_markdown_() == str(t)
    labelled = table({"DCGAN": {"fid": 2.0}}, ["model", "fid"])
    assert labelled.splitlines()[2] == "| DCGAN | 2.000 |"
    with pytest.raises(ValueError):
        table([])


@pytest.mark.parametrize("mu, sigma", [(0.0, 1.0), (1.0, 0.5), (-3.0, 2.0), (0.0, 0.05)])
def test_gaussian_game_obeys_theorem_1(mu, sigma):
    game = gaussian_game(mu, sigma)
    assert game.c_of_g == pytest.approx(-math.log(4) + 2 * game.jsd, abs=1e-7)
    assert game.c_of_g >= -math.log(4) - 1e-9
    if (mu, sigma) == (0.0, 1.0):
        assert game.c_of_g == pytest.approx(-math.log(4), abs=1e-9)
        assert game.d_star == pytest.approx(0.5)
    with pytest.raises(ValueError):
        gaussian_game(0.0, 0.0)


def test_device_policy_on_this_machine():
    cpu = resolve_device("cpu")
    assert "threads" in hardware(cpu)
    assert autocast_dtype(cpu) is None  # the CPU default stays fp32
    assert autocast_dtype(cpu, True) == torch.bfloat16 and autocast_dtype(cpu, False) is None
    with pytest.raises(ValueError, match="unknown device"):
        resolve_device("foo")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            resolve_device("cuda")


def test_train_flags_come_from_trainconfig():
    args = build_parser().parse_args(["train"])
    for f in dataclasses.fields(TrainConfig):
        assert f.name in TRAIN_HELP, f"TrainConfig.{f.name} has no --{f.name} flag"
        expected = CLI_DEFAULTS.get(f.name, f.default)
        if f.name != "steps":  # steps: per dataset, decided once the data are loaded
            assert getattr(args, f.name) == expected, f.name
    args = build_parser().parse_args(["train", "--lr-g", "1e-3", "--no-amp", "--d-steps", "2"])
    assert (args.lr_g, args.amp, args.d_steps) == (1e-3, False, 2)


def test_manifest_writer_records_a_run(tmp_path):
    from dcgan_lib.cli import main

    out = tmp_path / "run"
    assert main(["train", "--dry-run", "--no-progress", "--out", str(out)]) == 0
    ckpt = out / "checkpoint.pt"
    entry = manifest_entry(ckpt, ["python -m dcgan_lib train --dry-run"], note="test")
    assert entry["steps"] == 2 and entry["batch_size"] == 64 and entry["note"] == "test"
    assert entry["sha256"] and entry["size_bytes"] == ckpt.stat().st_size
    path = record_in_manifest(ckpt, entry, tmp_path)
    assert json.loads(path.read_text())["checkpoints"]["run/checkpoint.pt"] == entry
    assert load_checkpoint(ckpt)["meta"]["command"].startswith("python -m dcgan_lib")


def test_describe_figure_says_what_a_figure_shows():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from dcgan_lib import describe_figure

    fig, axes = plt.subplots(1, 2)
    fig.suptitle("Training\ncurves")
    axes[0].set_title("losses")
    assert describe_figure(fig) == "Figure: Training curves: losses"
    fig2, ax = plt.subplots()
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    assert describe_figure(fig2) == "Figure: loss against step"
    fig3, _ = plt.subplots(2, 2)
    assert describe_figure(fig3) == "Figure: 4 panel(s)"
    plt.close("all")
