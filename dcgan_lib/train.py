"""Training a GAN: the two update steps, the loop around them, and its history.

The heart is two short functions the book prints whole:

* :func:`discriminator_step` -- (1) update D: maximise log D(x) + log(1 - D(G(z)))
* :func:`generator_step`     -- (2) update G: maximise log D(G(z))  (non-saturating)

:class:`Trainer` runs them in a loop: it samples batches, keeps a :class:`History`
(losses, D(x), D(G(z)), gradient norms, sample grids of one fixed noise batch) and calls
callbacks (checkpointing, logging) after each step. It checks the data against the models
once, when built (:mod:`dcgan_lib.contracts`), stops a diverging run (a loss or weight NaN,
infinite or exploding) with a one-line reason, and never saves such a state, so the last
checkpoint written stays the last good one. On CUDA it adds mixed precision (bf16, or fp16
with a gradient scaler), channels_last and fused Adam and keeps data under 4 GiB on the GPU;
``compile`` wraps the models in ``torch.compile``; under ``torchrun`` it trains with DDP.
The plumbing is :mod:`.runtime`'s; a CPU stays fp32 (ARCHITECTURE.md: measured). The later
stabilisers (hinge loss, R1, G's moving average: :mod:`.stabilisers`) are config options.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

from . import runtime, stabilisers
from .checkpoint import check_resumable, load_checkpoint, pack_model, save_checkpoint
from .contracts import check_data_contract, loss_problem, stop_message, weight_problem
from .device import enable_gpu_switches
from .history import STATS, Callback, CheckpointEvery, History, NonFiniteLossError, to_uint8
from .losses import r1_penalty
from .models import check_model_contract, draw_latent, sample_generator, unwrap_model
from .runtime import frozen, grad_norm
from .stabilisers import discriminator_loss_of, generator_loss_of

__all__ = [
    "TrainConfig",
    "History",
    "Trainer",
    "Callback",
    "CheckpointEvery",
    "NonFiniteLossError",
    "check_model_contract",
    "discriminator_step",
    "generator_step",
    "train",
]


# ---------------------------------------------------------------------------------------
# The two steps


def discriminator_step(
    D, opt_d, real, fake, autocast=contextlib.nullcontext, loss_kind="non_saturating", r1_gamma=0
):
    """(1) Update D: maximise log D(x) + log(1 - D(G(z))). ``fake`` comes detached from G.
    ``loss_kind="hinge"``, ``r1_gamma > 0``: the later stabilisers (:mod:`.stabilisers`)."""
    opt_d.zero_grad(set_to_none=True)
    with autocast():
        real_logits = D(real)  # (B,)
        fake_logits = D(fake)  # (B,)
        loss = discriminator_loss_of(loss_kind)(real_logits, fake_logits)  # -V by default
    if r1_gamma:  # Mescheder et al. (2018): + (gamma / 2) E||grad_x D(x)||^2 on real data
        loss = loss + r1_penalty(D, real, r1_gamma)
    loss.backward()
    opt_d.step()
    return loss.detach(), real_logits.detach(), fake_logits.detach()


def generator_step(D, opt_g, fake, loss_kind="non_saturating", autocast=contextlib.nullcontext):
    """(2) Update G: maximise log D(G(z)). ``fake`` still carries G's graph; only G steps."""
    opt_g.zero_grad(set_to_none=True)
    with autocast():
        fake_logits = D(fake)  # D has just been updated: a fresh judgement of the same fakes
        loss = generator_loss_of(loss_kind)(fake_logits)  # -log D(G(z)) by default
    loss.backward()  # also fills D's grads; discriminator_step clears them before use
    opt_g.step()
    return loss.detach()


# ---------------------------------------------------------------------------------------
# Configuration, history, callbacks


