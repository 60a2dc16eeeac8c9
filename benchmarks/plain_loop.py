"""A training loop written like pytorch/examples' ``dcgan/main.py``: the benchmarks' baseline.

It keeps that script's structure and defaults: a DataLoader over the images (each batch
copied to the device), a discriminator ending in a Sigmoid with ``nn.BCELoss``, D updated
on a real then a fake batch (two backward passes), G on the same fakes, Adam 2e-4 /
(0.5, 0.999), fp32 eager, no history and no progress bar. The models are dcgan_lib's, so a
comparison with the library's trainer measures the loop, not the architecture.
"""

from __future__ import annotations

import time

import torch
from torch import nn

from dcgan_lib import Discriminator, Generator


def plain_models(image_size: int, channels: int, width: int, latent_dim: int = 100):
    """(G, D with a Sigmoid at its end), as pytorch/examples builds its netD."""
    G = Generator(latent_dim, image_size, channels, width)
    D = nn.Sequential(Discriminator(image_size, channels, width), nn.Sigmoid())
    return G, D


def plain_loop(
    data: torch.Tensor,
    steps: int | None,
    seconds: float | None,
    seed: int,
    width: int = 32,
    batch_size: int = 64,
    device: str = "cpu",
    warmup: int = 0,
):
    """Train for ``steps`` generator updates or ``seconds`` of wall time (after ``warmup``
    untimed steps); returns (G, timed steps, timed seconds)."""
    torch.manual_seed(seed)
    device = torch.device(device)
    netG, netD = plain_models(data.shape[-1], data.shape[1], width)
    netG.to(device)
    netD.to(device)
    criterion = nn.BCELoss()
    optD = torch.optim.Adam(netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
    optG = torch.optim.Adam(netG.parameters(), lr=2e-4, betas=(0.5, 0.999))
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(data), batch_size=batch_size, shuffle=True, drop_last=True
    )
    step, t0 = -warmup, None
    while True:
        for (real,) in loader:
            if step == 0:
                if device.type == "cuda":
                    torch.cuda.synchronize(device)
                t0 = time.perf_counter()
            real = real.to(device)
            b = real.size(0)
            # (1) Update D network: maximize log(D(x)) + log(1 - D(G(z)))
            netD.zero_grad()
            label = torch.full((b,), 1.0, device=device)
            errD_real = criterion(netD(real).view(-1), label)
            errD_real.backward()
            noise = torch.randn(b, 100, 1, 1, device=device)
            fake = netG(noise)
            label.fill_(0.0)
            errD_fake = criterion(netD(fake.detach()).view(-1), label)
            errD_fake.backward()
            optD.step()
            # (2) Update G network: maximize log(D(G(z)))
            netG.zero_grad()
            label.fill_(1.0)
            errG = criterion(netD(fake).view(-1), label)
            errG.backward()
            optG.step()
            step += 1
            if step <= 0:
                continue
            if device.type == "cuda" and (steps is None or step >= steps):
                torch.cuda.synchronize(device)
            elapsed = time.perf_counter() - t0
            if (steps is not None and step >= steps) or (
                seconds is not None and elapsed >= seconds
            ):
                return netG, step, elapsed
