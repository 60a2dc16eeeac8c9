"""Checkpoints (atomic, weights_only, clear errors) and the command line on tiny arguments."""

import subprocess
import sys

import pytest
import torch

from dcgan_lib import (
    CheckpointError,
    Discriminator,
    Generator,
    TrainConfig,
    Trainer,
    load_checkpoint,
    load_generator,
    save_checkpoint,
)


def tiny_trainer():
    torch.manual_seed(0)
    data = torch.rand(64, 1, 16, 16) * 2 - 1
    return Trainer(
        Generator(8, 16, 1, 4),
        Discriminator(16, 1, 4),
        data,
        TrainConfig(steps=2, batch_size=16, progress=False),
    )


def test_generator_rebuilt_from_file_alone_gives_same_samples(tmp_path):
    t = tiny_trainer()
    t.fit()
    t.save(tmp_path / "c.pt")
    G = load_generator(tmp_path / "c.pt")
    z = torch.randn(5, 8)
    t.G.eval()
    with torch.no_grad():
        assert torch.equal(G(z), t.G(z))


def test_atomic_write_keeps_old_file_when_saving_fails(tmp_path, monkeypatch):
    path = tmp_path / "c.pt"
    save_checkpoint(path, {"step": 1})

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", boom)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, {"step": 2})
    monkeypatch.undo()
    assert load_checkpoint(path)["step"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]  # no temporary file left behind


def test_clear_errors(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint file"):
        load_checkpoint(tmp_path / "missing.pt")
    foreign = tmp_path / "foreign.pt"
    torch.save({"model": torch.zeros(2)}, foreign)
    with pytest.raises(CheckpointError, match="not a dcgan_lib checkpoint"):
        load_checkpoint(foreign)
    good = tmp_path / "good.pt"
    t = tiny_trainer()
    t.save(good)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(truncated)


class Evil:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_pickled_code_is_refused(tmp_path, capsys):
    path = tmp_path / "evil.pt"
    torch.save({"format": "dcgan_lib.checkpoint/1", "x": Evil()}, path)
    with pytest.raises(CheckpointError, match="unsafe"):
        load_checkpoint(path)
    assert "must never run" not in capsys.readouterr().out


def run_cli(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "dcgan_lib", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


def test_cli_train_then_sample(tmp_path):
    out = tmp_path / "run"
    r = run_cli(
        "train",
        "--steps",
        "3",
        "--limit",
        "200",
        "--batch_size",
        "16",
        "--out",
        str(out),
        "--no-progress",
    )
    assert r.returncode == 0, r.stderr
    assert (out / "checkpoint.pt").is_file() and (out / "samples.png").is_file()
    state = load_checkpoint(out / "checkpoint.pt")
    assert state["step"] == 3 and state["meta"]["dataset"] == "digits"
    assert state["meta"]["command"].startswith("python -m dcgan_lib train")
    grid = tmp_path / "grid.png"
    r = run_cli(
        "sample", "--checkpoint", str(out / "checkpoint.pt"), "--n", "16", "--out", str(grid)
    )
    assert r.returncode == 0, r.stderr
    from PIL import Image

    assert Image.open(grid).size[0] > 16 * 4


def test_cli_resume_continues(tmp_path):
    out = tmp_path / "run"
    common = ["--limit", "200", "--batch_size", "16", "--out", str(out), "--no-progress"]
    assert run_cli("train", "--steps", "2", *common).returncode == 0
    r = run_cli("train", "--steps", "4", "--resume", *common)
    assert r.returncode == 0, r.stderr
    assert load_checkpoint(out / "checkpoint.pt")["step"] == 4


def test_cli_dry_run_and_help(tmp_path):
    r = run_cli("train", "--dry-run", "--no-progress", "--out", str(tmp_path / "dry-run"))
    assert r.returncode == 0, r.stderr
    for cmd in ("train", "sample"):
        h = run_cli(cmd, "--help")
        assert h.returncode == 0 and "--" in h.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "--dataset", "imagenet"], "unknown dataset"),
        (["train", "--image_size", "48"], "power of two"),
        (["sample", "--checkpoint", "/nonexistent/c.pt"], "no checkpoint file"),
    ],
)
def test_cli_bad_arguments_one_line_no_traceback(args, message):
    r = run_cli(*args)
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], r.stderr


def test_cli_truncated_and_foreign_checkpoints(tmp_path):
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(3)}, foreign)
    truncated = tmp_path / "t.pt"
    truncated.write_bytes(b"PK\x03\x04 not really a zip")
    for path, message in (
        (foreign, "not a dcgan_lib checkpoint"),
        (truncated, "not a readable checkpoint"),
    ):
        r = run_cli("sample", "--checkpoint", str(path))
        assert r.returncode != 0 and "Traceback" not in r.stderr and message in r.stderr


