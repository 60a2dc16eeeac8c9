"""The training steps, the loop, history, exact resume, NaN handling, compile and DDP."""

import importlib
import os
import subprocess
import sys
import textwrap

import pytest
import torch

from dcgan_lib import (
    CheckpointEvery,
    Discriminator,
    Generator,
    MLPDiscriminator,
    MLPGenerator,
    NonFiniteLossError,
    TrainConfig,
    Trainer,
    discriminator_step,
    generator_step,
    load_checkpoint,
    resolve_device,
)


def small_pair(seed=0):
    torch.manual_seed(seed)
    return Generator(16, 16, 1, 8), Discriminator(16, 1, 8)


def fake_images(n=256, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, 16, 16, generator=g) * 2 - 1


def snapshot(model):
    return [p.detach().clone() for p in model.parameters()]


def changed(model, before):
    return [not torch.equal(p, b) for p, b in zip(model.parameters(), before)]


def test_discriminator_step_moves_only_d():
    G, D = small_pair()
    opt_d = torch.optim.Adam(D.parameters(), 2e-4, betas=(0.5, 0.999))
    g0, d0 = snapshot(G), snapshot(D)
    fake = G(torch.randn(8, 16))
    discriminator_step(D, opt_d, fake_images(8), fake.detach())
    assert not any(changed(G, g0)) and all(changed(D, d0))


def test_generator_step_moves_only_g():
    G, D = small_pair()
    opt_g = torch.optim.Adam(G.parameters(), 2e-4, betas=(0.5, 0.999))
    g0, d0 = snapshot(G), snapshot(D)
    generator_step(D, opt_g, G(torch.randn(8, 16)))
    assert all(changed(G, g0)) and not any(changed(D, d0))


def test_history_records_every_step_and_sample_grids():
    G, D = small_pair()
    h = Trainer(
        G, D, fake_images(), TrainConfig(steps=12, batch_size=16, sample_every=4, progress=False)
    ).fit()
    assert h.step == list(range(1, 13))
    for name in ("loss_d", "loss_g", "d_real", "d_fake", "grad_norm_d", "grad_norm_g", "time"):
        assert len(getattr(h, name)) == 12
    assert all(0 < p < 1 for p in h.d_real + h.d_fake)
    assert all(n > 0 for n in h.grad_norm_d + h.grad_norm_g)
    assert h.sample_steps == [0, 4, 8, 12]
    assert h.samples[0].shape == (64, 1, 16, 16) and h.samples[0].dtype == torch.uint8
    assert not torch.equal(h.samples[0], h.samples[-1])


def test_generator_learns_a_shifted_gaussian():
    torch.manual_seed(0)
    data = torch.randn(4096, 2) * 0.5 + torch.tensor([3.0, -2.0])
    G, D = MLPGenerator(4, (2,), (32, 32)), MLPDiscriminator((2,), (32, 32))
    t = Trainer(
        G, D, data, TrainConfig(steps=600, batch_size=128, lr_g=2e-3, lr_d=2e-3, progress=False)
    )
    before = t.sample(2000).mean(0)
    t.fit()
    after = t.sample(2000).mean(0)
    target = torch.tensor([3.0, -2.0])
    assert (before - target).norm() > 3
    assert (after - target).norm() < 0.5, after


def test_resume_gives_the_same_weights_as_an_uninterrupted_run(tmp_path):
    data = fake_images()
    cfg = dict(steps=10, batch_size=32, progress=False, seed=3)  # 8 batches/epoch: crosses an epoch
    G, D = small_pair()
    full = Trainer(G, D, data, TrainConfig(**cfg))
    full.fit()

    G, D = small_pair()
    first = Trainer(G, D, data, TrainConfig(**cfg))
    first.fit(steps=6)
    first.save(tmp_path / "c.pt")
    torch.manual_seed(999)  # disturb the global RNG: resume must restore it
    G, D = small_pair(seed=42)  # different initial weights: resume must overwrite them
    second = Trainer(G, D, data, TrainConfig(**cfg)).resume(tmp_path / "c.pt")
    second.fit()
    for a, b in zip(
        [*full.G.state_dict().values(), *full.D.state_dict().values()],
        [*second.G.state_dict().values(), *second.D.state_dict().values()],
    ):
        assert torch.equal(a, b)
    assert second.history.step == full.history.step
    assert second.history.loss_d == full.history.loss_d


