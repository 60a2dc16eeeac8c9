"""Training and scoring the conditional DCGAN (:mod:`.conditional_models`).

* :class:`ConditionalTrainer` -- the book's :class:`~dcgan_lib.train.Trainer` on labelled
  images: each step takes a batch of (x, y), draws fakes G(z, y') with labels y' uniform
  over the classes, and judges both with D(x, y); everything else (History, callbacks,
  checkpoints, exact resume, the NaN guard, DDP, compile, bf16/fp16) is the Trainer's own.
  The data are checked at the door: labels present, integer, in [0, n_classes).
* :func:`conditional_discriminator_step`, :func:`conditional_generator_step` -- the book's
  two steps with a label beside each image (:mod:`.losses` unchanged).
* :func:`sample_per_class` -- n samples of every class from one set of n noise vectors.
* :func:`class_agreement` -- the fraction of samples conditioned on class c that a
  classifier assigns to c, per class and overall; :func:`per_class_fid` -- FID of each
  class's samples against that class's real images, on classifier features.
"""

from __future__ import annotations

import contextlib
import functools

import torch
from torch import nn

from . import runtime
from .batches import InMemoryBatches
from .conditional_models import check_labels
from .data import Dataset
from .features import FeatureExtractor, feature_extractor
from .losses import (
    discriminator_loss,
    discriminator_loss_hinge,
    generator_loss,
    generator_loss_hinge,
    r1_penalty,
)
from .metrics import fid_from_features
from .models import draw_latent, unwrap_model
from .runtime import frozen
from .train import Trainer

__all__ = [
    "ConditionalTrainer",
    "check_label_contract",
    "conditional_discriminator_step",
    "conditional_generator_step",
    "sample_per_class",
    "class_agreement",
    "per_class_fid",
]


# ---------------------------------------------------------------------------------------
# The two steps, with labels


def _d_loss(real_logits, fake_logits, kind: str):
    hinge = kind == "hinge"  # the projection paper's loss; the others share D's BCE
    return (discriminator_loss_hinge if hinge else discriminator_loss)(real_logits, fake_logits)


def conditional_discriminator_step(
    D,
    opt_d,
    real,
    y_real,
    fake,
    y_fake,
    loss_kind="non_saturating",
    autocast=contextlib.nullcontext,
    r1_gamma=0.0,
):
    """(1) Update D on real pairs (x, y) and fake pairs (G(z, y'), y'); ``fake`` detached.
    ``r1_gamma > 0``: plus the R1 penalty on the real pairs (Mescheder et al. 2018)."""
    opt_d.zero_grad(set_to_none=True)
    with autocast():
        real_logits = D(real, y_real)  # (B,)
        fake_logits = D(fake, y_fake)  # (B,)
        loss = _d_loss(real_logits, fake_logits, loss_kind)
    if r1_gamma:
        loss = loss + r1_penalty(functools.partial(D, y=y_real), real, r1_gamma)
    loss.backward()
    opt_d.step()
    return loss.detach(), real_logits.detach(), fake_logits.detach()


def conditional_generator_step(
    D, opt_g, fake, y_fake, loss_kind="non_saturating", autocast=contextlib.nullcontext
):
    """(2) Update G so that D takes (G(z, y'), y') for real; ``fake`` carries G's graph."""
    opt_g.zero_grad(set_to_none=True)
    with autocast():
        fake_logits = D(fake, y_fake)
        hinge = loss_kind == "hinge"
        loss = (
            generator_loss_hinge(fake_logits) if hinge else generator_loss(fake_logits, loss_kind)
        )
    loss.backward()
    opt_g.step()
    return loss.detach()


# ---------------------------------------------------------------------------------------
# The data at the door


def _n_classes(model: nn.Module, role: str) -> int:
    n = getattr(unwrap_model(model), "n_classes", None)
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(
            f"the {role} ({type(unwrap_model(model)).__name__}) takes no labels (it has no int "
            ".n_classes): train ConditionalGenerator and ProjectionDiscriminator, or use Trainer"
        )
    return n


def check_label_contract(generator: nn.Module, discriminator: nn.Module, data) -> Dataset:
    """The labelled data as a :class:`Dataset` (``data``: a Dataset or a tuple (x, y) of
    tensors), after checking the models take labels of one number of classes and the data
    hold a label in [0, n_classes) for every image; else a one-line error."""
    n, n_d = _n_classes(generator, "generator"), _n_classes(discriminator, "discriminator")
    if n != n_d:
        raise ValueError(
            f"the generator draws {n} classes but the discriminator judges {n_d}: build both "
            "with the same n_classes"
        )
    if isinstance(data, (tuple, list)) and len(data) == 2:
        data = Dataset(data[0], data[1], "tensors", None, "tensors")
    x, y = getattr(data, "x", data), getattr(data, "y", None)
    if y is None:
        raise ValueError(
            "the data have no labels (their .y is None): a conditional GAN trains on labelled "
            "images; load fashion-mnist, digits or emoji, or pass a tuple (images, labels)"
        )
    if not torch.is_tensor(x):
        raise ValueError(
            "ConditionalTrainer takes images held in memory (a tensor), not a streamed "
            "dataset; load fewer with load_dataset(..., limit=N)"
        )
    try:
        check_labels(y, n, len(x), check_range=True)
    except (TypeError, ValueError) as e:
        raise type(e)(f"the data's {e}") from None
    return data if isinstance(data, Dataset) else Dataset(x, y, "tensors", None, "tensors")


