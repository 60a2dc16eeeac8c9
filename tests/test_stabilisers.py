"""The stabilisers after DCGAN as trainer options: hinge loss, R1, spectral normalisation,
the moving average of G, and their one-line errors (dcgan_lib/stabilisers.py)."""

import pytest
import torch
from torch import nn

from dcgan_lib import (
    Discriminator,
    Generator,
    SNDiscriminator,
    TrainConfig,
    Trainer,
    discriminator_loss,
    discriminator_step,
    ema_copy,
    generator_step,
    load_checkpoint,
    update_ema,
)
from dcgan_lib.stabilisers import check_stabilisers


def small_pair(seed=0, sn=False):
    torch.manual_seed(seed)
    return Generator(16, 16, 1, 8), (SNDiscriminator if sn else Discriminator)(16, 1, 8)


def images(n=64, seed=1):
    return torch.rand(n, 1, 16, 16, generator=torch.Generator().manual_seed(seed)) * 2 - 1


class LinearD(nn.Module):
    """l(x) = w . x + b: grad_x l(x) = w for every x, so R1 = (gamma / 2) ||w||^2."""

    def __init__(self, dim=3):
        super().__init__()
        self.w = nn.Parameter(torch.tensor([0.5, -1.0, 2.0][:dim]))
        self.b = nn.Parameter(torch.tensor(0.25))

    def forward(self, x):
        return x @ self.w + self.b


# -- the hinge loss ---------------------------------------------------------------------


def test_hinge_steps_minimise_the_hinge_losses():
    D = LinearD()
    real = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])  # logits 0.75, 2.25
    fake = torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, -0.5]])  # logits -0.75, -0.75
    opt = torch.optim.SGD(D.parameters(), lr=0.0)
    loss, r, f = discriminator_step(D, opt, real, fake, loss_kind="hinge")
    by_hand = ((1 - 0.75) + 0) / 2 + ((1 - 0.75) + (1 - 0.75)) / 2  # mean relu(1 -+ l)
    assert loss.item() == pytest.approx(by_hand, abs=1e-7)
    assert torch.equal(r, torch.tensor([0.75, 2.25])) and torch.equal(f, torch.tensor([-0.75] * 2))
    # past the margin (l(x) = 2.25) a real image adds no gradient: d/dw = -x_real0 / 2 + ...
    grad_w = -real[0] / 2 + (fake[0] + fake[1]) / 2
    assert torch.allclose(D.w.grad, grad_w)
    loss_g = generator_step(D, opt, fake, "hinge")
    assert loss_g.item() == pytest.approx(0.75)  # -mean l(G(z))


@pytest.mark.parametrize("kind", ["hinge", "saturating"])
def test_the_config_switches_both_losses(kind):
    """Trainer(loss=kind) makes exactly the update of the plain steps called with kind."""
    cfg = TrainConfig(steps=1, batch_size=16, progress=False, loss=kind, r1_gamma=0.5)
    new = Trainer(*small_pair(), images(), cfg)
    new.train_step()
    old = Trainer(*small_pair(), images(), cfg)  # the same seeds: the same draws
    real = old._batch(0)
    fake = old.G(torch.randn(real.shape[0], old.latent_dim))
    loss_d, *_ = discriminator_step(
        old.D, old.opt_d, real, fake.detach(), loss_kind=kind, r1_gamma=0.5
    )
    loss_g = generator_step(old.D, old.opt_g, fake, kind)
    new.flush()
    assert new.history.loss_d == [loss_d.item()] and new.history.loss_g == [loss_g.item()]
    for a, b in zip(new.G.state_dict().values(), old.G.state_dict().values()):
        assert torch.equal(a, b)
    default = Trainer(*small_pair(), images(), TrainConfig(steps=1, batch_size=16, progress=False))
    default.train_step()
    default.flush()
    assert default.history.loss_d != new.history.loss_d  # the option changed something


# -- the R1 penalty ---------------------------------------------------------------------