def test_nan_stops_training_and_keeps_last_good_checkpoint(tmp_path):
    data = fake_images()
    G, D = small_pair()
    path = tmp_path / "run.pt"
    t = Trainer(
        G,
        D,
        data,
        TrainConfig(steps=4, batch_size=32, progress=False),
        [CheckpointEvery(path, every=2)],
    )
    t.fit()
    good = load_checkpoint(path)
    assert good["step"] == 4
    bad = data.clone()
    bad[:] = float("nan")
    t._batch.x = bad
    with pytest.raises(NonFiniteLossError, match="step 5.*loss became nan.*intact"):
        t.fit(steps=8)
    after = load_checkpoint(path)
    assert after["step"] == 4
    assert all(
        torch.equal(a, b)
        for a, b in zip(
            good["generator"]["state_dict"].values(), after["generator"]["state_dict"].values()
        )
    )


def test_config_validation():
    with pytest.raises(ValueError, match="steps"):
        TrainConfig(steps=0)
    with pytest.raises(ValueError, match="beta1"):
        TrainConfig(beta1=1.5)
    with pytest.raises(ValueError, match="loss"):
        TrainConfig(loss="wasserstein")
    with pytest.raises(ValueError, match="fewer than one batch"):
        Trainer(*small_pair(), fake_images(10), TrainConfig(batch_size=64))


def test_device_auto_and_missing_cuda():
    assert resolve_device("auto").type in ("cuda", "mps", "cpu")
    if not torch.cuda.is_available():
        assert resolve_device("auto").type == "cpu"
        with pytest.raises(ValueError, match="no CUDA GPU"):
            resolve_device("cuda")


def test_d_steps_and_time_limit():
    G, D = small_pair()
    t = Trainer(G, D, fake_images(), TrainConfig(steps=3, batch_size=16, d_steps=3, progress=False))
    t.fit()
    assert t.step == 3
    t = Trainer(
        *small_pair(),
        fake_images(),
        TrainConfig(steps=10_000, batch_size=16, time_limit=0.5, progress=False),
    )
    t.fit()
    assert 0 < t.step < 10_000


def test_streamed_dataset_path():
    ds = torch.utils.data.TensorDataset(fake_images(64))
    t = Trainer(
        *small_pair(), ds, TrainConfig(steps=5, batch_size=16, progress=False, num_workers=1)
    )
    assert len(t.fit()) == 5


def test_compiled_models_train():
    # torch.compile over two D passes with fake.detach() (pytorch issue 91542's shape);
    # aot_eager traces the graphs and autograd like inductor does, without a C++ build
    t = Trainer(
        *small_pair(),
        fake_images(),
        TrainConfig(steps=3, batch_size=16, compile="aot_eager", progress=False),
    )
    h = t.fit()
    assert len(h) == 3 and all(torch.isfinite(torch.tensor(h.loss_d)))


DDP_SCRIPT = textwrap.dedent("""
    import torch, torch.distributed as dist
    from dcgan_lib import Generator, Discriminator, Trainer, TrainConfig
    torch.manual_seed(dist.get_rank() if dist.is_initialized() else 0)
    import os; torch.manual_seed(int(os.environ["RANK"]))  # per-rank init differs: DDP must sync it
    G, D = Generator(16, 16, 1, 8), Discriminator(16, 1, 8)
    data = torch.rand(256, 1, 16, 16) * 2 - 1
    t = Trainer(G, D, data, TrainConfig(steps=4, batch_size=16, device="cpu", progress=False))
    t.fit()
    flat = torch.cat([p.detach().flatten() for p in [*G.parameters(), *D.parameters()]])
    out = [torch.zeros_like(flat) for _ in range(dist.get_world_size())]
    dist.all_gather(out, flat)
    assert dist.get_world_size() == 2 and t.world == 2
    assert torch.equal(out[0], out[1]), "replicas diverged"
    if dist.get_rank() == 0:
        print("DDP-OK", len(t.history))
    dist.destroy_process_group()
""")


