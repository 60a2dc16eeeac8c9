"""Bad inputs, tried as a new user would: every one fails with a one-line reason naming the
flag, file or field and what to do, a non-zero exit status, and nothing lost.

Most cases drive the real command line in-process (``dcgan_lib.cli.main``, stderr read
with capsys); a few need a process of their own (Ctrl-C, a kill during a write, a second
training into a folder in use). Runs are tiny: digits, 200 images, width 4, a few steps.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from dcgan_lib import (
    CheckpointError,
    CheckpointEvery,
    Discriminator,
    Generator,
    MLPDiscriminator,
    MLPGenerator,
    NonFiniteLossError,
    TrainConfig,
    Trainer,
    export_checkpoint,
    load_checkpoint,
    load_dataset,
    pretrained,
    save_checkpoint,
)
from dcgan_lib import data as data_module
from dcgan_lib.checkpoint import remove_stale_temporaries
from dcgan_lib.cli import main
from dcgan_lib.imagefiles import UnreadableImageError

ROOT = Path(__file__).resolve().parent.parent
TINY = ["--limit", "200", "--batch-size", "16", "--width", "4", "--latent-dim", "8"]
TINY += ["--no-progress"]
DEAD_PID = 2**22 + 12345  # above Linux's largest pid: never a running process


def cli(capsys, *argv):
    """(exit status, the stderr lines) of ``python -m dcgan_lib ARGV``, run in-process."""
    capsys.readouterr()
    code = main([str(a) for a in argv])
    return code, [line for line in capsys.readouterr().err.splitlines() if line.strip()]


def one_line(lines, *words):
    assert len(lines) == 1, lines
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


def states_equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A tiny finished training run: (its folder, its checkpoint)."""
    out = tmp_path_factory.mktemp("bad") / "run"
    assert main(["train", *TINY, "--steps", "2", "--out", str(out)]) == 0
    return out, out / "checkpoint.pt"


# ---------------------------------------------------------------------------------------
# Flags: checked where they are parsed, exit status 2, the message names the flag

FLAG_CASES = [
    (["train", "--steps", "0"], "--steps", "positive integer"),
    (["train", "--steps", "-5"], "--steps", "positive integer"),
    (["train", "--checkpoint_every", "0"], "--checkpoint_every", "positive integer"),
    (["train", "--sample-every", "-1"], "--sample_every", "non-negative integer"),
    (["train", "--time-limit", "-1"], "--time_limit", "positive number"),
    (["train", "--time-limit", "nan"], "--time_limit", "positive number"),
    (["train", "--device", "foo"], "--device", "unknown device 'foo'"),
    (["train", "--data-dir", "/nonexistent/data"], "--data_dir", "no such folder"),
    (["train", "--dataset", "imagenet"], "--dataset", "unknown dataset"),
    (["train", "--image-size", "512"], "--image_size", "power of two from 16 to 256"),
    (["train", "--image-size", "48"], "--image_size", "power of two"),
    (["train", "--lr-g", "0"], "--lr_g", "positive number"),
    (["train", "--beta1", "1"], "--beta1", "[0, 1)"),
    (["train", "--batch-size", "-3"], "--batch_size", "positive integer"),
    (["train", "--limit", "0"], "--limit", "positive integer"),
    (["train", "--width", "0"], "--width", "positive integer"),
    (["train", "--latent-dim", "x"], "--latent_dim", "positive integer"),
    (["train", "--hidden", "64", "0"], "--hidden", "positive integer"),
    (["train", "--seed", "-1"], "--seed", "non-negative integer"),
    (["train", "--d-steps", "0"], "--d_steps", "positive integer"),
    (["train", "--n-samples", "0"], "--n_samples", "positive integer"),
    (["train", "--log-every", "-2"], "--log_every", "non-negative integer"),
    (["train", "--num-workers", "-1"], "--num_workers", "non-negative integer"),
    (["train", "--resume", "--overwrite"], "--overwrite", "not allowed with argument --resume"),
    (["sample", "--checkpoint", "/nonexistent/c.pt"], "--checkpoint", "no checkpoint file"),
    (["sample", "--checkpoint", "CKPT", "--n", "0"], "--n", "positive integer"),
    (["sample", "--checkpoint", "CKPT", "--nrow", "0"], "--nrow", "positive integer"),
    (["export", "--checkpoint", "/nonexistent/c.pt", "--out", "x.pt"], "--checkpoint", "no "),
    (["evaluate", "--checkpoint", "CKPT", "--n", "1"], "--n", "at least 2"),
    (["evaluate", "--checkpoint", "CKPT", "--n-train", "-1"], "--n_train", "non-negative"),
    (["evaluate", "--checkpoint", "CKPT", "--device", "foo"], "--device", "unknown device"),
    (["evaluate", "--checkpoint", "CKPT", "--extractor", "foo"], "--extractor", "unknown"),
    (["evaluate", "--checkpoint", "CKPT", "--data-dir", "/nope"], "--data_dir", "no such"),
    (["train-classifier", "--out", "c.pt", "--epochs", "0"], "--epochs", "positive integer"),
    (["train-classifier", "--out", "c.pt", "--image-size", "12"], "--image_size", "from 8"),
    (["train-classifier", "--out", "c.pt", "--lr", "-1"], "--lr", "positive number"),
    (["train-classifier", "--out", "c.pt", "--batch-size", "0"], "--batch_size", "positive"),
]
if not torch.cuda.is_available():
    FLAG_CASES.append((["train", "--device", "cuda"], "--device", "no CUDA GPU"))


