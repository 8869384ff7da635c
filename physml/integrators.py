"""Explicit Runge-Kutta schemes as Butcher tableaus, one generic step, and Euler-Maruyama.

A scheme is a value (a frozen :class:`ButcherTableau`), and one :func:`rk_step` advances
any of them, so an ODE-Net, a ContinuousNet block and a recurrent cell all step through
the same code.

Note that torchdiffeq's ``"rk4"`` is the 3/8 rule; physml's ``"rk4"`` is the classic
Runge-Kutta scheme and the 3/8 rule is ``"rk4_38"``.
"""

from dataclasses import dataclass

import torch

__all__ = ["ButcherTableau", "INTEGRATORS", "resolve_integrator", "rk_step", "integrate",
           "euler_maruyama_step"]


@dataclass(frozen=True)
class ButcherTableau:
    """An explicit Runge-Kutta scheme ``(a, b, c)`` of a given order.

    ``k_i = f(t + c_i h, x + h sum_j a_ij k_j)`` for ``j < i``; ``x' = x + h sum_i b_i k_i``.
    """

    name: str
    a: tuple
    b: tuple
    c: tuple
    order: int

    @property
    def stages(self):
        return len(self.b)

    def validate(self):
        """Check the tableau is explicit and consistent (row sums of a equal c)."""
        if len(self.a) != self.stages or len(self.c) != self.stages:
            raise ValueError(f"{self.name}: a, b and c must have one row per stage")
        for i, row in enumerate(self.a):
            if len(row) != i:
                raise ValueError(f"{self.name}: row {i} of a must have {i} entries (explicit)")
            if abs(sum(row) - self.c[i]) > 1e-12:
                raise ValueError(f"{self.name}: row {i} of a must sum to c[{i}]")
        if abs(sum(self.b) - 1) > 1e-12:
            raise ValueError(f"{self.name}: b must sum to 1")
        return self


EULER = ButcherTableau("euler", a=((),), b=(1.0,), c=(0.0,), order=1)
MIDPOINT = ButcherTableau("midpoint", a=((), (0.5,)), b=(0.0, 1.0), c=(0.0, 0.5), order=2)
HEUN = ButcherTableau("heun", a=((), (1.0,)), b=(0.5, 0.5), c=(0.0, 1.0), order=2)
RK4 = ButcherTableau(
    "rk4", a=((), (0.5,), (0.0, 0.5), (0.0, 0.0, 1.0)),
    b=(1 / 6, 1 / 3, 1 / 3, 1 / 6), c=(0.0, 0.5, 0.5, 1.0), order=4,
)
RK4_38 = ButcherTableau(
    "rk4_38", a=((), (1 / 3,), (-1 / 3, 1.0), (1.0, -1.0, 1.0)),
    b=(1 / 8, 3 / 8, 3 / 8, 1 / 8), c=(0.0, 1 / 3, 2 / 3, 1.0), order=4,
)
SSPRK3 = ButcherTableau(
    "ssprk3", a=((), (1.0,), (0.25, 0.25)), b=(1 / 6, 1 / 6, 2 / 3), c=(0.0, 1.0, 0.5), order=3,
)

INTEGRATORS = {t.name: t for t in (EULER, MIDPOINT, HEUN, RK4, RK4_38, SSPRK3)}
INTEGRATORS["rk2"] = HEUN


def integrator_constraint():
    """``_parameter_constraints`` of an ``integrator`` parameter: a name or a tableau."""
    from sklearn.utils._param_validation import StrOptions

    return [StrOptions(set(INTEGRATORS)), ButcherTableau]


def resolve_integrator(integrator):
    """A :class:`ButcherTableau` from a name or a tableau; ValueError listing the names."""
    if isinstance(integrator, ButcherTableau):
        return integrator.validate()
    try:
        return INTEGRATORS[integrator]
    except (KeyError, TypeError):
        raise ValueError(
            f"integrator={integrator!r} is not supported; choose one of {sorted(INTEGRATORS)} "
            "or pass a ButcherTableau"
        ) from None


def rk_step(f, x, h, tableau, t=0.0):
    """One explicit Runge-Kutta step ``x(t) -> x(t + h)`` of ``dx/dt = f(t, x)``."""
    ks = []
    for a_row, c in zip(tableau.a, tableau.c):
        xi = x
        for a_ij, k in zip(a_row, ks):
            if a_ij:
                xi = xi + (h * a_ij) * k
        ks.append(f(t + c * h, xi))
    out = x
    for b_i, k in zip(tableau.b, ks):
        if b_i:
            out = out + (h * b_i) * k
    return out


def integrate(f, x0, h, n_steps, tableau, t0=0.0, return_path=False):
    """``n_steps`` steps of size ``h`` from ``x0``; the end state, or every state."""
    x, t = x0, t0
    path = [x0] if return_path else None
    for _ in range(int(n_steps)):
        x = rk_step(f, x, h, tableau, t)
        t = t + h
        if return_path:
            path.append(x)
    return torch.stack(path) if return_path else x


def euler_maruyama_step(drift, diffusion, x, h, noise):
    """One Euler-Maruyama step of ``dx = drift(x) dt + diffusion(x) dB``.

    ``noise`` is a standard normal sample shaped like ``x`` (``dB = sqrt(h) noise``), passed
    in so that the caller controls the random stream (seeded, or off at inference).
    """
    return x + h * drift(x) + (h ** 0.5) * diffusion(x) * noise
