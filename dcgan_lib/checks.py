"""Graded checks for the book's exercises and classroom assignments.

An exercise cell holds the student's answer; the cell after it calls one check:

    from dcgan_lib import checks
    checks.check_to_unit_range(to_unit_range)

Each ``check_*`` function takes the student's object(s), tries them on inputs whose
right answer is known, and either prints one line "✓ ... passed" and returns True, or
raises :class:`CheckFailed` (an ``AssertionError``, so nbgrader and pytest count it as a
failed test) with a message that says what is off: expected vs got shape, value range,
the missing layer, the loss vs the formula.

Writing a check for a new chapter: add a section below with a comment header, build it
from the helpers (``_expect``, ``_shape``, ``_close``, ``_in_range``), and register a
passing and a failing answer for it in tests/test_checks.py (the suite fails otherwise).
"""
from __future__ import annotations

import torch

__all__ = ["CheckFailed", "check_to_unit_range", "check_generated_images", "check_discriminator_logits",
           "check_optimal_discriminator", "check_jsd", "check_mode_coverage", "check_point_generator",
           "check_upsampling_layer", "check_batch_norm", "check_generator_stages", "check_dcgan_pair",
           "check_frechet_distance", "check_compare_runs", "check_parameters_by_layer_type",
           "check_gan_pair", "check_mlp_parameter_count",
           "check_discriminator_step", "check_nonsaturating_generator_loss"]


class CheckFailed(AssertionError):
    """An exercise answer is not right yet; the message says what to look at."""


# -- helpers shared by every chapter's checks -------------------------------------------

def _expect(condition, message: str) -> None:
    """Fail with `message` unless `condition` holds."""
    if not condition:
        raise CheckFailed(message)


def _passed(what: str) -> bool:
    print(f"✓ {what} passed")
    return True


def _tensor(x, what: str) -> torch.Tensor:
    _expect(torch.is_tensor(x), f"{what} should be a torch.Tensor, got {type(x).__name__}")
    return x.detach()


def _shape(x: torch.Tensor, expected: tuple, what: str) -> None:
    got = tuple(x.shape)
    _expect(got == tuple(expected), f"{what} should have shape {tuple(expected)}, got {got}")


def _finite(x: torch.Tensor, what: str) -> None:
    bad = int((~torch.isfinite(x)).sum())
    _expect(bad == 0, f"{what} contains {bad} NaN or infinite values")


def _in_range(x: torch.Tensor, low: float, high: float, what: str) -> None:
    lo, hi = float(x.min()), float(x.max())
    _expect(low <= lo and hi <= high,
            f"{what} should lie in [{low:g}, {high:g}], got values in [{lo:.3g}, {hi:.3g}]")


def _close(got, expected, what: str, atol: float = 1e-5, rtol: float = 1e-4) -> None:
    """Compare numbers or tensors; the message gives the worst mismatch."""
    got_t = torch.as_tensor(got, dtype=torch.float64).detach().cpu()
    exp_t = torch.as_tensor(expected, dtype=torch.float64).detach().cpu()
    _expect(got_t.shape == exp_t.shape,
            f"{what} should have shape {tuple(exp_t.shape)}, got {tuple(got_t.shape)}")
    if torch.allclose(got_t, exp_t, atol=atol, rtol=rtol):
        return
    err = (got_t - exp_t).abs()
    i = int(err.flatten().argmax())
    if got_t.dim() == 0:
        raise CheckFailed(f"{what}: expected {float(exp_t):.6g}, got {float(got_t):.6g}")
    raise CheckFailed(f"{what}: {int((err > atol + rtol * exp_t.abs()).sum())} of {err.numel()} values "
                      f"are off; e.g. at flat index {i}: expected {float(exp_t.flatten()[i]):.6g}, "
                      f"got {float(got_t.flatten()[i]):.6g}")


def _call(fn, *args, what: str):
    _expect(callable(fn), f"{what} should be a function, got {type(fn).__name__}")
    try:
        return fn(*args)
    except NotImplementedError:
        raise CheckFailed(f"{what} is not written yet (it raises NotImplementedError)") from None


# -- Quickstart (notebooks/00_quickstart) -----------------------------------------------

def check_to_unit_range(to_unit_range) -> bool:
    """`to_unit_range(pixels, max_value)` maps pixel values in [0, max_value] to [-1, 1]."""
    for max_value in (16.0, 255.0):
        pixels = torch.linspace(0, max_value, 7).reshape(1, 1, 7)
        got = _tensor(_call(to_unit_range, pixels.clone(), max_value, what="to_unit_range"),
                      "to_unit_range's result")
        _shape(got, pixels.shape, f"to_unit_range(pixels, {max_value:g})")
        _expect(got.is_floating_point(), f"to_unit_range should return floats, got dtype {got.dtype}")
        lo, hi = float(got.min()), float(got.max())
        _expect(not (abs(lo) < 1e-6 and abs(hi - 1) < 1e-6),
                f"to_unit_range(pixels, {max_value:g}) gives values in [0, 1]; the generator's tanh "
                "output lies in [-1, 1], so 0 should map to -1 and max_value to 1")
        _close(got, pixels / max_value * 2 - 1, f"to_unit_range(pixels, {max_value:g})")
    return _passed("to_unit_range")


def check_generated_images(images, n: int, channels: int, image_size: int) -> bool:
    """A batch of `n` generator samples: (n, channels, image_size, image_size) in [-1, 1]."""
    images = _tensor(images, "images")
    _expect(images.dim() == 4, f"images should be a 4-D batch (N, C, H, W), got {images.dim()} dimensions "
            f"with shape {tuple(images.shape)}")
    _shape(images, (n, channels, image_size, image_size), "images")
    _finite(images, "images")
    _in_range(images, -1.0, 1.0, "images (the generator ends in tanh)")
    if n > 1:
        spread = float(images.flatten(1).std(dim=0).mean())
        _expect(spread > 1e-4, f"all {n} images are the same (spread {spread:.2g}): give each image its "
                "own noise vector, e.g. torch.randn(n, latent_dim)")
    return _passed(f"{n} generated images")


def check_discriminator_logits(logits, n: int) -> bool:
    """The discriminator's answer for `n` images: `n` raw logits (no sigmoid applied)."""
    logits = _tensor(logits, "logits")
    _shape(logits, (n,), "logits (one number per image)")
    _finite(logits, "logits")
    if n >= 8:
        lo, hi = float(logits.min()), float(logits.max())
        _expect(not (0.0 <= lo and hi <= 1.0),
                f"all {n} logits lie in [0, 1] ({lo:.3g} to {hi:.3g}): it looks like a sigmoid was applied; "
                "the book's losses take raw logits (the sigmoid is inside BCEWithLogitsLoss)")
    return _passed(f"discriminator logits for {n} images")


