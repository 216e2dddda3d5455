"""Average run lengths (ARL) of CUSUM and EWMA charts by the Markov-chain method.

A chart's run length is the number of observations until it signals.  Its average, in control
(ARL0: how often a false alarm comes) and after a shift (ARL1: the expected detection delay),
is what a decision limit is chosen for.  Brook & Evans (1972), "An approach to the probability
distribution of cusum run length", Biometrika 59:539-549: the chart's state before the signal
is a Markov chain with transient matrix ``Q``; the ARLs from every starting state solve
``(I - Q) L = 1``.

``cusum_arl``
    Tabular CUSUM of a normal mean (values in standard deviations): ``[0, h)`` cut into
    ``states`` cells of width ``2h / (2 states - 1)``, the first holding 0 (Brook & Evans's
    discretisation; an approximation that converges as ``states`` grows).  The two-sided ARL
    combines the one-sided ones as ``1 / (1 / ARL+ + 1 / ARL-)`` (Van Dobben de Bruyn 1968;
    Lucas & Crosier 1982), the convention of their tables.
``ewma_arl``
    EWMA of a normal mean with asymptotic limits ``+/- L sqrt(lam / (2 - lam))``, started at
    the target: the interval between the limits cut into ``states`` cells (Lucas & Saccucci
    1990, "Exponentially weighted moving average control schemes", Technometrics 32:1-12).
``ewma_limit_for_arl``
    The ``L`` that gives an in-control ARL (Brent's method on ``ewma_arl``).
``bernoulli_cusum_arl`` / ``bernoulli_cusum_design``
    The Bernoulli CUSUM of Reynolds & Stoumbos (1999), "A CUSUM chart for monitoring a
    proportion when inspecting continuously", Journal of Quality Technology 31:87-108:
    ``B_t = max(0, B_(t-1) + X_t - gamma)``, signal when ``B_t >= h``, with ``gamma`` the
    likelihood-ratio reference value for a shift from ``p0`` to ``p1``.  With
    ``gamma = b / m`` rational the chart moves on the lattice of multiples of ``1 / m``: up
    ``m - b`` steps on a 1, down ``b`` steps (not below 0) on a 0.  Its Markov chain is then
    finite and the ARL is exact, not an approximation; ``gamma`` is rounded to the nearest
    fraction with denominator at most ``max_denominator`` (Reynolds & Stoumbos round it to
    ``1 / m``), and the chart that is run uses that very ``gamma``.  Multiplying ``B`` by
    ``ln(p1 (1 - p0) / (p0 (1 - p1)))`` gives the log-likelihood-ratio scale of Steiner, Cook,
    Farewell & Treasure (2000), Biostatistics 1:441-452.

The zero-state ARL after a shift is the longest expected delay over starting states: a CUSUM
that is above 0 when the shift comes signals no later, on average, than one at 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtr

__all__ = [
    "BernoulliCusumDesign",
    "bernoulli_cusum_arl",
    "bernoulli_cusum_design",
    "bernoulli_reference_value",
    "cusum_arl",
    "ewma_arl",
    "ewma_limit_for_arl",
]

FloatArray = NDArray[np.float64]
Sided = Literal["upper", "lower", "two"]


def _solve_arl(q: FloatArray) -> FloatArray:
    """ARL from every transient state: ``(I - Q) L = 1``."""
    size = q.shape[0]
    return np.asarray(np.linalg.solve(np.eye(size) - q, np.ones(size)), dtype=np.float64)


def _check_states(states: int) -> None:
    if states < 10:
        raise ValueError(f"states must be at least 10; got {states}")


def _upper_cusum_arl(shift: float, k: float, h: float, states: int) -> float:
    width = 2.0 * h / (2 * states - 1)
    centres = np.arange(states) * width
    mean = centres[:, None] - k + shift  # where each state moves on average
    q = ndtr(centres[None, :] + width / 2 - mean) - ndtr(centres[None, :] - width / 2 - mean)
    q[:, 0] = ndtr(width / 2 - mean[:, 0])  # back to (or near) zero
    return float(_solve_arl(q)[0])


def cusum_arl(
    shift: float, *, k: float = 0.5, h: float = 5.0, sided: Sided = "two", states: int = 600
) -> float:
    """Zero-state ARL of the tabular CUSUM of a normal mean; ``shift``, ``k``, ``h`` in sigmas."""
    _check_states(states)
    if not (k >= 0 and h > 0):
        raise ValueError(f"k must be >= 0 and h > 0; got k={k!r}, h={h!r}")
    if sided == "upper":
        return _upper_cusum_arl(shift, k, h, states)
    if sided == "lower":
        return _upper_cusum_arl(-shift, k, h, states)
    if sided != "two":
        raise ValueError(f"sided must be 'upper', 'lower' or 'two'; got {sided!r}")
    up = _upper_cusum_arl(shift, k, h, states)
    down = _upper_cusum_arl(-shift, k, h, states)
    return 1.0 / (1.0 / up + 1.0 / down)


def _check_lambda(lam: float) -> None:
    if not 0.0 < lam <= 1.0:
        raise ValueError(f"lam must lie in (0, 1]; got {lam!r}")


def ewma_arl(shift: float, *, lam: float, limit: float, states: int = 301) -> float:
    """Zero-state ARL of a two-sided EWMA of a normal mean with asymptotic limits.

    ``limit`` is ``L`` of the limits ``+/- L sigma sqrt(lam / (2 - lam))``; ``shift`` is in
    sigmas of one observation.  ``states`` is made odd so that one cell is centred on 0.
    """
    _check_states(states)
    _check_lambda(lam)
    if limit <= 0:
        raise ValueError(f"limit must be positive; got {limit!r}")
    states += 1 - states % 2
    half = limit * math.sqrt(lam / (2.0 - lam))
    width = 2.0 * half / states
    centres = -half + width / 2 + np.arange(states) * width
    stay = (1.0 - lam) * centres[:, None]
    low = (centres[None, :] - width / 2 - stay) / lam - shift
    high = (centres[None, :] + width / 2 - stay) / lam - shift
    return float(_solve_arl(ndtr(high) - ndtr(low))[states // 2])


def ewma_limit_for_arl(arl0: float, *, lam: float, states: int = 301) -> float:
    """The ``L`` whose two-sided EWMA has in-control ARL ``arl0``."""
    from scipy.optimize import brentq

    _check_lambda(lam)
    if arl0 <= 1:
        raise ValueError(f"arl0 must exceed 1; got {arl0!r}")
    return float(
        brentq(lambda lim: ewma_arl(0.0, lam=lam, limit=lim, states=states) - arl0, 0.1, 6.0)
    )


# --- Bernoulli CUSUM ---------------------------------------------------------------------------


def _check_rate(p: float, name: str) -> float:
    value = float(p)
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name} must lie strictly between 0 and 1; got {value!r}")
    return value


def bernoulli_reference_value(p0: float, p1: float) -> float:
    """Reynolds & Stoumbos's ``gamma = ln((1 - p0)/(1 - p1)) / ln(p1 (1 - p0) / (p0 (1 - p1)))``."""
    p0, p1 = _check_rate(p0, "p0"), _check_rate(p1, "p1")
    if p1 <= p0:
        raise ValueError(
            f"p1 must exceed p0 (the chart detects an increase); got p0={p0!r}, p1={p1!r}"
        )
    return math.log((1 - p0) / (1 - p1)) / math.log(p1 * (1 - p0) / (p0 * (1 - p1)))