def test_cli_seed_fixes_the_whole_run(tmp_path):
    states = []
    for name in ("a", "b"):
        out = tmp_path / name
        r = run_cli(
            "train",
            "--steps",
            "2",
            "--limit",
            "200",
            "--batch_size",
            "16",
            "--seed",
            "5",
            "--out",
            str(out),
            "--no-progress",
        )
        assert r.returncode == 0, r.stderr
        states.append(load_checkpoint(out / "checkpoint.pt")["generator"]["state_dict"])
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])


# -- the stabilisers in checkpoints and on the command line -------------------------------


def test_spectrally_normalised_discriminator_saves_and_loads(tmp_path):
    from dcgan_lib import SNDiscriminator, load_model

    torch.manual_seed(0)
    data = torch.rand(64, 1, 16, 16) * 2 - 1
    cfg = TrainConfig(steps=2, batch_size=16, progress=False)
    t = Trainer(Generator(8, 16, 1, 4), SNDiscriminator(16, 1, 4), data, cfg)
    t.fit()
    t.save(tmp_path / "c.pt")  # plain tensors only: loaded with weights_only=True
    D = load_model(tmp_path / "c.pt", "discriminator")
    assert isinstance(D, SNDiscriminator) and not D.training
    saved = t.D.state_dict()
    assert any(k.endswith("parametrizations.weight.original") for k in saved)
    assert all(torch.equal(v, D.state_dict()[k]) for k, v in saved.items())  # u, v included
    t.D.eval()
    with torch.no_grad():
        assert torch.equal(D(data[:4]), t.D(data[:4]))
    torch.manual_seed(1)
    again = Trainer(Generator(8, 16, 1, 4), SNDiscriminator(16, 1, 4), data, cfg)
    again.resume(tmp_path / "c.pt")
    assert all(torch.equal(v, again.D.state_dict()[k]) for k, v in saved.items())


def test_cli_trains_with_the_stabilisers_and_exports_the_moving_average(tmp_path, capsys):
    from dcgan_lib import SNDiscriminator, load_model
    from dcgan_lib.cli import main

    out, ckpt = tmp_path / "run", tmp_path / "run" / "checkpoint.pt"
    tiny = ["--dry-run", "--no-progress", "--image-size", "16", "--width", "4", "--latent-dim", "8"]
    flags = ["--spectral-norm", "--loss", "hinge", "--r1-gamma", "1", "--ema-decay", "0.9"]
    ttur = ["--lr-d", "4e-4", "--lr-g", "1e-4"]
    assert main(["train", *tiny, *flags, *ttur, "--out", str(out)]) == 0
    state = load_checkpoint(ckpt)
    assert state["discriminator"]["config"]["class"] == "SNDiscriminator"
    config = state["train_config"]
    assert (config["loss"], config["r1_gamma"], config["ema_decay"]) == ("hinge", 1.0, 0.9)
    assert (config["lr_d"], config["lr_g"]) == (4e-4, 1e-4)
    assert isinstance(load_model(ckpt, "discriminator"), SNDiscriminator)
    assert main(["sample", "--checkpoint", str(ckpt), "--ema", "--n", "4", "--out",
                 str(tmp_path / "ema.png")]) == 0  # fmt: skip
    exported = tmp_path / "ema.pt"
    assert main(["export", "--checkpoint", str(ckpt), "--ema", "--generator-only", "--out",
                 str(exported)]) == 0  # fmt: skip
    ema = load_model(ckpt, "generator_ema").state_dict()
    plain = load_model(ckpt, "generator").state_dict()
    assert all(torch.equal(v, load_generator(exported).state_dict()[k]) for k, v in ema.items())
    assert not all(torch.equal(v, plain[k]) for k, v in ema.items())
    assert load_checkpoint(exported)["meta"]["generator_weights"] == "ema"
    capsys.readouterr()
    # a run without the average, and --spectral-norm on another model: one-line errors
    assert main(["train", *tiny, "--out", str(tmp_path / "plain")]) == 0
    capsys.readouterr()
    plain_ckpt = str(tmp_path / "plain" / "checkpoint.pt")
    assert (
        main(["export", "--checkpoint", plain_ckpt, "--ema", "--out", str(tmp_path / "x.pt")]) == 1
    )
    assert "no moving average" in capsys.readouterr().err
    assert main(["train", *tiny, "--model", "mlp", "--spectral-norm", "--out",
                 str(tmp_path / "mlp")]) == 1  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert "--spectral-norm takes --model dcgan" in err and "\n" not in err
    assert main(["train", *tiny, "--r1-gamma", "-1"]) == 2
    assert "--r1-gamma" in capsys.readouterr().err