# -- The GAN game (notebooks/01_gan_game) -----------------------------------------------

def _normal_pdf(mu: float, sigma: float):
    def pdf(x):
        return torch.exp(-0.5 * ((x - mu) / sigma) ** 2) / (sigma * (2 * torch.pi) ** 0.5)
    return pdf


def _uniform_pdf(low: float, high: float):
    def pdf(x):
        return ((x >= low) & (x <= high)).to(x.dtype) / (high - low)
    return pdf


def check_optimal_discriminator(optimal_discriminator) -> bool:
    """`optimal_discriminator(x, p_data, p_g)` returns D*(x) = p_data(x) / (p_data(x) + p_g(x))
    for a tensor of points `x`, where `p_data` and `p_g` map a tensor to its densities."""
    cases = [  # (description, p_data, p_g, points): no point where both densities are 0
        ("p_data = N(0, 1), p_g = N(1.5, 0.8^2)", _normal_pdf(0.0, 1.0), _normal_pdf(1.5, 0.8),
         torch.linspace(-3.0, 4.0, 57, dtype=torch.float64)),
        ("p_data = U(0, 2), p_g = U(1, 3) (partly disjoint supports)", _uniform_pdf(0.0, 2.0),
         _uniform_pdf(1.0, 3.0), torch.tensor([0.25, 0.5, 0.9, 1.2, 1.5, 1.9, 2.1, 2.5, 2.9], dtype=torch.float64)),
        ("p_data = p_g = N(0, 1)", _normal_pdf(0.0, 1.0), _normal_pdf(0.0, 1.0),
         torch.linspace(-3.0, 3.0, 13, dtype=torch.float64)),
    ]
    for what, p_data, p_g, x in cases:
        got = _call(optimal_discriminator, x.clone(), p_data, p_g, what="optimal_discriminator")
        got = torch.as_tensor(got, dtype=torch.float64).detach().cpu()
        _shape(got, x.shape, f"optimal_discriminator(x, ...) for {len(x)} points (one D*(x) per point)")
        _finite(got, f"D*(x) for {what}")
        pd, pg = p_data(x), p_g(x)
        expected = pd / (pd + pg)
        if torch.allclose(got, pg / (pd + pg), atol=1e-6) and not torch.allclose(expected, pg / (pd + pg)):
            raise CheckFailed(f"for {what} your D*(x) is p_g / (p_data + p_g): swapped. D(x) is the probability "
                              "that x is REAL, so it is near 1 where only the data have mass")
        _in_range(got, 0.0, 1.0, f"D*(x) for {what} (a probability that x is real)")
        _close(got, expected, f"D*(x) for {what}", atol=1e-6)
    return _passed("optimal_discriminator")