def test_ddp_two_cpu_processes_with_gloo(tmp_path):
    script = tmp_path / "ddp.py"
    script.write_text(DDP_SCRIPT)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # dcgan_lib, uninstalled
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": root}
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node",
            "2",
            "--master_port",
            "29517",
            str(script),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    assert "DDP-OK 4" in r.stdout


# ---------------------------------------------------------------------------------------
# The generator's step inside the trainer: D frozen, no D gradients


def _d_grads_at_d_step(trainer):
    """D's gradients as the discriminator step leaves them (at its ``opt_d.step()``)."""
    seen, step = [], trainer.opt_d.step

    def spy(*args, **kwargs):
        seen[:] = [None if p.grad is None else p.grad.clone() for p in trainer.D.parameters()]
        return step(*args, **kwargs)

    trainer.opt_d.step = spy
    return seen


def test_trainer_generator_step_leaves_d_gradients_as_the_d_step_did():
    t = Trainer(*small_pair(), fake_images(), TrainConfig(steps=2, batch_size=16, progress=False))
    seen = _d_grads_at_d_step(t)
    for _ in range(2):
        t.train_step()
        after = [p.grad for p in t.D.parameters()]
        assert all(torch.equal(a, b) for a, b in zip(after, seen)), "G's step changed D's grads"
        assert all(p.requires_grad for p in t.D.parameters())


def test_trainer_generator_update_is_bit_identical_to_the_plain_steps():
    cfg = TrainConfig(steps=1, batch_size=16, progress=False)
    new = Trainer(*small_pair(), fake_images(), cfg)
    new.train_step()
    old = Trainer(*small_pair(), fake_images(), cfg)  # the same seeds: the same draws
    real = old._batch(0)
    fake = old.G(torch.randn(real.shape[0], old.latent_dim))
    discriminator_step(old.D, old.opt_d, real, fake.detach())
    generator_step(old.D, old.opt_g, fake)  # unfrozen: it also fills D's gradients
    for a, b in zip(
        [*new.G.state_dict().values(), *new.D.state_dict().values()],
        [*old.G.state_dict().values(), *old.D.state_dict().values()],
    ):
        assert torch.equal(a, b)
    assert all(torch.equal(a.grad, b.grad) for a, b in zip(new.G.parameters(), old.G.parameters()))
    assert not all(
        torch.equal(a.grad, b.grad) for a, b in zip(new.D.parameters(), old.D.parameters())
    )


def test_d_requires_grad_is_restored_when_the_generator_step_fails(monkeypatch):
    train_module = importlib.import_module("dcgan_lib.train")  # the package's `train` is a function
    t = Trainer(*small_pair(), fake_images(), TrainConfig(steps=1, batch_size=16, progress=False))

    def broken(D, *args, **kwargs):
        assert not any(p.requires_grad for p in t.D.parameters())  # frozen during the step
        raise RuntimeError("out of memory")

    monkeypatch.setattr(train_module, "generator_step", broken)
    with pytest.raises(RuntimeError, match="out of memory"):
        t.train_step()
    assert all(p.requires_grad for p in t.D.parameters())


# ---------------------------------------------------------------------------------------
# With every stabiliser at its default, training is bit for bit the plain DCGAN's