def _lattice(gamma: float, max_denominator: int) -> tuple[int, int]:
    """(b, m) with ``b / m`` the fraction nearest ``gamma`` with ``m <= max_denominator``."""
    if max_denominator < 1:
        raise ValueError(f"max_denominator must be at least 1; got {max_denominator}")
    frac = Fraction(gamma).limit_denominator(max_denominator)
    if frac.numerator == 0:  # gamma smaller than 1 / (2 max_denominator): one step down
        frac = Fraction(1, max_denominator)
    return frac.numerator, frac.denominator


def _lattice_arl(p: float, up: int, down: int, limit: int) -> float:
    """Exact zero-state ARL: states 0..limit-1; a 1 moves ``up``, a 0 moves ``down`` (floor 0)."""
    from scipy.sparse import coo_matrix, identity
    from scipy.sparse.linalg import spsolve

    states = np.arange(limit)
    rise = states + up
    keep = rise < limit  # a rise to ``limit`` or beyond is the signal (absorbing)
    fall = np.maximum(states - down, 0)
    rows = np.concatenate([states[keep], states])
    cols = np.concatenate([rise[keep], fall])
    probs = np.concatenate([np.full(int(keep.sum()), p), np.full(limit, 1.0 - p)])
    q = coo_matrix((probs, (rows, cols)), shape=(limit, limit)).tocsc()
    arl = spsolve((identity(limit, format="csc") - q).tocsc(), np.ones(limit))
    return float(np.asarray(arl)[0])