def _jsd_reference(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    m = (p + q) / 2
    kl_pm = (torch.xlogy(p, p) - torch.xlogy(p, m)).sum()
    kl_qm = (torch.xlogy(q, q) - torch.xlogy(q, m)).sum()
    return (kl_pm + kl_qm) / 2


def check_jsd(jsd) -> bool:
    """`jsd(p, q)` returns the Jensen-Shannon divergence, in nats, of two discrete
    distributions given as 1-D tensors of probabilities (entries may be 0)."""
    g = torch.Generator().manual_seed(0)  # its own generator: the student's RNG stream is left alone
    random = [w / w.sum() for w in torch.rand(4, 6, generator=g, dtype=torch.float64)]
    cases = [
        ("p = q = [0.2, 0.3, 0.5]", torch.tensor([0.2, 0.3, 0.5]), torch.tensor([0.2, 0.3, 0.5])),
        ("p = [0.5, 0.5], q = [1, 0]", torch.tensor([0.5, 0.5]), torch.tensor([1.0, 0.0])),
        ("disjoint supports p = [0.5, 0.5, 0, 0], q = [0, 0, 0.3, 0.7]", torch.tensor([0.5, 0.5, 0.0, 0.0]),
         torch.tensor([0.0, 0.0, 0.3, 0.7])),
        ("p = [0.1, 0.6, 0.3], q = [0.4, 0.4, 0.2]", torch.tensor([0.1, 0.6, 0.3]), torch.tensor([0.4, 0.4, 0.2])),
        ("an outcome neither has: p = [0.5, 0.5, 0], q = [1, 0, 0]", torch.tensor([0.5, 0.5, 0.0]),
         torch.tensor([1.0, 0.0, 0.0])),
    ]
    cases += [(f"random 6-outcome distributions #{i}", random[i], random[i + 1]) for i in range(3)]
    for what, p, q in cases:
        p, q = p.to(torch.float64), q.to(torch.float64)
        got = _call(jsd, p.clone(), q.clone(), what="jsd")
        got = torch.as_tensor(got, dtype=torch.float64).detach().cpu()
        _expect(got.numel() == 1, f"jsd(p, q) should return one number, got shape {tuple(got.shape)}")
        got = got.reshape(())
        expected = _jsd_reference(p, q)
        if torch.isnan(got):
            raise CheckFailed(f"jsd for {what} is nan: 0 * log 0 must count as 0 (the limit of "
                              "t log t as t -> 0), also where p, q and m are all 0. Use "
                              "torch.xlogy(p, p) - torch.xlogy(p, m), or sum only where p > 0")
        if torch.isinf(got):
            raise CheckFailed(f"jsd for {what} is {float(got)}: a log of a zero probability. Compare p and q "
                              "with the mixture m = (p + q) / 2, not with each other: m > 0 wherever p or q is")
        if abs(float(expected)) > 1e-3:
            ratio = float(got / expected)
            if abs(ratio - 1 / torch.log(torch.tensor(2.0)).item()) < 1e-3:
                raise CheckFailed(f"jsd for {what}: expected {float(expected):.6g} nats, got {float(got):.6g}, "
                                  "which is the value in bits; use the natural logarithm (torch.log)")
            if abs(ratio - 2) < 1e-6 or abs(ratio - 0.5) < 1e-6:
                raise CheckFailed(f"jsd for {what}: expected {float(expected):.6g}, got {float(got):.6g} "
                                  f"({ratio:g} times too much): JSD = KL(p||m)/2 + KL(q||m)/2 with m = (p + q)/2")
        _close(got, expected, f"jsd for {what}", atol=1e-6)
        swapped = torch.as_tensor(_call(jsd, q.clone(), p.clone(), what="jsd"), dtype=torch.float64).reshape(())
        _close(swapped, got, f"jsd(q, p) vs jsd(p, q) for {what} (JSD is symmetric)", atol=1e-6)
    return _passed("jsd")


# -- A GAN on 2-D data (notebooks/02_gan_2d) --------------------------------------------

def _mode_coverage_cases():
    """(name, samples (n, 2), centres (K, 2), std) with unambiguous answers: every sample lies
    well inside 3 std of a centre (at most 2.83 std) or well outside (at least 4 std)."""
    from .data import toy_mixture

    g = torch.Generator().manual_seed(2)
    ring, ring_std = toy_mixture("ring")
    grid, grid_std = toy_mixture("grid")

    def near(centres, idx, std, radius=None):
        """Points around centres[idx]: within 2.83 std (box of +-2 std), or at exactly `radius` std."""
        if radius is None:
            offset = (2 * torch.rand(len(idx), 2, generator=g) - 1) * 2 * std
        else:
            angle = 2 * torch.pi * torch.rand(len(idx), generator=g)
            offset = radius * std * torch.stack([angle.cos(), angle.sin()], dim=1)
        return centres[idx] + offset

    cases = []
    three = near(ring, torch.tensor([0, 3, 5]).repeat(100), ring_std)            # 300 on three modes
    cases.append(("the ring, 3 modes hit and 100 of 400 samples stranded at the origin",
                  torch.cat([three, torch.zeros(100, 2)]), ring, ring_std))
    cases.append(("the grid, a collapsed generator (all 200 samples on one mode)",
                  near(grid, torch.full((200,), 12), grid_std), grid, grid_std))
    inside = near(grid, torch.randint(0, 25, (120,), generator=g), grid_std, radius=2.5)
    outside = near(grid, torch.randint(0, 25, (80,), generator=g), grid_std, radius=4.0)
    cases.append(("the grid, 120 samples at 2.5 std and 80 at 4 std from a centre",
                  torch.cat([inside, outside]), grid, grid_std))
    cases.append(("the ring, every sample 4 std from a centre (no mode hit)",
                  near(ring, torch.arange(8).repeat(25), ring_std, radius=4.0), ring, ring_std))
    cases.append(("the grid, 2000 samples spread uniformly over [-5, 5]^2",
                  10 * torch.rand(2000, 2, generator=g) - 5, grid, grid_std))
    return cases


def check_mode_coverage(mode_coverage) -> bool:
    """`mode_coverage(samples, centres, std)` -> `(modes_hit, high_quality)`: the number of
    mixture centres with at least one sample within 3 std of them, and the fraction of samples
    that lie within 3 std of some centre; compared with `dcgan_lib.toy_mode_coverage`."""
    from .metrics import toy_mode_coverage as reference

    for name, samples, centres, std in _mode_coverage_cases():
        what = f"mode_coverage on {name}"
        got = _call(mode_coverage, samples.clone(), centres.clone(), std, what="mode_coverage")
        _expect(isinstance(got, (tuple, list)) and len(got) == 2,
                f"mode_coverage should return a pair (modes_hit, high_quality), got {type(got).__name__}"
                + (f" of length {len(got)}" if isinstance(got, (tuple, list)) else ""))
        modes, quality = (float(v) if torch.is_tensor(v) else v for v in got)
        want = reference(samples, centres, std)
        n, k = len(samples), len(centres)
        no_threshold = reference(samples, centres, std, n_std=float("inf"))
        one_std = reference(samples, centres, std, n_std=1.0)
        if modes != want["modes_hit"]:
            if modes == k and want["modes_hit"] < k:
                hint = "every centre was counted: a mode is hit only when some sample lies within 3 std of it"
            elif modes == no_threshold["modes_hit"]:
                hint = ("that counts the centres that are nearest to some sample, however far away; count only "
                        "samples within 3 * std of the centre")
            elif modes == one_std["modes_hit"]:
                hint = "that uses a radius of 1 std; the radius is 3 * std"
            else:
                hint = "a mode is hit when at least one sample lies within 3 * std of its centre"
            raise CheckFailed(f"{what}: expected modes_hit = {want['modes_hit']} (of {k}), got {modes}; {hint}")
        close = lambda x: abs(float(quality) - x) <= 1e-6  # noqa: E731
        if not close(want["high_quality"]):
            if abs(float(quality) - want["high_quality"] * n) <= 1e-6 * n:
                hint = f"that is a count of samples; return the fraction (divide by the {n} samples)"
            elif close(one_std["high_quality"]):
                hint = "that uses a radius of 1 std; the radius is 3 * std"
            elif close(no_threshold["high_quality"]):
                hint = "every sample was counted; count only samples within 3 * std of their nearest centre"
            else:
                hint = "high_quality is the fraction of samples within 3 * std of their nearest centre"
            raise CheckFailed(f"{what}: expected high_quality = {want['high_quality']:.4f}, got {float(quality):.4g}; "
                              f"{hint}")
    return _passed("mode_coverage")


def check_point_generator(G, latent_dim: int) -> bool:
    """A generator of 2-D points for the toy mixtures: an `nn.Module` with a `latent_dim`
    attribute (the trainer reads it) mapping noise (n, latent_dim) to points (n, 2), with no
    squashing output layer (the ring's points lie at radius 2, the grid's out to 4)."""
    from torch import nn

    _expect(isinstance(G, nn.Module), f"G should be a torch.nn.Module, got {type(G).__name__}")
    params = list(G.parameters())
    _expect(len(params) > 0, "G has no parameters to train")
    _expect(getattr(G, "latent_dim", None) == latent_dim,
            f"G.latent_dim should be {latent_dim} (the trainer reads it to draw noise), got "
            f"{getattr(G, 'latent_dim', 'no such attribute')!r}; set self.latent_dim in __init__")
    leaves = [m for m in G.modules() if not any(True for _ in m.children())]
    last = leaves[-1] if leaves else None
    _expect(not isinstance(last, (nn.Tanh, nn.Sigmoid, nn.Hardtanh)),
            f"G ends in {type(last).__name__}, which squashes its output into a small range, but the ring's "
            "points lie at radius 2 and the grid's reach 4; end with a plain nn.Linear(..., 2)")
    n = 64
    z = torch.randn(n, latent_dim, generator=torch.Generator().manual_seed(0)).to(params[0].device)
    try:
        points = G(z)
    except (RuntimeError, ValueError) as e:
        raise CheckFailed(f"G(z) failed for noise of shape {tuple(z.shape)}: {str(e).splitlines()[0]}") from None
    _expect(torch.is_tensor(points), f"G(z) should return a tensor, got {type(points).__name__}")
    _shape(points.detach(), (n, 2), f"G(z) for noise of shape {tuple(z.shape)}")
    _finite(points.detach(), "G's points")
    spread = float(points.detach().std(dim=0).mean())
    _expect(spread > 1e-6, f"G maps all {n} noise vectors to the same point: its output does not depend on z")
    G.zero_grad(set_to_none=True)
    points.square().sum().backward()
    reached = sum(p.grad is not None and bool(p.grad.abs().sum() > 0) for p in params)
    _expect(reached == len(params), f"gradients reach only {reached} of G's {len(params)} parameter tensors; "
            "is part of the network detached or unused?")
    G.zero_grad(set_to_none=True)
    return _passed(f"a generator of 2-D points (latent_dim={latent_dim})")

# -- A fully connected GAN on images (notebooks/03_fc_gan_images) -----------------------

def check_gan_pair(G, D, latent_dim: int, image_shape) -> bool:
    """A generator/discriminator pair for images of shape `image_shape` = (C, H, W): G maps
    noise (n, latent_dim) to images (n, C, H, W) in [-1, 1]; D maps them to n raw logits;
    the generator loss reaches G's weights through D."""
    from torch import nn

    image_shape = tuple(int(s) for s in image_shape)
    for net, name in ((G, "G"), (D, "D")):
        _expect(isinstance(net, nn.Module), f"{name} should be a torch.nn.Module, got {type(net).__name__}")
        _expect(any(True for _ in net.parameters()), f"{name} has no parameters to train")
    n = 16
    z = torch.randn(n, latent_dim, generator=torch.Generator().manual_seed(0))
    z = z.to(next(G.parameters()).device)
    try:
        images = G(z)
    except (RuntimeError, ValueError) as e:
        raise CheckFailed(f"G(z) failed for noise of shape {tuple(z.shape)}: {str(e).splitlines()[0]} "
                          f"(was G built for latent_dim={latent_dim}?)") from None
    _expect(torch.is_tensor(images), f"G(z) should return a tensor, got {type(images).__name__}")
    _shape(images.detach(), (n, *image_shape), f"G(z) for noise of shape {tuple(z.shape)}")
    _finite(images.detach(), "G's images")
    _in_range(images.detach(), -1.0, 1.0, "G's images (the training images are scaled to [-1, 1]; end G in tanh)")
    spread = float(images.detach().flatten(1).std(dim=0).mean())
    _expect(spread > 1e-6, f"G makes the same image for all {n} noise vectors: its output does not depend on z")
    try:
        logits = D(images.to(next(D.parameters()).device))
    except (RuntimeError, ValueError) as e:
        raise CheckFailed(f"D failed on images of shape {tuple(images.shape)}: {str(e).splitlines()[0]} "
                          f"(was D built for input shape {image_shape}?)") from None
    _expect(torch.is_tensor(logits), f"D should return a tensor, got {type(logits).__name__}")
    _shape(logits.detach(), (n,), f"D's output for {n} images (one logit per image)")
    _finite(logits.detach(), "D's logits")
    _expect(not any(isinstance(m, nn.Sigmoid) for m in D.modules()),
            "D contains an nn.Sigmoid: the book's discriminators return raw logits (the losses apply the "
            "sigmoid in a numerically stable way)")
    G.zero_grad(set_to_none=True)
    logits.mean().backward()
    reached = any(p.grad is not None and bool(p.grad.abs().sum() > 0) for p in G.parameters())
    G.zero_grad(set_to_none=True), D.zero_grad(set_to_none=True)
    _expect(reached, "no gradient reaches G's weights through D(G(z)): do not detach G's output or "
            "wrap G in torch.no_grad()")
    return _passed(f"generator/discriminator pair for {'x'.join(map(str, image_shape))} images")


def check_mlp_parameter_count(mlp_generator_parameters) -> bool:
    """`mlp_generator_parameters(latent_dim, hidden, image_shape)` counts the trainable
    parameters of ``MLPGenerator(latent_dim, image_shape, hidden)`` from the sizes alone."""
    import math

    from .models import MLPGenerator, count_parameters

    cases = [(100, (256, 256), (1, 32, 32)), (64, (128,), (3, 16, 16)), (10, (32, 64, 128), (1, 28, 28)),
             (100, (256, 256), (3, 64, 64))]
    for latent_dim, hidden, image_shape in cases:
        what = f"mlp_generator_parameters({latent_dim}, {hidden}, {image_shape})"
        got = _call(mlp_generator_parameters, latent_dim, hidden, image_shape, what="mlp_generator_parameters")
        _expect(isinstance(got, int) or (torch.is_tensor(got) and got.numel() == 1),
                f"{what} should return an int, got {type(got).__name__}")
        got = int(got)
        with torch.device("meta"):  # sizes only: no memory, no arithmetic
            want = count_parameters(MLPGenerator(latent_dim, image_shape, hidden))
        if got == want:
            continue
        sizes = (latent_dim, *hidden, math.prod(image_shape))
        weights = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
        if got == weights:
            hint = "you counted the weights but not the biases: every Linear(a, b) also has b biases"
        elif got == weights + sum(sizes[:-1]):
            hint = "a Linear(a, b) has b biases (one per output), not a"
        elif got == want - math.prod(image_shape) * (hidden[-1] + 1):
            hint = "the output layer is missing: it maps the last hidden layer to every pixel of the image"
        else:
            hint = ("a Linear(a, b) has a * b weights and b biases; the layers run latent_dim -> hidden... -> "
                    "C * H * W (Tanh and ReLU have no parameters)")
        raise CheckFailed(f"{what} should be {want:,}, got {got:,}: {hint}")
    return _passed("mlp_generator_parameters")


# -- The convolutional building blocks (notebooks/04_conv_building_blocks) -------------

def check_upsampling_layer(make_layer) -> bool:
    """`make_layer(in_channels, out_channels, factor)` returns an ``nn.ConvTranspose2d``
    that maps every (B, in, s, s) to (B, out, factor*s, factor*s), with a kernel size that
    is a multiple of the stride (so every output pixel gets the same number of
    contributions: no checkerboard)."""
    import torch.nn.functional as F
    from torch import nn

    for factor in (2, 3, 4):
        layer = _call(make_layer, 3, 5, factor, what="make_layer")
        what = f"make_layer(3, 5, factor={factor})"
        _expect(isinstance(layer, nn.ConvTranspose2d),
                f"{what} should return an nn.ConvTranspose2d (the generator's upsampling layer), "
                f"got {type(layer).__name__}")
        _expect((layer.in_channels, layer.out_channels) == (3, 5),
                f"{what} should have 3 input and 5 output channels, got "
                f"{layer.in_channels} and {layer.out_channels}")
        for s in (1, 3, 8):
            with torch.no_grad():
                y = layer(torch.zeros(2, 3, s, s))
            _expect(tuple(y.shape) == (2, 5, factor * s, factor * s),
                    f"{what} should map a {s}x{s} input to {factor * s}x{factor * s}, got "
                    f"{y.shape[-2]}x{y.shape[-1]}; the output size is "
                    "(i - 1) * stride - 2 * padding + kernel_size + output_padding")
        (k, _), (stride, _) = layer.kernel_size, layer.stride
        _expect(k % stride == 0,
                f"{what} has kernel_size {k} and stride {stride}: {k} is not a multiple of {stride}, "
                "so neighbouring output pixels receive different numbers of contributions "
                "(the checkerboard pattern)")
        ones = torch.ones(1, 1, 12, 12)
        overlap = F.conv_transpose2d(ones, torch.ones(1, 1, *layer.kernel_size), stride=layer.stride,
                                     padding=layer.padding, output_padding=layer.output_padding,
                                     dilation=layer.dilation)[0, 0]
        inner = overlap[k:-k, k:-k]
        _expect(inner.numel() > 0 and float(inner.max() - inner.min()) == 0.0,
                f"{what}: away from the border, output pixels receive between {float(inner.min()):g} and "
                f"{float(inner.max()):g} contributions; they should all receive the same number")
    return _passed("upsampling layer")


def check_batch_norm(batch_norm) -> bool:
    """`batch_norm(x, gamma, beta, eps)` is BatchNorm2d in training mode on x (N, C, H, W):
    each channel normalised with the mean and (biased) variance over N, H and W, then
    scaled by gamma (C,) and shifted by beta (C,)."""
    import torch.nn.functional as F

    g = torch.Generator().manual_seed(0)
    for n, c, h in ((4, 3, 5), (16, 2, 1)):
        x = torch.randn(n, c, h, h, generator=g) * torch.tensor([0.5, 3.0, 1.0][:c]).view(1, c, 1, 1) \
            + torch.tensor([2.0, -1.0, 5.0][:c]).view(1, c, 1, 1)
        gamma, beta = 1 + torch.rand(c, generator=g), torch.randn(c, generator=g)
        eps = 1e-5
        got = _tensor(_call(batch_norm, x.clone(), gamma.clone(), beta.clone(), eps, what="batch_norm"),
                      "batch_norm's result")
        what = f"batch_norm on a batch of shape {tuple(x.shape)}"
        _shape(got, x.shape, what)
        _finite(got, what)
        expected = F.batch_norm(x, None, None, gamma, beta, training=True, eps=eps)

        def wrong(dims, unbiased=False):
            mean = x.mean(dim=dims, keepdim=True)
            var = x.var(dim=dims, keepdim=True, unbiased=unbiased)
            return (x - mean) / torch.sqrt(var + eps) * gamma.view(1, c, 1, 1) + beta.view(1, c, 1, 1)

        def near(a):
            return torch.allclose(got.double(), a.double(), atol=1e-4, rtol=1e-4)

        if not near(expected):
            if near(wrong((0, 2, 3), unbiased=True)):
                raise CheckFailed(f"{what}: you used the unbiased variance (divided by m - 1); "
                                  "BatchNorm normalises with the biased one (divide by m), e.g. "
                                  "x.var(dim=..., unbiased=False)")
            if h > 1 and near(wrong((2, 3))):
                raise CheckFailed(f"{what}: each image is normalised on its own (over H and W only); "
                                  "BatchNorm takes the statistics over the batch too: dims (0, 2, 3)")
            if near(wrong((1, 2, 3))) or near(wrong((0, 1, 2, 3))):
                raise CheckFailed(f"{what}: the statistics mix the channels; BatchNorm keeps one mean and "
                                  "one variance per channel, over dims (0, 2, 3)")
            plain = F.batch_norm(x, None, None, None, None, training=True, eps=eps)
            if near(plain):
                raise CheckFailed(f"{what}: the normalisation is right but gamma and beta are not applied: "
                                  "multiply by gamma and add beta, each viewed as (1, C, 1, 1)")
            _close(got, expected, what, atol=1e-4, rtol=1e-4)
    return _passed("batch_norm")


# -- The DCGAN architecture (notebooks/05_dcgan_architecture) ---------------------------

def _generator_stages(image_size: int, width: int, channels: int) -> list[tuple[int, int]]:
    """(channels, size) after each transposed convolution of the library's Generator."""
    from torch import nn

    from .models import Generator

    stages = []
    G = Generator(latent_dim=2, image_size=image_size, channels=channels, width=width).eval()
    for m in G.modules():
        if isinstance(m, nn.ConvTranspose2d):
            m.register_forward_hook(lambda mod, inp, out: stages.append((out.shape[1], out.shape[-1])))
    with torch.no_grad():
        G(torch.zeros(1, 2))
    return stages


def check_generator_stages(generator_stages) -> bool:
    """`generator_stages(image_size, width, channels)` lists the (channels, size) of each
    stage of a DCGAN generator, from the 4x4 projection to the output image, e.g.
    ``generator_stages(64, 128, 3) == [(1024, 4), (512, 8), (256, 16), (128, 32), (3, 64)]``."""
    for image_size, width, channels in ((64, 128, 3), (64, 64, 3), (32, 32, 1), (16, 8, 1), (128, 16, 3)):
        what = f"generator_stages({image_size}, {width}, {channels})"
        got = _call(generator_stages, image_size, width, channels, what="generator_stages")
        _expect(isinstance(got, (list, tuple)), f"{what} should return a list of (channels, size) pairs, "
                f"got {type(got).__name__}")
        try:
            got = [(int(c), int(s)) for c, s in got]
        except (TypeError, ValueError):
            raise CheckFailed(f"{what} should return a list of (channels, size) pairs, got {got!r}") from None
        expected = _generator_stages(image_size, width, channels)
        _expect(len(got) == len(expected),
                f"{what} has {len(got)} stages, expected {len(expected)}: one 4x4 projection, then one "
                f"stage per doubling up to {image_size}x{image_size}")
        for i, (g_, e) in enumerate(zip(got, expected)):
            _expect(g_[1] == e[1], f"{what}: stage {i} should be {e[1]}x{e[1]}, got {g_[1]}x{g_[1]}")
            hint = (" (the output stage has one channel per image channel)" if i == len(expected) - 1 else
                    " (width is the channel count of the last hidden stage; each stage nearer 4x4 doubles it)")
            _expect(g_[0] == e[0], f"{what}: stage {i} ({e[1]}x{e[1]}) should have {e[0]} channels, "
                    f"got {g_[0]}{hint}")
    return _passed("generator stages")


def check_dcgan_pair(G, D, image_size: int = 128, channels: int = 3, top_channels: int = 1024) -> bool:
    """A DCGAN generator/discriminator pair for `image_size` images with `channels`
    channels whose 4x4 stage has `top_channels` channels (G's first stage, D's last)."""
    from torch import nn

    for net, name in ((G, "G"), (D, "D")):
        _expect(isinstance(net, nn.Module), f"{name} should be a torch.nn.Module, got {type(net).__name__}")
    latent_dim = getattr(G, "latent_dim", None)
    _expect(isinstance(latent_dim, int), "G should be a dcgan_lib Generator (it has no latent_dim)")
    shapes = {}

    def keep(name):
        def hook(mod, inp, out):  # returns None: a hook's return value would replace the output
            shapes.setdefault(name, tuple(out.shape[1:]))
        return hook

    first = next((m for m in G.modules() if isinstance(m, nn.ConvTranspose2d)), None)
    last = [m for m in D.modules() if isinstance(m, nn.Conv2d)]
    _expect(first is not None, "G has no nn.ConvTranspose2d layer: build it with dcgan_lib.Generator")
    _expect(len(last) >= 2, "D has fewer than two nn.Conv2d layers: build it with dcgan_lib.Discriminator")
    hooks = [first.register_forward_hook(keep("G first")), last[-2].register_forward_hook(keep("D 4x4"))]
    was_training = G.training, D.training
    try:
        G.eval(), D.eval()
        with torch.no_grad():
            device = next(G.parameters()).device
            images = G(torch.randn(2, latent_dim, device=device))
            logits = D(images.to(next(D.parameters()).device))
    finally:
        for h in hooks:
            h.remove()
        G.train(was_training[0]), D.train(was_training[1])
    _shape(images, (2, channels, image_size, image_size), "G's images")
    _shape(logits, (2,), "D's logits (one per image)")
    _expect(shapes["G first"] == (top_channels, 4, 4),
            f"G's first stage should be {top_channels}x4x4, got {'x'.join(map(str, shapes['G first']))}: "
            "choose width so that width * 2**(stages - 1) equals the 4x4 channel count")
    _expect(shapes["D 4x4"][0] == top_channels and shapes["D 4x4"][1:] == (4, 4),
            f"D's last hidden stage should be {top_channels}x4x4, got {'x'.join(map(str, shapes['D 4x4']))}")
    return _passed(f"DCGAN pair for {image_size}x{image_size}x{channels}")


# -- Training a DCGAN (notebooks/06_training_dcgan) -------------------------------------

def _step_setup(seed: int = 0):
    """A small DCGAN discriminator, its Adam optimizer (the paper's settings), a batch of
    real and of detached fake images, and leftover gradients in D (as the generator step
    leaves them)."""
    from .models import Discriminator

    g = torch.Generator().manual_seed(seed)
    D = Discriminator(image_size=16, channels=1, width=8)
    with torch.no_grad():
        for p in D.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * (0.02 if p.dim() > 1 else 0.1) + (p.dim() == 1))
    real = torch.rand(16, 1, 16, 16, generator=g) * 2 - 1
    fake = (torch.rand(16, 1, 16, 16, generator=g) * 2 - 1) * 0.5
    for p in D.parameters():
        p.grad = torch.randn(p.shape, generator=g)  # stale gradients from a generator step
    opt = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    return D, opt, real, fake