def test_r1_adds_half_gamma_times_the_squared_input_gradient():
    gamma = 3.0
    real = torch.tensor([[1.0, 2.0, 0.0], [0.0, -1.0, 1.0]])
    fake = torch.tensor([[0.5, 0.5, 0.5], [-1.0, 0.0, 0.0]])
    plain, penalised = LinearD(), LinearD()
    opt0, opt1 = (torch.optim.SGD(D.parameters(), lr=0.0) for D in (plain, penalised))
    loss0, *_ = discriminator_step(plain, opt0, real, fake)
    loss1, *_ = discriminator_step(penalised, opt1, real, fake, r1_gamma=gamma)
    w = torch.tensor([0.5, -1.0, 2.0])
    assert (loss1 - loss0).item() == pytest.approx(gamma / 2 * w.pow(2).sum().item(), rel=1e-6)
    assert torch.allclose(penalised.w.grad - plain.w.grad, gamma * w)  # d/dw (gamma/2)||w||^2
    assert torch.equal(penalised.b.grad, plain.b.grad)  # the bias has no input gradient


def test_r1_on_a_convolutional_d_matches_autograd():
    torch.manual_seed(0)
    D, x = Discriminator(16, 1, 4), images(8)
    opt = torch.optim.SGD(D.parameters(), lr=0.0)
    x_ = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(D(x_).sum(), x_)
    expected = discriminator_loss(D(x), D(-x)) + 5.0 / 2 * g.pow(2).flatten(1).sum(1).mean()
    loss, *_ = discriminator_step(D, opt, x, -x, r1_gamma=5.0)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)


# -- spectral normalisation -------------------------------------------------------------


def test_sn_discriminator_has_unit_spectral_norms_and_no_batchnorm():
    torch.manual_seed(0)
    D = SNDiscriminator(16, 1, 8).train()
    assert D.config == {
        "class": "SNDiscriminator",
        "kwargs": dict(image_size=16, channels=1, width=8),
    }
    assert not any(isinstance(m, nn.BatchNorm2d) for m in D.modules())
    convs = [m for m in D.net if isinstance(m, nn.Conv2d)]
    assert len(convs) == 3 and all(m.bias is not None for m in convs)
    raw = [
        torch.linalg.matrix_norm(m.parametrizations.weight.original.flatten(1), 2) for m in convs
    ]
    assert any(abs(s - 1) > 0.1 for s in raw)  # the kernels themselves are not normalised
    with torch.no_grad():
        for _ in range(30):  # one power iteration per forward pass in training mode
            D(images(4))
    D.eval()
    for m in convs:
        sigma = torch.linalg.matrix_norm(m.weight.detach().flatten(1), 2).item()
        assert sigma == pytest.approx(1.0, abs=1e-2)
    assert D(images(4)).shape == (4,)


# -- the moving average of G ------------------------------------------------------------


def test_ema_of_a_constant_weight_toy_is_the_closed_form():
    toy = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    theta0 = [p.detach().clone() for p in toy.parameters()]
    ema = ema_copy(toy)
    assert not ema.training and not any(p.requires_grad for p in ema.parameters())
    with torch.no_grad():
        for p in toy.parameters():
            p.fill_(2.5)  # constant weights from step 1 on
        toy[1].running_mean.fill_(7.0)
    beta, k = 0.9, 12
    for _ in range(k):
        update_ema(ema, toy, beta)
    for e, t0 in zip(ema.parameters(), theta0):  # beta^k theta0 + (1 - beta^k) c
        assert torch.allclose(e, beta**k * t0 + (1 - beta**k) * 2.5, atol=1e-6)
    assert torch.equal(ema[1].running_mean, toy[1].running_mean)  # buffers copied


