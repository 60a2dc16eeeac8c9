"""Checks of the stabilisers chapter (notebooks/14_stabilisers): the power iteration of
spectral normalisation.

`spectral_norm_estimate(weight, u, iterations)` estimates the largest singular value of a
weight as spectral normalisation (Miyato et al. 2018) does. The check builds weights
W = U diag(s) V^T whose singular values it knows, so that it can compare the answer with
the right value (torch.linalg.svdvals) and with the value of every usual mistake (the
Frobenius norm, sigma squared, a kernel reshaped the wrong way), without running a power
iteration of its own. Then it looks at what a power iteration does and an SVD does not:
from a poor start vector the estimate is a lower bound that rises with the iterations, and
a second call carries on from the u the first one returned. Last, sigma keeps its gradient
with respect to the weight, u1 v1^T, through which spectral normalisation trains.
"""

from __future__ import annotations

import torch

from ._common import CheckFailed, _call, _expect, _finite, _passed, _shape, _tensor

_GAP = (5.0, 2.0, 1.0, 0.5)  # a clear gap: the power iteration converges fast
_CLOSE = (3.0, 2.9, 1.0, 0.5)  # a small gap: it converges slowly, each step can be seen
_STEPS = (1, 2, 4, 8)


def _with_singular_values(s: tuple, n_in: int, gen: torch.Generator):
    """A (len(s), n_in) matrix U diag(s) V^T, with U and V (orthonormal columns)."""
    left, _ = torch.linalg.qr(torch.randn(len(s), len(s), generator=gen))
    right, _ = torch.linalg.qr(torch.randn(n_in, len(s), generator=gen))
    return left @ torch.diag(torch.tensor(s)) @ right.T, left, right


def _unit(x: torch.Tensor) -> torch.Tensor:
    return x / x.norm()


def _estimate(fn, weight: torch.Tensor, u: torch.Tensor, iterations: int, what: str):
    """Call the answer; check that it left its arguments alone and what it returns."""
    weight_before, u_before = weight.detach().clone(), u.clone()
    out = _call(fn, weight, u, iterations, what="spectral_norm_estimate")
    _expect(
        torch.equal(u, u_before),
        "u was changed in place: return a new vector, the caller keeps its own",
    )
    _expect(
        torch.equal(weight.detach(), weight_before),
        "weight was changed in place: leave it as it is (spectral normalisation uses "
        "W / sigma, a new tensor, and keeps the weight itself)",
    )
    _expect(
        isinstance(out, (tuple, list)) and len(out) == 2,
        f"spectral_norm_estimate should return a pair (sigma, u), got {type(out).__name__}",
    )
    sigma = _tensor(out[0], f"sigma of {what}")
    _expect(sigma.numel() == 1, f"sigma should be one number, got shape {tuple(sigma.shape)}")
    _finite(sigma, f"sigma of {what}")
    new_u = _tensor(out[1], "the returned u")
    n_out, n_in = weight.shape[0], weight[0].numel()
    _expect(
        tuple(new_u.shape) != (n_in,) or n_in == n_out,
        f"the returned u has shape ({n_in},), the size of v: return u, of shape ({n_out},), "
        "one entry per output unit",
    )
    _shape(new_u, (n_out,), "the returned u")
    _finite(new_u, "the returned u")
    norm = float(new_u.norm())
    _expect(
        abs(norm - 1) < 1e-4,
        f"the returned u has norm {norm:.4g}, not 1: return the normalised u = W v / ||W v||",
    )
    return out[0], new_u


def _mistakes(weight: torch.Tensor) -> dict[str, float]:
    """The sigma each usual mistake converges to on `weight`, with what to tell the student."""
    weight = weight.detach()
    n_out, svd = len(weight), torch.linalg.svdvals
    w = weight.reshape(n_out, -1)
    found = {
        "that is the Frobenius norm, the root of the sum of all squared singular values; "
        "spectral normalisation divides by the largest one": w.norm(),
        "sigma squared: sigma = u^T W v with u and v unit vectors, not ||W^T u||^2": svd(w)[0] ** 2,
        "the weight was reshaped as weight.reshape(-1, out).T, which mixes the output units: "
        "use weight.reshape(out, -1) (its transpose has the same singular values, a reshape "
        "to (in*k*k, out) does not)": svd(weight.reshape(-1, n_out))[0],
        "the weight was reshaped with its first two axes swapped ((in, out, k, k) is the "
        "layout of ConvTranspose2d): a Linear weight is (out, in), a Conv2d kernel (out, in, "
        "k, k), use weight.reshape(out, -1)": svd(weight.transpose(0, 1).reshape(n_out, -1))[0],
    }
    if weight.dim() == 4:
        found[
            "only the first kernel tap weight[:, :, 0, 0] was used: reshape the whole kernel "
            "to (out, in*k*k) with weight.reshape(out, -1)"
        ] = svd(weight[:, :, 0, 0])[0]
    return {message: float(value) for message, value in found.items()}