def _run_d_steps(step, seed: int = 0, n: int = 2):
    """Parameters of D after ``n`` calls of ``step(D, opt, real, fake)``, and the first loss."""
    import copy

    D, opt, real, fake = _step_setup(seed)
    before = copy.deepcopy(D.state_dict())
    losses = [step(D, opt, real, fake) for _ in range(n)]
    return before, D.state_dict(), losses[0], D


def _param_distance(a: dict, b: dict, before: dict, names) -> float:
    """|a - b| relative to the size of the reference update b - before."""
    num = sum(float(((a[k] - b[k]).double() ** 2).sum()) for k in names)
    den = sum(float(((b[k] - before[k]).double() ** 2).sum()) for k in names)
    return (num / max(den, 1e-30)) ** 0.5


def check_discriminator_step(discriminator_step) -> bool:
    """`discriminator_step(D, opt_d, real, fake)` performs one update of D, as the library's
    `dcgan_lib.discriminator_step` does: zero the gradients, D(real) and D(fake) as two
    batches, the loss softplus(-D(real)).mean() + softplus(D(fake)).mean(), backward, step.
    It may return the loss (a tensor) or a tuple starting with it."""
    from .losses import discriminator_loss
    from .train import discriminator_step as reference

    def library(D, opt, real, fake):
        return reference(D, opt, real, fake)[0]

    def variant(kind):
        def step(D, opt, real, fake):
            if kind != "no_zero_grad":
                opt.zero_grad(set_to_none=True)
            if kind == "one_batch":
                logits = D(torch.cat([real, fake]))
                real_logits, fake_logits = logits[: len(real)], logits[len(real):]
            else:
                real_logits, fake_logits = D(real), D(fake)
            loss = discriminator_loss(fake_logits, real_logits) if kind == "swapped" \
                else discriminator_loss(real_logits, fake_logits)
            loss.backward()
            opt.step()
            return loss
        return step

    before, want, want_loss, _ = _run_d_steps(library)
    names = [k for k, _ in _step_setup()[0].named_parameters()]
    _expect(callable(discriminator_step), f"discriminator_step should be a function, got "
            f"{type(discriminator_step).__name__}")
    try:
        _, got, got_loss, D = _run_d_steps(discriminator_step)
    except NotImplementedError:
        raise CheckFailed("discriminator_step is not written yet (it raises NotImplementedError)") from None
    for k in names:
        _finite(got[k], f"D's parameter {k} after your step")
    moved = _param_distance(got, before, before, names)
    _expect(moved > 0, "D's parameters did not change: call opt_d.step() after loss.backward()")
    if _param_distance(got, want, before, names) < 1e-3:
        if got_loss is not None:
            loss = got_loss[0] if isinstance(got_loss, (tuple, list)) else got_loss
            _expect(torch.is_tensor(loss) and loss.numel() == 1,
                    f"discriminator_step should return the loss (one number), got {type(loss).__name__}")
            value = float(loss.detach())
            _expect(value > 0, f"the discriminator loss is a sum of two cross-entropies, so it is "
                    f"positive; yours returned {value:.4g} (a sign flipped?)")
        return _passed("discriminator_step")
    hints = {
        "no_zero_grad": "D's update includes gradients left over from before the step: call "
                        "opt_d.zero_grad() first (backward() adds to .grad, it does not overwrite it)",
        "swapped": "D's update goes the wrong way: real images should get label 1 "
                   "(loss softplus(-logit)) and fakes label 0 (loss softplus(logit))",
        "one_batch": "you passed real and fake through D as one batch: BatchNorm then normalises "
                     "them together; call D(real) and D(fake) separately, as the library does",
    }
    for kind, hint in hints.items():
        _, alt, _, _ = _run_d_steps(variant(kind))
        if _param_distance(got, alt, before, names) < 1e-3:
            raise CheckFailed(hint)
    raise CheckFailed("D's parameters after two of your steps differ from the library's "
                      f"(relative difference {_param_distance(got, want, before, names):.3g}): check the loss, "
                      "softplus(-D(real)).mean() + softplus(D(fake)).mean(), and the order "
                      "zero_grad, forward, backward, step")