# ---------------------------------------------------------------------------------------
# The trainer


def _grad_norm(model: nn.Module) -> torch.Tensor:
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    if not grads:
        return torch.zeros(())
    return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))


class ConditionalTrainer(Trainer):
    """Trains a conditional pair (``G(z, y)``, ``D(x, y)``) on labelled ``data``: a
    :class:`~dcgan_lib.data.Dataset` with labels (fashion-mnist, digits, emoji) or a tuple
    (images, labels) of tensors held in memory.

    Batch k's labels come from the same permutation as its images (an exact resume sees the
    same pairs); the fakes' labels are drawn uniformly from the global random state, which
    the checkpoints keep. The fixed-noise grids go through ``G(z)``, which cycles through
    the classes. Where TrainConfig offers them, ``loss="hinge"`` takes the hinge pair of
    losses (the projection paper's), ``r1_gamma`` the R1 penalty on real pairs, and
    ``ema_decay`` G's moving average (kept by the Trainer's loop).
    """

    def __init__(self, generator, discriminator, data, config=None, callbacks=()):
        data = check_label_contract(generator, discriminator, data)
        mode = (runtime.compile_options(getattr(config, "compile", False)) or {}).get("mode")
        if mode == "reduce-overhead":
            raise ValueError(
                "ConditionalTrainer does not take compile='reduce-overhead' (its CUDA-graph "
                "wrapper passes one argument, and D takes two); use compile=True"
            )
        super().__init__(generator, discriminator, data, config, callbacks)
        cfg = self.config
        self.n_classes = unwrap_model(generator).n_classes
        y = data.y.to(self.device)
        self._labels = InMemoryBatches(y, cfg.batch_size, cfg.seed, self.rank, self.world)

    def _judge(self, d):
        """D(x, y) as the steps call it; under fp16 through runtime's loss scaling (whose
        wrapper takes one argument: the labels are bound first)."""
        if self.scaler is None:
            return d
        scaler = self.scaler

        def judge(x, y):
            scaled, *_ = runtime.loss_scaled(scaler, functools.partial(d, y=y), None, None, None)
            return scaled(x)

        return judge

    def train_step(self) -> None:
        """One generator update, preceded by ``d_steps`` discriminator updates, on (x, y)."""
        cfg = self.config
        judge, judge_for_g = (self._judge(d) for d in self._wrapped_d)
        for k in range(cfg.d_steps):
            i = self.step * cfg.d_steps + k
            real, y_real = self._batch(i), self._labels(i)
            z = draw_latent(self.G, real.shape[0], self.device)
            y_fake = torch.randint(self.n_classes, (real.shape[0],), device=self.device)
            last = k == cfg.d_steps - 1
            with self._autocast(), contextlib.nullcontext() if last else torch.no_grad():
                fake = self._g(z, y_fake)  # the last one keeps its graph for G's step
            loss_d, real_logits, fake_logits = conditional_discriminator_step(
                judge,
                self._opt_d,
                real,
                y_real,
                fake.detach(),
                y_fake,
                cfg.loss,
                self._autocast,
                getattr(cfg, "r1_gamma", 0.0),  # where TrainConfig offers R1
            )
        grad_norm_d = _grad_norm(self.D)
        with frozen(self.D):  # G's step needs gradients through D, not of D's weights
            loss_g = conditional_generator_step(
                judge_for_g, self._opt_g, fake, y_fake, cfg.loss, self._autocast
            )
        grad_norm_g = _grad_norm(self.G)
        self.step += 1
        stats = [
            loss_d.float(),
            loss_g.float(),
            torch.sigmoid(real_logits.float()).mean(),
            torch.sigmoid(fake_logits.float()).mean(),
            grad_norm_d.to(self.device),
            grad_norm_g.to(self.device),
        ]
        self._pending.append((self.step, self.elapsed, torch.stack(stats)))


# ---------------------------------------------------------------------------------------
# Sampling and scoring by class