def _converges(fn, weight, u, iterations: int, want: float, rtol: float, what: str) -> None:
    got = float(_estimate(fn, weight, u, iterations, what)[0])
    if abs(got - want) <= rtol * want:
        return
    for message, value in _mistakes(weight).items():
        if abs(got - value) <= 1e-3 * abs(value):
            raise CheckFailed(f"{what} gives sigma {got:.5g}, want {want:.5g}: {message}")
    raise CheckFailed(
        f"{what} gives sigma {got:.5g} after {iterations} iterations, want its largest singular "
        f"value {want:.5g}: each iteration is v = W^T u / ||W^T u||, u = W v / ||W v||, and at "
        "the end sigma = u^T W v"
    )


def check_spectral_norm_estimate(spectral_norm_estimate) -> bool:
    """`spectral_norm_estimate(weight, u, iterations)` -> `(sigma, u)`: the power iteration
    v = W^T u / ||W^T u||, u = W v / ||W v|| on W = weight.reshape(out, -1), sigma = u^T W v."""
    fn, gen = spectral_norm_estimate, torch.Generator().manual_seed(14)
    # it converges: on a Linear weight with a clear gap, and on a conv kernel
    w, _, _ = _with_singular_values(_GAP, 7, gen)
    u = _unit(torch.randn(4, generator=gen))
    _converges(fn, w, u, 50, _GAP[0], 1e-4, "a (4, 7) weight with singular values (5, 2, 1, 0.5)")
    kernel = torch.randn(8, 3, 4, 4, generator=gen)
    want = float(torch.linalg.svdvals(kernel.reshape(8, -1))[0])
    u = _unit(torch.randn(8, generator=gen))
    _converges(fn, kernel, u, 100, want, 1e-3, "a conv kernel of shape (8, 3, 4, 4)")
    # a small gap and a start u close to the second singular direction: the steps show
    w, left, _ = _with_singular_values(_CLOSE, 7, gen)
    u = _unit(0.1 * left[:, 0] + left[:, 1])
    what = "singular values (3, 2.9, 1, 0.5) from a u near the second singular direction"
    got = [float(_estimate(fn, w, u, n, what)[0]) for n in _STEPS]
    _expect(
        abs(got[0] - 3.0) > 3e-4,
        f"{what}: exact after one iteration: the exercise asks for power iteration, not an SVD "
        "(torch.linalg.svdvals / matrix_norm), and it runs `iterations` steps, no more",
    )
    shown = ", ".join(f"{g:.5f}" for g in got)
    _expect(
        max(got) <= 3.0 + 1e-5,
        f"{what}: after 1, 2, 4, 8 iterations sigma is {shown}, above the largest singular "
        "value 3: u^T W v with unit u and v is never above it; normalise u and v every step",
    )
    _expect(
        all(b >= a - 1e-5 for a, b in zip(got, got[1:])),
        f"{what}: after 1, 2, 4, 8 iterations sigma is {shown}; it should rise with the "
        "iterations: start from the given u and run `iterations` steps",
    )
    # the returned u persists: 8 iterations, then 8 more from the u returned, make 16
    again = float(_estimate(fn, w, _estimate(fn, w, u, 8, what)[1], 8, what)[0])
    once = float(_estimate(fn, w, u, 16, what)[0])
    _expect(
        abs(again - once) < 1e-5,
        f"{what}: 8 iterations, then 8 more from the u returned, give {again:.6f}, but 16 give "
        f"{once:.6f}: return the u of the last iteration, so that the next call carries on",
    )
    # the gradient of sigma with respect to the weight is u1 v1^T
    w, left, right = _with_singular_values(_GAP, 7, gen)
    w.requires_grad_(True)
    sigma, _ = _estimate(fn, w, _unit(torch.randn(4, generator=gen)), 50, "a weight with grad")
    _expect(
        sigma.requires_grad,
        "sigma has no gradient with respect to weight (no .item(), .detach() or numpy): "
        "u and v may be found under torch.no_grad(), but compute sigma = u^T W v from weight",
    )
    sigma.sum().backward()
    want = torch.outer(left[:, 0], right[:, 0])
    _expect(
        w.grad is not None and torch.allclose(w.grad, want, atol=1e-3),
        "d sigma / d weight should be u1 v1^T (the top singular vectors), got a different "
        "gradient: compute sigma = u^T W v from weight, with the converged u and v",
    )
    return _passed("spectral_norm_estimate")