def check_nonsaturating_generator_loss(generator_loss) -> bool:
    """`generator_loss(fake_logits)` is the non-saturating generator loss -E[log D(G(z))]
    = softplus(-logits).mean(), computed stably (finite for any logit)."""
    import torch.nn.functional as F

    moderate = torch.tensor([-3.0, -1.0, 0.0, 0.5, 2.0, 4.0])
    extreme = torch.tensor([-200.0, -50.0, 0.0, 50.0, 200.0])
    for logits, what in ((moderate, "moderate logits"), (extreme, "logits as large as ±200")):
        x = logits.clone().requires_grad_(True)
        loss = _call(generator_loss, x, what="generator_loss")
        _expect(torch.is_tensor(loss), f"generator_loss should return a tensor, got {type(loss).__name__}")
        _expect(loss.numel() == 1, f"generator_loss should return one number (the mean over the batch), "
                f"got shape {tuple(loss.shape)}")
        want = F.softplus(-logits).mean()
        if what == "moderate logits":
            if torch.allclose(loss.detach().double(), (-F.softplus(logits).mean()).double(), atol=1e-5):
                raise CheckFailed("that is the saturating (minimax) loss E[log(1 - D(G(z)))]; the "
                                  "non-saturating one is -E[log D(G(z))]")
            if torch.allclose(loss.detach().double(), (-want).double(), atol=1e-5):
                raise CheckFailed("the sign is flipped: the generator minimises -E[log D(G(z))]")
            if torch.allclose(loss.detach().double(), F.softplus(-logits).sum().double(), atol=1e-4):
                raise CheckFailed("take the mean over the batch, not the sum")
        _expect(bool(torch.isfinite(loss.detach())),
                f"for {what} the loss is {float(loss.detach()):.4g}: sigmoid(l) rounds to 0 for very "
                "negative l and its log is -inf; use F.softplus(-l) (or -F.logsigmoid(l)), which stays finite")
        _close(loss.detach(), want, f"generator_loss for {what}", atol=1e-4, rtol=1e-5)
        _expect(loss.requires_grad, "generator_loss should keep the graph (no .item(), .detach() or numpy)")
        (grad,) = torch.autograd.grad(loss, x)
        _finite(grad, f"the gradient of generator_loss for {what}")
        _close(grad, -torch.sigmoid(-logits) / len(logits), f"the gradient of generator_loss for {what}",
               atol=1e-5, rtol=1e-4)
    return _passed("non-saturating generator loss")