@dataclass(frozen=True, slots=True)
class BernoulliCusumDesign:
    """A Bernoulli CUSUM ready to run: its reference value, limit and exact ARLs.

    ``gamma = step_down / scale`` and ``h = limit_steps / scale`` exactly (the chart's values
    are multiples of ``1 / scale``).  ``arl0`` is the expected number of observations to a
    false alarm at ``p0``; ``arl1`` the expected number from the shift to ``p1`` to the signal
    when the chart stands at 0 at the shift (the longest such delay).
    """

    p0: float
    p1: float
    gamma: float
    h: float
    scale: int
    step_down: int
    limit_steps: int
    arl0: float
    arl1: float
    method: str

    def arl(self, p: float) -> float:
        """Exact zero-state ARL of this chart when the true rate is ``p``."""
        p = _check_rate(p, "p")
        return _lattice_arl(p, self.scale - self.step_down, self.step_down, self.limit_steps)


def bernoulli_cusum_arl(p: float, *, gamma: float, h: float, max_denominator: int = 100) -> float:
    """Exact zero-state ARL at rate ``p`` of the chart with reference value ``gamma``, limit ``h``.

    ``gamma`` is rounded as in :func:`bernoulli_cusum_design`; ``h`` up to the lattice.
    """
    b, m = _lattice(float(gamma), max_denominator)
    if h <= 0:
        raise ValueError(f"h must be positive; got {h!r}")
    return _lattice_arl(_check_rate(p, "p"), m - b, b, math.ceil(h * m - 1e-9))


def bernoulli_cusum_design(
    p0: float,
    p1: float,
    *,
    arl0: float | None = None,
    h: float | None = None,
    max_denominator: int = 100,
) -> BernoulliCusumDesign:
    """Bernoulli CUSUM for a rise of a rate from ``p0`` to ``p1``: give ``arl0`` or ``h``.

    With ``arl0`` the limit is the smallest lattice value whose exact in-control ARL reaches
    ``arl0`` (the achieved ARL, at least ``arl0``, is in the design).  ``p0`` is the in-control
    rate, typically the rate of a baseline period.
    """
    gamma = bernoulli_reference_value(p0, p1)
    if (arl0 is None) == (h is None):
        raise ValueError("give exactly one of arl0 (target in-control ARL) or h (decision limit)")
    b, m = _lattice(gamma, max_denominator)
    up = m - b
    if h is not None:
        if h <= 0:
            raise ValueError(f"h must be positive; got {h!r}")
        limit = math.ceil(float(h) * m - 1e-9)
    else:
        assert arl0 is not None
        if arl0 <= 1:
            raise ValueError(f"arl0 must exceed 1; got {arl0!r}")
        limit = _smallest_limit(p0, up, b, float(arl0))
    in_control = _lattice_arl(p0, up, b, limit)
    shifted = _lattice_arl(p1, up, b, limit)
    method = (
        f"Bernoulli CUSUM (Reynolds & Stoumbos 1999), gamma = {b}/{m}, "
        f"exact ARL by Markov chain (Brook & Evans 1972)"
    )
    return BernoulliCusumDesign(
        p0=float(p0),
        p1=float(p1),
        gamma=b / m,
        h=limit / m,
        scale=m,
        step_down=b,
        limit_steps=limit,
        arl0=in_control,
        arl1=shifted,
        method=method,
    )


_MAX_LIMIT_STEPS = 2_000_000


def _smallest_limit(p0: float, up: int, down: int, target: float) -> int:
    """Smallest lattice limit whose in-control ARL reaches ``target`` (the ARL grows with it)."""
    low, high = 1, max(up, 1)
    while _lattice_arl(p0, up, down, high) < target:
        low, high = high + 1, high * 2
        if high > _MAX_LIMIT_STEPS:
            raise ValueError(
                f"no decision limit up to {_MAX_LIMIT_STEPS} lattice steps reaches "
                f"an in-control ARL of {target:g}; lower arl0 or max_denominator"
            )
    while low < high:
        middle = (low + high) // 2
        if _lattice_arl(p0, up, down, middle) >= target:
            high = middle
        else:
            low = middle + 1
    return high