def test_trainer_keeps_the_moving_average_and_resumes_it(tmp_path):
    beta = 0.8
    cfg = dict(steps=4, batch_size=16, progress=False, ema_decay=beta)

    class Record:
        def __init__(self):
            self.weights = []

        def on_step_end(self, trainer):
            self.weights.append([p.detach().double().clone() for p in trainer.G.parameters()])

        def on_train_end(self, trainer):
            pass

    record = Record()
    G, D = small_pair()
    theta0 = [p.detach().double().clone() for p in G.parameters()]
    full = Trainer(G, D, images(), TrainConfig(**cfg), [record])
    full.fit()
    expected = theta0
    for weights in record.weights:  # theta_EMA(t) = beta theta_EMA(t - 1) + (1 - beta) theta(t)
        expected = [beta * e + (1 - beta) * w for e, w in zip(expected, weights)]
    for e, p in zip(expected, full.G_ema.parameters()):
        assert torch.allclose(e, p.double(), atol=1e-6)
    assert not any(torch.equal(a, b) for a, b in zip(full.G_ema.parameters(), full.G.parameters()))
    for a, b in zip(full.G_ema.buffers(), full.G.buffers()):
        assert torch.equal(a, b)
    ema_samples = full.sample(z=full.fixed_noise, ema=True)
    assert not torch.equal(ema_samples, full.sample(z=full.fixed_noise))

    first = Trainer(*small_pair(), images(), TrainConfig(**cfg))
    first.fit(steps=2)
    first.save(tmp_path / "c.pt")
    assert "generator_ema" in load_checkpoint(tmp_path / "c.pt")
    second = Trainer(*small_pair(seed=5), images(), TrainConfig(**cfg)).resume(tmp_path / "c.pt")
    second.fit()
    for a, b in zip(full.G_ema.state_dict().values(), second.G_ema.state_dict().values()):
        assert torch.equal(a, b)


def test_a_run_resumed_with_ema_from_a_checkpoint_without_one_starts_from_its_g(tmp_path):
    plain = Trainer(*small_pair(), images(), TrainConfig(steps=1, batch_size=16, progress=False))
    plain.fit()
    plain.save(tmp_path / "c.pt")
    cfg = TrainConfig(steps=1, batch_size=16, progress=False, ema_decay=0.9)
    t = Trainer(*small_pair(seed=3), images(), cfg).resume(tmp_path / "c.pt")
    for a, b in zip(t.G_ema.state_dict().values(), plain.G.state_dict().values()):
        assert torch.equal(a, b)


# -- bad values -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(r1_gamma=-1.0), "r1_gamma"),
        (dict(r1_gamma=float("nan")), "r1_gamma"),
        (dict(r1_gamma="10"), "r1_gamma"),
        (dict(ema_decay=1.0), "ema_decay"),
        (dict(ema_decay=-0.1), "ema_decay"),
        (dict(ema_decay=float("nan")), "ema_decay"),
        (dict(loss="wasserstein"), "loss"),
        (dict(lr_d=0.0), "lr_d"),
    ],
)
def test_bad_values_give_one_line_errors_naming_the_option(kwargs, name):
    with pytest.raises(ValueError, match=name) as e:
        TrainConfig(**kwargs)
    assert "\n" not in str(e.value)


def test_r1_refuses_what_it_cannot_run_with():
    cfg = TrainConfig(r1_gamma=1.0)
    for args, what in [(("fp16",), "fp16"), (("fp32", True), "compile"), (("fp32", False, 2), "")]:
        with pytest.raises(ValueError, match=f"r1_gamma.*{what}"):
            check_stabilisers(cfg, *args)
    check_stabilisers(cfg, "bf16")
    t = Trainer(*small_pair(), images(), TrainConfig(steps=1, batch_size=16, r1_gamma=1.0))
    with pytest.raises(ValueError, match="r1_gamma"):
        t._set_precision("fp16")  # what a GPU without bf16 gets
    with pytest.raises(ValueError, match="ema_decay"):
        Trainer(*small_pair(), images(), TrainConfig(batch_size=16)).sample(4, ema=True)