# -- Evaluating a GAN (notebooks/07_evaluating_gans) ------------------------------------

def _frechet_cases():
    """(name, mu1, sigma1, mu2, sigma2) in float64 numpy: 1-D, identical, diagonal, general."""
    import numpy as np

    rng = np.random.default_rng(7)

    def spd(d):
        a = rng.normal(size=(d, d))
        return a @ a.T / d + 0.1 * np.eye(d)

    cases = [("1-D Gaussians N(1, 4) and N(-2, 1)", np.array([1.0]), np.array([[4.0]]), np.array([-2.0]),
              np.array([[1.0]]))]
    s = spd(4)
    m = rng.normal(size=4)
    cases.append(("two identical 4-D Gaussians", m, s, m.copy(), s.copy()))
    cases.append(("diagonal covariances", np.array([0.0, 1.0, 2.0]), np.diag([1.0, 4.0, 0.25]),
                  np.array([1.0, -1.0, 2.0]), np.diag([9.0, 1.0, 0.25])))
    for d in (3, 8):
        cases.append((f"general {d}-D covariances", rng.normal(size=d), spd(d), rng.normal(size=d), spd(d)))
    return cases


def check_frechet_distance(frechet_distance) -> bool:
    """`frechet_distance(mu1, sigma1, mu2, sigma2)` -> the Frechet distance between N(mu1, sigma1) and
    N(mu2, sigma2) as a float: ||mu1 - mu2||^2 + Tr(sigma1 + sigma2 - 2 (sigma1 sigma2)^{1/2}).
    Means are (d,) and covariances (d, d) float64 numpy arrays."""
    import numpy as np
    from scipy import linalg

    from .metrics import frechet_distance as reference

    for name, mu1, s1, mu2, s2 in _frechet_cases():
        what = f"frechet_distance on {name}"
        got = _call(frechet_distance, mu1.copy(), s1.copy(), mu2.copy(), s2.copy(), what="frechet_distance")
        if torch.is_tensor(got):
            got = got.detach().cpu().numpy()
        got = np.asarray(got)
        _expect(got.size == 1, f"{what} should return one number, got an array of shape {got.shape}")
        _expect(not np.iscomplexobj(got), f"{what} returned a complex number: scipy.linalg.sqrtm can leave a "
                "tiny imaginary part; keep the real part (covmean.real) and return a float")
        got = float(got)
        want = reference(mu1, s1, mu2, s2)
        if abs(got - want) <= 1e-6 + 1e-5 * abs(want):
            continue
        mean_term = float((mu1 - mu2) @ (mu1 - mu2))
        no_cross = mean_term + float(np.trace(s1) + np.trace(s2))
        separate = no_cross - 2 * float(np.trace(linalg.sqrtm(s1).real @ linalg.sqrtm(s2).real))
        near = lambda x: abs(got - x) <= 1e-6 + 1e-5 * abs(x)  # noqa: E731
        if want > 0 and near(want ** 0.5):
            hint = "that is the square root of the answer: the Frechet distance used by FID is the squared distance"
        elif near(no_cross):
            hint = "the cross term - 2 Tr (sigma1 sigma2)^{1/2} is missing"
        elif near(mean_term):
            hint = "only the means are compared: add the covariance term Tr(sigma1 + sigma2 - 2 (sigma1 sigma2)^{1/2})"
        elif near(separate):
            hint = ("(sigma1 sigma2)^{1/2} is not sigma1^{1/2} sigma2^{1/2} unless the matrices commute: take the "
                    "matrix square root of the product, scipy.linalg.sqrtm(sigma1 @ sigma2)")
        elif name.startswith("general") and not np.isfinite(got):
            hint = ("the square root must be the matrix square root (scipy.linalg.sqrtm), not np.sqrt, which works "
                    "element by element")
        elif name.startswith("general"):
            hint = ("right for diagonal covariances but not general ones: use the matrix square root "
                    "scipy.linalg.sqrtm(sigma1 @ sigma2) and the matrix product @, not element-wise * or np.sqrt")
        else:
            hint = "compare with ||mu1 - mu2||^2 + Tr(sigma1) + Tr(sigma2) - 2 Tr sqrtm(sigma1 @ sigma2)"
        raise CheckFailed(f"{what}: expected {want:.6g}, got {got:.6g}; {hint}")
    return _passed("frechet_distance")