@dataclass
class TrainConfig:
    """Every knob of a training run. The defaults are the DCGAN paper's."""

    steps: int = 1000  # generator updates
    batch_size: int = 128  # per process
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.5  # the paper: 0.9 "resulted in training oscillation and instability"
    beta2: float = 0.999
    d_steps: int = 1  # discriminator updates per generator update (k in Algorithm 1)
    loss: str = "non_saturating"  # or "saturating" (minimax G loss), "hinge" (D's and G's)
    r1_gamma: float = 0.0  # the R1 penalty's gamma (Mescheder et al. 2018); 0 = off
    ema_decay: float = 0.0  # decay of G's moving average, trainer.G_ema (0.999); 0 = off
    seed: int = 0
    device: str = "auto"  # "auto": cuda, then mps, then cpu
    amp: bool | None = None  # mixed precision; None = on CUDA (bf16, or fp16 + scaler)
    channels_last: bool | None = None  # None = on CUDA only
    compile: bool | str = False  # True, a torch.compile backend or mode (runtime.COMPILE_MODES)
    sample_every: int = 0  # steps between fixed-noise grids; 0 = 10 grids per run
    n_samples: int = 64  # size of the fixed noise batch
    log_every: int = 0  # steps between host syncs of the statistics; 0 = 1 on CPU, 50 on GPU
    time_limit: float | None = None  # seconds; stop early when reached
    progress: bool = True  # tqdm progress bar
    num_workers: int | None = None  # DataLoader workers for streamed sets; None = up to 8

    def __post_init__(self):
        least = dict(steps=1, batch_size=1, d_steps=1, n_samples=1, sample_every=0, log_every=0)
        for name, low in {**least, **({"num_workers": 0} if self.num_workers else {})}.items():
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < low:
                kind = "a positive" if low else "a non-negative"
                raise ValueError(f"{name} must be {kind} integer, got {v!r}")
        if self.time_limit is not None and not self.time_limit > 0:
            raise ValueError(f"time_limit must be positive (seconds), got {self.time_limit!r}")
        if not (0 <= self.beta1 < 1 and 0 <= self.beta2 < 1):
            raise ValueError(f"beta1 and beta2 must lie in [0, 1), got {self.beta1}, {self.beta2}")
        stabilisers.check_stabilisers(self)  # loss, lr_g and lr_d, r1_gamma, ema_decay
        runtime.compile_options(self.compile)  # a one-line error for an unknown mode or backend


# ---------------------------------------------------------------------------------------
# The trainer