@pytest.mark.parametrize("argv, flag, problem", FLAG_CASES, ids=lambda v: " ".join(v)[:50])
def test_bad_flag_names_the_flag(capsys, run, argv, flag, problem):
    argv = [str(run[1]) if a == "CKPT" else a for a in argv]
    code, lines = cli(capsys, *argv)
    assert code == 2
    line = one_line(lines, f"argument {flag}", problem)
    assert "--help" in line


def test_a_bad_flag_is_one_line_from_the_shell(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "dcgan_lib", "train", "--steps", "0"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert r.returncode == 2 and "Traceback" not in r.stderr
    one_line(r.stderr.splitlines(), "argument --steps", "positive integer")
    assert not (tmp_path / "runs").exists()  # refused before anything was made


# ---------------------------------------------------------------------------------------
# Output paths: checked before the work, nothing overwritten unless asked


def test_output_paths_checked_before_the_work(capsys, run, tmp_path):
    ckpt = run[1]
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine")
    cases = [
        (["sample", "--checkpoint", ckpt, "--out", tmp_path], "is a folder"),
        (["sample", "--checkpoint", ckpt, "--out", tmp_path / "g.pt"], "name an image file"),
        (["sample", "--checkpoint", ckpt, "--out", a_file / "g.png"], "is a file, not a folder"),
        (["export", "--checkpoint", ckpt, "--out", ckpt], "is the --checkpoint itself"),
        (["export", "--checkpoint", ckpt, "--out", a_file], "not a dcgan_lib checkpoint"),
        (["evaluate", "--checkpoint", ckpt, "--json", tmp_path], "is a folder"),
        (["train", *TINY, "--out", a_file], "is a file, not a folder"),
        # refused before its minutes of training, not after
        (["train-classifier", "--dataset", "digits", "--out", ckpt], "training checkpoint"),
    ]
    for argv, problem in cases:
        code, lines = cli(capsys, *argv)
        assert code == 1, argv
        one_line(lines, problem)
    assert a_file.read_text() == "mine" and load_checkpoint(ckpt)["step"] == 2


def test_export_never_writes_over_a_training_checkpoint_unless_asked(capsys, run, tmp_path):
    other = tmp_path / "other.pt"
    save_checkpoint(other, load_checkpoint(run[1]))  # a second, resumable training state
    code, lines = cli(capsys, "export", "--checkpoint", run[1], "--out", other)
    assert code == 1
    one_line(lines, str(other), "holds a training checkpoint", "--overwrite")
    assert "opt_g" in load_checkpoint(other)
    assert cli(capsys, "export", "--checkpoint", run[1], "--out", other, "--overwrite")[0] == 0
    assert "opt_g" not in load_checkpoint(other)
    small = tmp_path / "small.pt"  # an exported copy is made again freely (the manifest does)
    assert cli(capsys, "export", "--checkpoint", run[1], "--out", small)[0] == 0
    assert cli(capsys, "export", "--checkpoint", run[1], "--out", small)[0] == 0
    with pytest.raises(CheckpointError, match="its own source"):
        export_checkpoint(run[1], run[1])


# ---------------------------------------------------------------------------------------
# Run folders: refused unless --resume or --overwrite; one training per folder


def test_a_run_folder_is_never_silently_overwritten(capsys, tmp_path):
    out = tmp_path / "run"
    assert cli(capsys, "train", *TINY, "--steps", "2", "--out", out)[0] == 0
    before = load_checkpoint(out / "checkpoint.pt")
    code, lines = cli(capsys, "train", *TINY, "--steps", "3", "--out", out)
    assert code == 1
    one_line(lines, str(out), "already holds a run at step 2", "--resume", "--out", "--overwrite")
    assert states_equal(
        before["generator"]["state_dict"],
        load_checkpoint(out / "checkpoint.pt")["generator"]["state_dict"],
    )
    assert cli(capsys, "train", *TINY, "--steps", "3", "--out", out, "--overwrite")[0] == 0
    assert load_checkpoint(out / "checkpoint.pt")["step"] == 3
    code, lines = cli(capsys, "train", *TINY, "--out", tmp_path / "empty", "--resume")
    assert code == 1
    one_line(lines, "--resume", "holds no checkpoint.pt", "drop --resume")
    assert not (tmp_path / "empty").exists()  # a refused run leaves no folder behind


def test_the_default_folder_is_refused_the_second_time(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli(capsys, "train", *TINY, "--steps", "1")[0] == 0
    assert (tmp_path / "runs/digits-dcgan/checkpoint.pt").is_file()
    code, lines = cli(capsys, "train", *TINY, "--steps", "1")
    assert code == 1
    one_line(lines, "runs/digits-dcgan already holds a run", "--out NEW_FOLDER")


def test_lock_file_keeps_a_second_training_out(capsys, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (out / ".lock").write_text(f"{sleeper.pid}\n")  # a live training's lock
        code, lines = cli(capsys, "train", *TINY, "--steps", "1", "--out", out)
        assert code == 1
        one_line(lines, "is in use", f"pid {sleeper.pid}", "--out")
        assert not (out / "checkpoint.pt").exists()
    finally:
        sleeper.kill()
        sleeper.wait()
    (out / ".lock").write_text(f"{DEAD_PID}\n")  # left by a killed training: taken over
    assert cli(capsys, "train", *TINY, "--steps", "1", "--out", out)[0] == 0
    assert not (out / ".lock").exists()  # removed at exit
    assert load_checkpoint(out / "checkpoint.pt")["step"] == 1


# ---------------------------------------------------------------------------------------
# Resume: a mismatch names the fields; a file that cannot be resumed says what it is


def test_resume_mismatch_names_the_fields(capsys, tmp_path):
    out = tmp_path / "run"
    assert cli(capsys, "train", *TINY, "--steps", "1", "--out", out)[0] == 0
    cases = [
        (["--width", "8"], ["width=4 (this run: 8)"]),
        (["--latent-dim", "16"], ["latent_dim=8 (this run: 16)"]),
        (["--image-size", "32"], ["image_size=16 (this run: 32)"]),
        (["--channels", "3"], ["channels=1 (this run: 3)"]),
        (["--model", "mlp"], ["generator class Generator (this run: MLPGenerator)"]),
    ]
    for flags, words in cases:
        argv = ["train", *TINY, *flags]  # the last of a repeated flag counts
        code, lines = cli(capsys, *argv, "--steps", "2", "--out", out, "--resume")
        assert code == 1, flags
        one_line(lines, "cannot resume", *words, "flags it was trained with")
    assert load_checkpoint(out / "checkpoint.pt")["step"] == 1
    dry = tmp_path / "dry"
    dry_flags = ["--image-size", "16", "--width", "4", "--latent-dim", "8", "--batch-size", "16"]
    assert cli(capsys, "train", "--dry-run", *dry_flags, "--no-progress", "--out", dry)[0] == 0
    code, lines = cli(capsys, "train", *TINY, "--steps", "3", "--out", dry, "--resume")
    assert code == 1
    one_line(lines, "dataset random (this run: digits)")


def test_files_that_cannot_be_resumed_say_what_they_are(capsys, run, tmp_path):
    files = {
        "generator-only": ("an exported, generator-only copy", ["--generator-only"]),
        "exported": ("an exported copy", []),
    }
    for name, (what, flags) in files.items():
        out = tmp_path / name
        out.mkdir()
        argv = ["export", "--checkpoint", run[1], "--out", out / "checkpoint.pt", *flags]
        assert cli(capsys, *argv)[0] == 0
        code, lines = cli(capsys, "train", *TINY, "--steps", "3", "--out", out, "--resume")
        assert code == 1
        one_line(lines, what, "not resumed", "checkpoint.pt")
    out = tmp_path / "classifier"
    out.mkdir()
    (out / "checkpoint.pt").write_bytes((ROOT / "checkpoints/classifier_digits16.pt").read_bytes())
    code, lines = cli(capsys, "train", *TINY, "--steps", "3", "--out", out, "--resume")
    assert code == 1
    one_line(lines, "holds a classifier", "train-classifier", "cannot be resumed")
    G, D = Generator(8, 16, 1, 4), Discriminator(16, 1, 4)
    t = Trainer(G, D, torch.zeros(32, 1, 16, 16), TrainConfig(batch_size=16, progress=False))
    with pytest.raises(CheckpointError, match="generator-only"):
        t.resume(tmp_path / "generator-only/checkpoint.pt")


# ---------------------------------------------------------------------------------------
# The models and the trainer: contracts checked at the door


def dcgan(size=16, channels=1):
    torch.manual_seed(0)
    return Generator(8, size, channels, 4), Discriminator(size, channels, 4)


def images(n=32, size=16, channels=1):
    return torch.rand(n, channels, size, size) * 2 - 1


CONTRACT_CASES = {  # case: (models, data, words the message must hold)
    "larger images": (dcgan, images(size=32), ["(1, 32, 32)", "image_size=16"]),
    "smaller images": (dcgan, images(size=8), ["(1, 8, 8)", "image_size=16"]),
    "other channels": (dcgan, images(channels=3), ["(3, 16, 16)", "channels=1"]),
    "pixels 0..255": (dcgan, (images() + 1) * 127.5, ["[0, 255]", "x / 127.5 - 1"]),
    "uint8": (dcgan, ((images() + 1) * 127.5).to(torch.uint8), ["torch.uint8", "x.float()"]),
    "float64": (dcgan, images().double(), ["torch.float64", "x.to(torch.float32)"]),
    "streamed, other size": (
        dcgan,
        torch.utils.data.TensorDataset(images(size=32)),
        ["streamed data (first item)", "image_size=16"],
    ),
    "G and D disagree": (
        lambda: (Generator(8, 16, 1, 4), Discriminator(32, 1, 4)),
        images(),
        ["generator makes", "(1, 32, 32)"],
    ),
    "mlp, other shape": (
        lambda: (MLPGenerator(8, (1, 16, 16), (16,)), MLPDiscriminator((1, 16, 16), (16,))),
        images(size=28),
        ["(1, 28, 28)", "(1, 16, 16)"],
    ),
}


@pytest.mark.parametrize("case", list(CONTRACT_CASES))
def test_the_trainer_refuses_data_the_models_cannot_use(case):
    pair, data, words = CONTRACT_CASES[case]
    G, D = pair()
    with pytest.raises((ValueError, TypeError)) as err:
        Trainer(G, D, data, TrainConfig(batch_size=16, progress=False))
    message = str(err.value)
    assert "\n" not in message and all(w in message for w in words), message


def test_data_holding_nan_reach_the_nan_guard():
    data = images()
    data[3] = float("nan")  # the book shows the guard stopping at the first bad step
    t = Trainer(*dcgan(), data, TrainConfig(steps=20, batch_size=16, progress=False))
    with pytest.raises(NonFiniteLossError, match="loss became nan"):
        t.fit()


def test_discriminator_says_which_size_it_takes():
    with pytest.raises(ValueError, match=r"takes images of shape \(B, 1, 16, 16\).*image_size=16"):
        Discriminator(16, 1, 4)(torch.zeros(2, 1, 32, 32))
    with pytest.raises(ValueError, match=r"\(B, 1, 16, 16\), got \(2, 3, 16, 16\)"):
        Discriminator(16, 1, 4)(torch.zeros(2, 3, 16, 16))


def test_the_api_refuses_bad_settings_too():
    for bad, field in (
        (dict(sample_every=-1), "sample_every"),
        (dict(time_limit=-1.0), "time_limit"),
        (dict(log_every=-1), "log_every"),
        (dict(num_workers=-1), "num_workers"),
    ):
        with pytest.raises(ValueError, match=field):
            TrainConfig(**bad)
    with pytest.raises(FileNotFoundError, match="is not a folder"):  # no silent fallback
        load_dataset("fashion-mnist", data_dir="/nonexistent/data")
    with pytest.raises(ValueError, match=r"GB of memory available.*smaller image_size"):
        load_dataset("digits", image_size=8192)  # 385 GB: refused before allocating


# ---------------------------------------------------------------------------------------
# The guard: no non-finite or exploded state is saved; a diverging run stops, exit 1


def trained(tmp_path, steps=2):
    path = tmp_path / "c.pt"
    t = Trainer(*dcgan(), images(64), TrainConfig(steps=steps, batch_size=16, progress=False), [])
    t.callbacks.append(CheckpointEvery(path, every=1))
    t.fit()
    return t, path


@pytest.mark.parametrize(
    "poison, words",
    [
        (float("nan"), ["generator's net.0.weight holds non-finite values", "not saved"]),
        (1e31, ["generator's net.0.weight reached |w| = 1e+31", "not saved"]),
    ],
)
def test_no_checkpoint_with_bad_weights(tmp_path, poison, words):
    t, path = trained(tmp_path)
    good = load_checkpoint(path)
    with torch.no_grad():
        next(t.G.parameters())[0] = poison
    with pytest.raises(NonFiniteLossError) as err:
        t.save(path)
    message = str(err.value)
    assert all(w in message for w in words) and f"{path} (step 2), is intact" in message
    assert states_equal(
        good["generator"]["state_dict"], load_checkpoint(path)["generator"]["state_dict"]
    )


def test_weights_gone_bad_after_a_finite_loss_are_never_saved(tmp_path):
    """The losses of a step are computed before its update: the update may still break."""

    class BreakAfter:
        def on_step_end(self, trainer):
            if trainer.step == 3:
                with torch.no_grad():
                    next(trainer.D.parameters()).fill_(float("inf"))

        def on_train_end(self, trainer): ...

    t, path = trained(tmp_path)
    t.callbacks.insert(0, BreakAfter())
    with pytest.raises(NonFiniteLossError, match=r"step 3: the discriminator's .* non-finite"):
        t.fit(steps=5)
    assert load_checkpoint(path)["step"] == 2


def test_a_buffer_gone_bad_fails_the_run_at_its_end(tmp_path):
    t, _ = trained(tmp_path)
    bn = next(m for m in t.G.modules() if isinstance(m, torch.nn.BatchNorm2d))
    bn.running_var.fill_(float("inf"))  # training mode never reads it; sampling would
    t.callbacks.clear()
    with pytest.raises(NonFiniteLossError, match="running_var holds non-finite"):
        t.fit(steps=3)


def test_a_diverging_run_exits_non_zero_keeping_the_last_good_checkpoint(capsys, tmp_path):
    out = tmp_path / "run"
    argv = ["train", *TINY, "--model", "mlp", "--hidden", "16", "16", "--lr-g", "100"]
    argv += ["--lr-d", "100", "--steps", "50", "--checkpoint-every", "1", "--out", out]
    code, lines = cli(capsys, *argv)
    assert code == 1
    line = one_line(lines, "training stopped at step", "the run diverged", "is intact")
    kept = load_checkpoint(out / "checkpoint.pt")
    assert f"(step {kept['step']})" in line and kept["step"] < 50
    assert all(torch.isfinite(v).all() for v in kept["generator"]["state_dict"].values())


# ---------------------------------------------------------------------------------------
# Image folders: every unreadable file named, in memory and streamed, or skipped


@pytest.fixture
def folder(tmp_path):
    """20 PNGs, of which three cannot be read (truncated, garbage, empty)."""
    rng = np.random.default_rng(0)
    good = []
    for i in range(17):
        path = tmp_path / f"img{i:02d}.png"
        Image.fromarray(rng.integers(0, 255, (20, 20, 3), dtype=np.uint8)).save(path)
        good.append(path)
    bad = [tmp_path / "truncated.png", tmp_path / "garbage.png", tmp_path / "empty.jpg"]
    bad[0].write_bytes(good[0].read_bytes()[:60])
    bad[1].write_bytes(b"not an image at all")
    bad[2].write_bytes(b"")
    return tmp_path, {p.name for p in bad}


def test_every_unreadable_file_is_named(folder):
    data_dir, bad = folder
    named = set()
    for split in ("train", "test"):
        try:
            load_dataset("folder", data_dir=data_dir, image_size=16, split=split)
        except UnreadableImageError as e:
            message = str(e)
            assert "\n" not in message and "skip_unreadable=True" in message
            named |= {name for name in bad if name in message}
    assert named == bad


def test_unreadable_files_can_be_skipped_and_counted(folder, capsys):
    data_dir, bad = folder
    train = load_dataset("folder", data_dir=data_dir, image_size=16, skip_unreadable=True)
    test = load_dataset("folder", data_dir=data_dir, image_size=16, split="test", skip_unreadable=1)
    assert len(train) + len(test) == 17 and torch.isfinite(train.x).all()
    err = capsys.readouterr().err
    assert err.count("skipped") >= 1 and all(name in err for name in bad)


def test_streamed_folder_names_the_file_in_one_line(folder, monkeypatch):
    data_dir, bad = folder
    monkeypatch.setattr(data_module, "LAZY_THRESHOLD", 5)  # stream it, through a worker
    data = load_dataset("folder", data_dir=data_dir, image_size=16)
    good_first = [p for p in data.x.paths if p.name not in bad]
    data.x.paths = good_first[:1] + data.x.paths  # the contract reads item 0: keep it good
    data.x._bad = torch.zeros(len(data.x.paths), dtype=torch.bool).share_memory_()
    cfg = TrainConfig(steps=50, batch_size=4, progress=False, num_workers=1)
    with pytest.raises(UnreadableImageError) as err:
        Trainer(*dcgan(channels=3), data, cfg).fit()
    message = str(err.value)
    assert "\n" not in message and "Traceback" not in message, message
    assert any(name in message for name in bad) and "--skip-unreadable" in message

    data = load_dataset("folder", data_dir=data_dir, image_size=16, skip_unreadable=True)
    Trainer(*dcgan(channels=3), data, cfg).fit()
    met = {p.name for p in data.x.unreadable()}  # marked by the worker, seen here
    assert met and met <= bad


def test_cli_folder_errors_and_skip(folder, capsys):
    data_dir, bad = folder
    argv = ["train", "--dataset", "folder", "--data-dir", data_dir, "--image-size", "16"]
    argv += ["--batch-size", "4", "--width", "4", "--latent-dim", "8", "--no-progress"]
    argv += ["--steps", "1", "--out", data_dir / "run"]
    code, lines = cli(capsys, *argv)
    assert code == 1
    line = one_line(lines, "image files cannot be read", "--skip-unreadable")
    assert sum(name in line for name in bad) >= 2  # those of the training split, all named
    code, lines = cli(capsys, *argv, "--skip-unreadable")
    assert code == 0 and "skipped" in " ".join(lines)


# ---------------------------------------------------------------------------------------
# Ctrl-C, kills and leftovers


def test_interrupt_before_training_is_truthful(capsys, tmp_path, monkeypatch, run):
    from dcgan_lib.cli import training

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(training, "load_dataset", interrupted)
    code, lines = cli(capsys, "train", *TINY, "--out", tmp_path / "new")
    assert code == 130
    one_line(lines, "interrupted", "nothing was saved", "no checkpoint was written")
    code, lines = cli(capsys, "train", *TINY, "--out", run[0], "--resume")
    assert code == 130
    one_line(lines, "interrupted", f"the last checkpoint written, {run[1]}, is intact")


def test_ctrl_c_saves_at_a_step_boundary_and_resumes_exactly(capsys, tmp_path):
    """SIGINT to `train` in its own process: it finishes the step, writes the checkpoint and
    exits 130; a second training into the folder meanwhile is refused; resuming to N steps
    then gives bit for bit the weights of an uninterrupted run to N steps."""
    out, full = tmp_path / "run", tmp_path / "full"
    common = [*TINY, "--seed", "3", "--checkpoint-every", "1"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "dcgan_lib", "train", *common, "--steps", "100000", "--out", out],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 90
        while not (out / "checkpoint.pt").exists() and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        code, lines = cli(capsys, "train", *common, "--steps", "5", "--out", out, "--resume")
        assert code == 1
        one_line(lines, "is in use", f"pid {proc.pid}")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    k = load_checkpoint(out / "checkpoint.pt")["step"]
    one_line(err.splitlines(), f"interrupted: at step {k}; wrote", "--resume")
    assert not (out / ".lock").exists()

    n = k + 3
    assert cli(capsys, "train", *common, "--steps", n, "--out", out, "--resume")[0] == 0
    assert cli(capsys, "train", *common, "--steps", n, "--out", full)[0] == 0
    resumed, straight = (load_checkpoint(p / "checkpoint.pt") for p in (out, full))
    assert resumed["step"] == straight["step"] == n
    for which in ("generator", "discriminator"):
        assert states_equal(resumed[which]["state_dict"], straight[which]["state_dict"])


KILLED_WRITER = textwrap.dedent("""
    import sys, time, torch
    from dcgan_lib import save_checkpoint

    def slow_save(obj, f):  # half a file, then stuck: the moment of a kill
        f.write(b"PK\\x03\\x04 half a checkpoint")
        f.flush()
        print("writing", flush=True)
        time.sleep(60)

    torch.save = slow_save
    save_checkpoint(sys.argv[1], {"step": 2})
""")


def test_a_kill_during_a_write_keeps_the_old_checkpoint(capsys, tmp_path):
    path = tmp_path / "run" / "checkpoint.pt"
    save_checkpoint(path, {"step": 1, "weights": torch.arange(5.0)})
    before = path.read_bytes()
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "writing"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert path.read_bytes() == before and load_checkpoint(path)["step"] == 1
    leftovers = list(path.parent.glob(".checkpoint.pt.*.tmp"))
    assert len(leftovers) == 1 and f".{proc.pid}." in leftovers[0].name
    mine = path.parent / f".checkpoint.pt.{os.getpid()}.x.tmp"  # a save under way: kept
    mine.write_bytes(b"")
    assert remove_stale_temporaries(path) == leftovers
    assert mine.exists()
    mine.unlink()
    (path.parent / f".checkpoint.pt.{DEAD_PID}.y.tmp").write_bytes(b"")
    save_checkpoint(path, {"step": 3})  # the next save cleans up too
    assert sorted(p.name for p in path.parent.iterdir()) == ["checkpoint.pt"]


def test_training_start_removes_leftovers_of_killed_saves(capsys, run):
    leftover = run[0] / f".checkpoint.pt.{DEAD_PID}.abc.tmp"
    leftover.write_bytes(b"half")
    code, lines = cli(capsys, "train", *TINY, "--steps", "2", "--out", run[0], "--resume")
    assert code == 0 and not leftover.exists()


def test_pretrained_refuses_a_file_that_does_not_match_its_sha256(tmp_path, monkeypatch):
    (tmp_path / "dcgan_x.pt").write_bytes(b"not the file the manifest describes")
    manifest = {
        "checkpoints": {
            "dcgan_x.pt": {
                "sha256": "0" * 64,
                "commands": ["python -m dcgan_lib train --out runs/x"],
            }
        }
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    monkeypatch.setenv("DCGAN_CHECKPOINT_DIR", str(tmp_path))
    with pytest.raises(ValueError, match=r"dcgan_x.pt does not match the manifest's sha256"):
        pretrained("dcgan_x.pt")
    with pytest.raises(ValueError, match="no shipped checkpoint named 'other.pt'"):
        pretrained("other.pt")