# -- GAN versus DCGAN, measured (notebooks/08_gan_vs_dcgan) -----------------------------

def check_compare_runs(compare_runs) -> bool:
    """`compare_runs(scores_a, scores_b, higher_is_better)` -> {"mean_a", "std_a", "mean_b", "std_b",
    "winner"}: means and sample standard deviations (n - 1) of two models' per-seed scores, and
    "a" or "b" when the better mean wins by more than std_a + std_b, else "tie"."""
    import statistics

    cases = [  # (scores_a, scores_b, higher_is_better, winner): FID-like, then recall-like
        ([30.0, 32.0, 34.0], [60.0, 50.0, 70.0], False, "a"),    # gap 28 > 2 + 10
        ([30.0, 32.0, 34.0], [60.0, 50.0, 70.0], True, "b"),     # the same numbers, higher is better
        ([0.5, 0.6, 0.7], [0.42, 0.45, 0.48], True, "a"),        # gap 0.15 > 0.1 + 0.03
        ([0.5, 0.6, 0.7], [0.45, 0.55, 0.65], True, "tie"),      # gap 0.05 < 0.1 + 0.1
        ([41.0, 45.0, 43.0, 47.0], [44.0, 40.0, 42.0, 46.0], False, "tie"),
        ([0.2, 0.2, 0.2], [0.25, 0.25, 0.25], True, "b"),        # no spread: any gap decides
    ]
    for a, b, higher, winner in cases:
        what = f"compare_runs({a}, {b}, higher_is_better={higher})"
        got = _call(compare_runs, list(a), list(b), higher, what="compare_runs")
        _expect(isinstance(got, dict), f"{what} should return a dict, got {type(got).__name__}")
        missing = [k for k in ("mean_a", "std_a", "mean_b", "std_b", "winner") if k not in got]
        _expect(not missing, f"{what} is missing the key(s) {', '.join(missing)}")
        for side, values in (("a", a), ("b", b)):
            _close(float(got[f"mean_{side}"]), statistics.mean(values), f"{what}['mean_{side}']")
            std = float(got[f"std_{side}"])
            population = statistics.pstdev(values)
            _expect(not (population > 0 and abs(std - population) < 1e-9),
                    f"{what}['std_{side}'] = {std:.4g} is the population standard deviation (dividing by n); "
                    "use the sample standard deviation, dividing by n - 1 (statistics.stdev, torch.std, "
                    "or numpy.std(..., ddof=1))")
            _close(std, statistics.stdev(values), f"{what}['std_{side}']")
        _expect(got["winner"] in ("a", "b", "tie"), f"{what}['winner'] should be 'a', 'b' or 'tie', "
                f"got {got['winner']!r}")
        if got["winner"] != winner:
            if winner == "tie":
                hint = ("the means differ by less than std_a + std_b, which is too little to call: "
                        "that is a 'tie'")
            elif got["winner"] == "tie":
                hint = "the means differ by more than std_a + std_b, so the better one wins"
            else:
                hint = ("that is the worse model: with higher_is_better=False (FID) the lower mean wins, "
                        "with True (recall) the higher")
            raise CheckFailed(f"{what}['winner'] should be {winner!r}, got {got['winner']!r}: {hint}")
    return _passed("compare_runs")