# Trainer(Generator(100, 16, 1, 8), Discriminator(16, 1, 8)) on 256 random images, batch 16,
# seed 0, 20 steps on a CPU, recorded before the stabilisers were added (torch 2.x, fp32)
RECORDED_LOSS_D = [
    1.3114359378814697, 1.3161320686340332, 1.2968682050704956, 1.3269518613815308,
    1.3286097049713135, 1.2913367748260498, 1.3088715076446533, 1.2806396484375,
    1.3053207397460938, 1.2807626724243164, 1.2471270561218262, 1.2399260997772217,
    1.2964333295822144, 1.258554458618164, 1.2503619194030762, 1.2558120489120483,
    1.2458561658859253, 1.2823755741119385, 1.2315897941589355, 1.2375071048736572,
]  # fmt: skip
RECORDED_LOSS_G = [
    0.6926220655441284, 0.7021833658218384, 0.6954883933067322, 0.6913259625434875,
    0.677595853805542, 0.6836850643157959, 0.6777074337005615, 0.6753864884376526,
    0.6781613230705261, 0.6746591329574585, 0.6740820407867432, 0.6747793555259705,
    0.661005973815918, 0.6649434566497803, 0.6638475060462952, 0.6607553958892822,
    0.6459264159202576, 0.6448293328285217, 0.6560743451118469, 0.648429811000824,
]  # fmt: skip
RECORDED_SAMPLE = [  # the first 8 pixels of the sample of fixed_noise[0] after 20 steps
    -0.00044205450103618205, 0.0005094012594781816, -0.010224785655736923,
    -0.006597793661057949, -0.00365725951269269, -0.0036157160066068172,
    -0.006456600036472082, -0.002077144803479314,
]  # fmt: skip


def _default_run():
    torch.manual_seed(0)
    G, D = Generator(100, 16, 1, 8), Discriminator(16, 1, 8)
    cfg = TrainConfig(steps=20, batch_size=16, device="cpu", progress=False, n_samples=4)
    t = Trainer(G, D, fake_images(), cfg)
    t.fit()
    return t


def _plain_dcgan_run(steps=20):
    """The DCGAN loop written out without the library's steps: BCE on logits, Adam(2e-4,
    (0.5, 0.999)), one D step then one G step on the same fakes, D frozen for G's step."""
    from torch.nn.functional import softplus

    from dcgan_lib.batches import InMemoryBatches

    torch.manual_seed(0)
    G, D = Generator(100, 16, 1, 8), Discriminator(16, 1, 8)
    torch.manual_seed(0)  # the trainer's seed + rank
    opt_g = torch.optim.Adam(G.parameters(), 2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), 2e-4, betas=(0.5, 0.999))
    batch = InMemoryBatches(fake_images(), 16, seed=0)
    losses_d, losses_g = [], []
    for step in range(steps):
        real = batch(step)
        fake = G(torch.randn(16, 100))
        opt_d.zero_grad(set_to_none=True)
        real_logits, fake_logits = D(real), D(fake.detach())
        loss_d = softplus(-real_logits).mean() + softplus(fake_logits).mean()
        loss_d.backward()
        opt_d.step()
        D.requires_grad_(False)
        opt_g.zero_grad(set_to_none=True)
        loss_g = softplus(-D(fake)).mean()
        loss_g.backward()
        opt_g.step()
        D.requires_grad_(True)
        losses_d.append(loss_d.item())
        losses_g.append(loss_g.item())
    return G, D, losses_d, losses_g


def test_defaults_train_bit_for_bit_as_the_plain_dcgan_loop():
    t = _default_run()
    G, D, losses_d, losses_g = _plain_dcgan_run()
    assert t.history.loss_d == losses_d and t.history.loss_g == losses_g
    for a, b in zip([*t.G.state_dict().values(), *t.D.state_dict().values()],
                    [*G.state_dict().values(), *D.state_dict().values()]):  # fmt: skip
        assert torch.equal(a, b)
    z = t.fixed_noise[:1]
    assert torch.equal(t.sample(z=z), G.eval()(z))
    assert t.G_ema is None and "generator_ema" not in t.state_dict()


def test_defaults_reproduce_the_numbers_recorded_before_the_stabilisers():
    t = _default_run()
    # to float32 rounding across CPUs; exactly on the machine that recorded them
    assert t.history.loss_d == pytest.approx(RECORDED_LOSS_D, rel=1e-5, abs=0)
    assert t.history.loss_g == pytest.approx(RECORDED_LOSS_G, rel=1e-5, abs=0)
    sample = t.sample(z=t.fixed_noise[:1]).flatten()[:8].tolist()
    assert sample == pytest.approx(RECORDED_SAMPLE, rel=1e-3, abs=1e-7)