@torch.no_grad()
def sample_per_class(
    generator: nn.Module, n_per_class: int = 8, seed: int | None = 0, batch_size=500, device=None
) -> tuple[torch.Tensor, torch.Tensor]:
    """(images (n_classes * n, C, H, W) float32 on the CPU, labels (n_classes * n,)):
    class c's samples are rows c * n ... c * n + n - 1, made from the same n noise vectors
    for every class, so row j of each class shares its z (the class changes, the rest is
    held). Eval mode, no gradients; the train/eval mode is restored afterwards."""
    if isinstance(n_per_class, bool) or not isinstance(n_per_class, int) or n_per_class < 1:
        raise ValueError(f"n_per_class must be a positive integer, got {n_per_class!r}")
    k = _n_classes(generator, "generator")
    device = device or next(generator.parameters(), torch.empty(0)).device
    rng = torch.Generator().manual_seed(seed) if seed is not None else None
    z = draw_latent(generator, n_per_class, rng=rng).repeat(k, 1)  # (k * n, latent_dim)
    labels = torch.arange(k).repeat_interleave(n_per_class)
    was_training = generator.training
    generator.eval()
    try:
        out = [
            generator(z[i : i + batch_size].to(device), labels[i : i + batch_size].to(device))
            .float()
            .cpu()
            for i in range(0, len(z), batch_size)
        ]
    finally:
        generator.train(was_training)
    return torch.cat(out), labels


@torch.no_grad()
def _predict(classifier, images: torch.Tensor) -> torch.Tensor:
    if isinstance(classifier, FeatureExtractor):
        return classifier.predict(images)
    if not isinstance(classifier, nn.Module):
        raise TypeError(
            "classifier must be a name (classifier-fashion32, ...), a FeatureExtractor or an "
            f"nn.Module returning class logits, got {type(classifier).__name__}"
        )
    was_training, device = classifier.training, next(classifier.parameters()).device
    classifier.eval()
    try:
        out = [
            classifier(images[i : i + 500].to(device)).argmax(1).cpu()
            for i in range(0, len(images), 500)
        ]
    finally:
        classifier.train(was_training)
    return torch.cat(out)


def class_agreement(
    generator: nn.Module,
    classifier="classifier-fashion32",
    n_per_class: int = 100,
    seed: int = 0,
    device="cpu",
) -> dict:
    """How often a classifier agrees with the class a sample was asked for.

    ``classifier``: a feature extractor's name (``classifier-fashion32``...), a
    :class:`FeatureExtractor` with a classifier, or an ``nn.Module`` returning logits.
    Returns ``{"per_class": [a_0, ...], "overall": a, "n_per_class": n, "classifier": name}``
    where a_c is the fraction of class c's samples (:func:`sample_per_class`) the classifier
    puts in c. A generator that ignores its label scores 1 / n_classes overall exactly (the
    same z serve every class, so its samples are the same for every label); a perfect one
    scores the classifier's accuracy on the kind of images it draws."""
    if isinstance(classifier, str):
        classifier = feature_extractor(classifier, device)
    images, labels = sample_per_class(generator, n_per_class, seed, device=device)
    hit = (_predict(classifier, images) == labels).float()
    per_class = hit.view(-1, n_per_class).mean(1)
    name = getattr(classifier, "name", type(classifier).__name__)
    return {
        "per_class": per_class.tolist(),
        "overall": float(hit.mean()),
        "n_per_class": n_per_class,
        "classifier": name,
    }


def per_class_fid(
    generator: nn.Module,
    real,
    extractor="classifier-fashion32",
    n_per_class: int = 200,
    seed: int = 0,
    device="cpu",
) -> dict:
    """FID of each class's samples against the real images of that class, in ``extractor``'s
    features (the book's classifiers: 128-d, cheap), and of all samples against all of
    ``real`` (a labelled Dataset, or a tuple (images, labels)).

    Returns ``{"per_class": [...], "mean": ..., "overall": ..., "n_per_class": n,
    "n_real": [...], "extractor": name}``. Few samples bias FID upwards: compare numbers
    measured with the same ``n_per_class`` only."""
    if isinstance(real, Dataset):
        real = (real.x, real.y)
    x, y = real
    if isinstance(extractor, str):
        extractor = feature_extractor(extractor, device)
    k = _n_classes(generator, "generator")
    check_labels(y, k, len(x), check_range=True)
    images, labels = sample_per_class(generator, n_per_class, seed, device=device)
    f_fake, f_real = extractor(images), extractor(x)
    y = y.cpu()
    per_class, n_real = [], []
    for c in range(k):
        mine = f_real[y == c]
        if len(mine) < 2:
            raise ValueError(f"the real images hold {len(mine)} of class {c}; FID needs >= 2")
        per_class.append(fid_from_features(mine, f_fake[labels == c]))
        n_real.append(len(mine))
    return {
        "per_class": per_class,
        "mean": float(sum(per_class) / k),
        "overall": fid_from_features(f_real, f_fake),
        "n_per_class": n_per_class,
        "n_real": n_real,
        "extractor": extractor.name,
    }