def check_parameters_by_layer_type(parameters_by_layer_type) -> bool:
    """`parameters_by_layer_type(model)` -> {layer class name: parameters held by layers of that
    type}, each layer's own parameters counted once, types holding none left out."""
    from torch import nn

    from .models import Discriminator, Generator, MLPGenerator

    def expected(model):
        counts = {}
        for m in model.modules():
            n = sum(p.numel() for p in m.parameters(recurse=False))
            if n:
                counts[type(m).__name__] = counts.get(type(m).__name__, 0) + n
        return counts

    torch.manual_seed(0)
    models = {"nn.Sequential(Linear(3, 4), ReLU(), Linear(4, 2))":
              nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)),
              "MLPGenerator(8, (1, 16, 16), hidden=(32,))": MLPGenerator(8, (1, 16, 16), hidden=(32,)),
              "Generator(8, image_size=16, channels=1, width=4)": Generator(8, 16, 1, 4),
              "Discriminator(image_size=16, channels=3, width=4)": Discriminator(16, 3, 4)}
    for name, model in models.items():
        got = _call(parameters_by_layer_type, model, what="parameters_by_layer_type")
        what = f"parameters_by_layer_type({name})"
        _expect(isinstance(got, dict), f"{what} should return a dict, got {type(got).__name__}")
        got = {str(k): int(v) for k, v in got.items() if int(v) != 0}
        want = expected(model)
        containers = [k for k in got if k in ("Sequential", "ModuleList", "ModuleDict", type(model).__name__)
                      and k not in want]
        _expect(not containers, f"{what} has entries for {', '.join(containers)}, which hold no parameters "
                "of their own: count each leaf layer's own parameters, e.g. sum(p.numel() for p in "
                "module.parameters(recurse=False)) for module in model.modules()")
        total = sum(p.numel() for p in model.parameters())
        _expect(sum(got.values()) == total, f"{what}: the counts add up to {sum(got.values()):,} but the model "
                f"has {total:,} parameters; count every parameter exactly once")
        _expect(set(got) == set(want), f"{what} should have the keys {sorted(want)}, got {sorted(got)} "
                "(use type(module).__name__)")
        for k in want:
            _expect(got[k] == want[k], f"{what}[{k!r}] should be {want[k]:,}, got {got[k]:,}")
    return _passed("parameters_by_layer_type")
