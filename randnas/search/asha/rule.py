"""The pure parts of ASHA: rung resources and the promotion rule (Li et al., "A System for Massively
Parallel Hyperparameter Tuning"; reference section 6).

Symbols: r the minimum resource, R the maximum, eta the reduction factor, K = floor(log_eta(R / r))
the top rung's index. Resources are epochs here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from randnas.configs import SettingError

LAYOUTS = ("top_down", "bottom_up")


def top_rung(r: float, R: float, eta: int) -> int:
    """K = floor(log_eta(R / r)), guarded against floating error (300 / 1 with eta 4 gives 4)."""
    K = math.floor(math.log(R / r, eta) + 1e-9)
    return K


def check_rung_arguments(r: float, R: float, eta: int) -> None:
    if not r > 0 or not math.isfinite(r):
        raise SettingError(f"r (the minimum resource) must be a positive number, got {r}")
    if not R >= r or not math.isfinite(R):
        raise SettingError(f"R (the maximum resource) must be a finite number of at least r = {r}, got {R}")
    if not (isinstance(eta, int) and eta >= 2):
        raise SettingError(f"eta (the reduction factor) must be an integer of at least 2, got {eta}")


def rung_resources(r: float, R: float, eta: int, layout: str = "top_down") -> list[int]:
    """The resource of each rung, bottom to top.

    `top_down` (as released): R * eta^(k - K) for k = 0..K, truncated, so the top rung is exactly R:
    r=1, R=300, eta=4 gives 1, 4, 18, 75, 300. `bottom_up`: r * eta^k for k = 0..K: 1, 4, 16, 64, 256.
    """
    check_rung_arguments(r, R, eta)
    if layout not in LAYOUTS:
        raise SettingError(f"unknown rung layout {layout!r}; choose one of {', '.join(LAYOUTS)}")
    K = top_rung(r, R, eta)
    if layout == "top_down":
        resources = [int(R * eta ** (k - K) + 1e-9) for k in range(K + 1)]
    else:
        resources = [int(r * eta**k + 1e-9) for k in range(K + 1)]
    if resources[0] < 1:
        raise SettingError(f"the bottom rung's resource {R * eta**-K:.3f} truncates to 0; raise r or R")
    return resources


def promotable(results: Mapping[int, float], promoted: Sequence[int] | set[int], eta: int) -> int | None:
    """The trial to promote out of one rung, or None.

    `results` maps trial id -> value (higher is better) in the order the results arrived. The rung's
    top floor(n / eta) results are the candidates (ties keep the earlier arrival); the first of them,
    best first, that is not yet promoted is the answer.
    """
    order = {trial: position for position, trial in enumerate(results)}
    ranked = sorted(results, key=lambda trial: (-results[trial], order[trial]))
    for trial in ranked[: len(results) // eta]:
        if trial not in promoted:
            return trial
    return None