class Trainer:
    """Trains ``generator`` against ``discriminator`` on ``data``.

    ``data`` is a tensor of examples (N, ...) in [-1, 1], a :class:`dcgan_lib.data.Dataset`
    (its ``.x`` is used), or any torch ``Dataset`` (streamed through a DataLoader).
    """

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        data,
        config: TrainConfig | None = None,
        callbacks=(),
    ):
        self.config = cfg = config or TrainConfig()
        self.callbacks = list(callbacks)
        self.rank, self.world, self.device, self._owns_group = runtime.join_group(cfg.device)
        cuda = self.device.type == "cuda"
        enable_gpu_switches(self.device)
        channels_last = cuda if cfg.channels_last is None else bool(cfg.channels_last)
        torch.manual_seed(cfg.seed + self.rank)  # noise differs per process; DDP syncs weights

        check_model_contract(generator, "generator")
        check_model_contract(discriminator, "discriminator")
        check_data_contract(generator, discriminator, data)  # shape, dtype, range: at the door
        self.G, self.D = generator, discriminator
        self.latent_dim = unwrap_model(generator).latent_dim
        memory_format = torch.channels_last if channels_last else torch.preserve_format
        for m in (self.G, self.D):
            m.to(self.device, memory_format=memory_format).train()
        adam = dict(betas=(cfg.beta1, cfg.beta2), **runtime.adam_options(self.device))
        self.fused_adam = bool(adam.get("fused"))
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=cfg.lr_g, **adam)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=cfg.lr_d, **adam)
        # what the steps call: G and D maybe DDP- and compile-wrapped; D for G's step unwrapped
        self._g, *self._wrapped_d = runtime.wrap_models(
            self.G, self.D, self.world, self.device, runtime.compile_options(cfg.compile)
        )
        self._set_precision(runtime.choose_precision(self.device, cfg.amp))
        # G's moving average (ema_decay > 0; else None): fit() updates it, sample(ema=True) uses it
        self.G_ema = stabilisers.ema_copy(self.G) if cfg.ema_decay else None
        self._batch = runtime.batches(data, cfg, self.rank, self.world, self.device, memory_format)

        g = torch.Generator().manual_seed(cfg.seed + 12345)
        self.fixed_noise = draw_latent(self.G, cfg.n_samples, self.device, rng=g)
        self.step = 0
        self.history = History()
        self._pending: list[tuple[int, float, torch.Tensor]] = []
        self._t0 = time.perf_counter()
        self._elapsed = 0.0  # seconds trained before this process (resumed runs)
        self.last_checkpoint: tuple[Path, int] | None = None  # (path, step) last written/read

    # -- set-up --------------------------------------------------------------------------
    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def _set_precision(self, name: str) -> None:
        """Run in "bf16", "fp16" (autocast with a gradient scaler) or "fp32"."""
        self.precision, self.amp_dtype, self.amp = name, runtime.PRECISIONS[name], name != "fp32"
        self.scaler = torch.amp.GradScaler(self.device.type) if name == "fp16" else None
        stabilisers.check_stabilisers(self.config, name, self.config.compile, self.world)
        self._d, self._d_for_g, self._opt_d, self._opt_g = runtime.loss_scaled(
            self.scaler, *self._wrapped_d, self.opt_d, self.opt_g
        )

    def close(self) -> None:
        """Destroy the process group if this trainer created it, never a caller's
        (``with contextlib.closing(Trainer(...)) as trainer:`` calls it)."""
        runtime.leave_group(self._owns_group)
        self._owns_group = False

    def _autocast(self):
        if not self.amp:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    # -- the loop ------------------------------------------------------------------------
    def train_step(self) -> None:
        """One generator update, preceded by ``d_steps`` discriminator updates."""
        cfg = self.config
        for k in range(cfg.d_steps):
            real = self._batch(self.step * cfg.d_steps + k)
            z = draw_latent(self.G, real.shape[0], self.device)  # N(0, I), or U(-1, 1)
            last = k == cfg.d_steps - 1
            with self._autocast(), contextlib.nullcontext() if last else torch.no_grad():
                fake = self._g(z)  # the last one keeps its graph for the generator step
            loss_d, real_logits, fake_logits = discriminator_step(
                self._d, self._opt_d, real, fake.detach(), self._autocast, cfg.loss, cfg.r1_gamma
            )
        grad_norm_d = grad_norm(self.D)
        with frozen(self.D):  # G's step needs gradients through D, not of D's weights
            loss_g = generator_step(self._d_for_g, self._opt_g, fake, cfg.loss, self._autocast)
        grad_norm_g = grad_norm(self.G)
        self.step += 1
        stats = torch.stack(
            [
                loss_d.float(),
                loss_g.float(),
                torch.sigmoid(real_logits.float()).mean(),
                torch.sigmoid(fake_logits.float()).mean(),
                grad_norm_d.to(self.device),
                grad_norm_g.to(self.device),
            ]
        )
        self._pending.append((self.step, self.elapsed, stats))

    @property
    def elapsed(self) -> float:
        return self._elapsed + time.perf_counter() - self._t0

    def flush(self) -> None:
        """Move pending statistics to the history (one host sync); stop on a loss that is
        NaN, infinite or past ``contracts.LOSS_LIMIT``."""
        if not self._pending:
            return
        values = torch.stack([s for _, _, s in self._pending]).cpu()
        for (step, t, _), row in zip(self._pending, values.tolist()):
            if problem := loss_problem(row[0], row[1]):
                self._pending.clear()
                raise NonFiniteLossError(stop_message(step, problem, self.last_checkpoint))
            self.history.step.append(step)
            self.history.time.append(t)
            for name, v in zip(STATS, row):
                getattr(self.history, name).append(v)
        self._pending.clear()

    def check_health(self) -> None:
        """Raise :class:`NonFiniteLossError` if a weight or buffer of G or D is NaN, infinite
        or past ``contracts.WEIGHT_LIMIT``: a state never to be saved or called trained."""
        problem = weight_problem(self.G, "generator") or weight_problem(self.D, "discriminator")
        if problem:
            problem += "; this state is not saved"
            raise NonFiniteLossError(stop_message(self.step, problem, self.last_checkpoint))

    def sample(self, n: int | None = None, z: torch.Tensor | None = None, ema=False):
        """Generator samples in eval mode (BatchNorm running statistics), as float on CPU;
        ``ema=True``: those of the moving average ``G_ema``."""
        if ema and self.G_ema is None:
            raise ValueError("sample(ema=True) needs TrainConfig(ema_decay > 0), e.g. 0.999")
        if z is None:
            z = draw_latent(self.G, n or self.config.n_samples, self.device)
        G = self.G_ema if ema else unwrap_model(self.G)
        return sample_generator(G, z=z, device=self.device, autocast=self._autocast)

    def _record_samples(self) -> None:
        out = self.sample(z=self.fixed_noise)
        self.history.sample_steps.append(self.step)
        self.history.samples.append(to_uint8(out) if out.dim() == 4 else out)

    def fit(self, steps: int | None = None) -> History:
        """Train until ``steps`` generator updates in all (default: ``config.steps``)."""
        cfg = self.config
        total = cfg.steps if steps is None else steps
        every = cfg.sample_every or max(1, total // 10)
        log_every = cfg.log_every or (1 if self.device.type == "cpu" else 50)
        bar_every = max(log_every, total // 100)
        self._t0 = time.perf_counter()
        bar = None
        if cfg.progress and self.is_main:
            bar = tqdm(total=total, initial=self.step, desc="training", unit="step", leave=False)
        try:
            if self.step == 0 and not self.history.sample_steps and self.is_main:
                self._record_samples()  # what the untrained generator makes
            while self.step < total:
                self.train_step()
                if self.G_ema is not None:  # outside the game: G trains as without it
                    stabilisers.update_ema(self.G_ema, self.G, cfg.ema_decay)
                if self.step % log_every == 0 or self.step == total:
                    self.flush()
                if bar is not None and (self.step - bar.n >= bar_every or self.step == total):
                    self.flush()  # about 100 updates a run: a notebook's bar costs ms per call
                    last = {k: f"{getattr(self.history, k)[-1]:.3f}" for k in STATS[:4]}
                    bar.set_postfix(last, refresh=False)
                    bar.update(self.step - bar.n)
                if self.is_main and (self.step % every == 0 or self.step == total):
                    self.flush()
                    self._record_samples()
                for cb in self.callbacks:
                    saves = isinstance(cb, CheckpointEvery)  # on every rank: save() gathers
                    if saves and self._pending:
                        self.flush()  # never save a state whose losses were not checked
                    if saves or self.is_main:
                        cb.on_step_end(self)
                if cfg.time_limit is not None:  # every rank stops at the same step (DDP)
                    over = self.elapsed >= cfg.time_limit
                    if runtime.stop_together(over, self.world, self.device):
                        break
            self.flush()
            self.check_health()  # a run whose weights exploded is no success
            if self.is_main and self.history.sample_steps[-1:] != [self.step]:
                self._record_samples()
        finally:
            if bar is not None:
                bar.close()
            self._elapsed, self._t0 = self.elapsed, time.perf_counter()
        for cb in self.callbacks:
            if self.is_main or isinstance(cb, CheckpointEvery):
                cb.on_train_end(self)
        return self.history

    # -- state ---------------------------------------------------------------------------
    def state_dict(self, rng: dict | None = None) -> dict:
        """What an exact resume needs; gathers every rank's RNG unless given ``rng``."""
        G, D = unwrap_model(self.G), unwrap_model(self.D)
        rng = rng or runtime.gather_rng(self.device, self.world)
        return {
            **({"scaler": self.scaler.state_dict()} if self.scaler is not None else {}),
            "generator": pack_model(G),
            "discriminator": pack_model(D),
            **({"generator_ema": pack_model(self.G_ema)} if self.G_ema is not None else {}),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "step": self.step,
            "elapsed": self.elapsed,
            "rng": rng,
            "fixed_noise": self.fixed_noise.cpu(),
            "history": self.history.to_dict(),
            "train_config": asdict(self.config),
        }

    def load_state_dict(self, state: dict, source="checkpoint") -> None:
        runtime.check_world_size(state["rng"], self.world, source)  # before anything is changed
        unwrap_model(self.G).load_state_dict(state["generator"]["state_dict"])
        unwrap_model(self.D).load_state_dict(state["discriminator"]["state_dict"])
        stabilisers.load_ema(self.G_ema, state)  # a state without an average: from its G
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.step = int(state["step"])
        self._elapsed = float(state.get("elapsed", 0.0))
        self.fixed_noise = state["fixed_noise"].to(self.device)
        self.history = History.from_dict(state["history"])
        runtime.restore_rng(state["rng"], self.rank, self.world, self.device, source)
        if self.scaler is not None and "scaler" in state:
            self.scaler.load_state_dict(state["scaler"])

    def save(self, path, **meta) -> None:
        """Atomically write everything an exact resume needs, never a state with a
        non-finite or exploded loss or weight (:class:`NonFiniteLossError`). Under DDP
        every rank calls it (each rank's random state is gathered); rank 0 writes."""
        rng = runtime.gather_rng(self.device, self.world)
        if self.is_main:
            self.flush()
            self.check_health()
            run = dict(device=str(self.device), precision=self.precision, world_size=self.world)
            meta = {**run, "fused_adam": self.fused_adam, **meta}
            save_checkpoint(path, {**self.state_dict(rng), "meta": meta})
            self.last_checkpoint = (Path(path), self.step)

    def resume(self, path, dataset: str | None = None) -> Trainer:
        """Continue from a checkpoint written by :meth:`save`; one-line errors for a file of
        other models (or another ``dataset``, when given) or one that cannot be resumed."""
        state = load_checkpoint(path, map_location=self.device)
        check_resumable(state, unwrap_model(self.G), unwrap_model(self.D), path, dataset)
        self.load_state_dict(state, path)
        self.last_checkpoint = (Path(path), self.step)
        return self


def train(generator, discriminator, data, callbacks=(), **config) -> History:
    """Train with ``TrainConfig(**config)`` and return the :class:`History`."""
    trainer = Trainer(generator, discriminator, data, TrainConfig(**config), callbacks)
    with contextlib.closing(trainer):
        return trainer.fit()
