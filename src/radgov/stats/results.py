"""The result every interval-producing method returns.

Follows the contract of ARCHITECTURE.md rule 7: a small frozen dataclass with the
estimate, the interval, the method and n.  A metric that cannot be estimated on the
data given (a subgroup with no positives, say) is still an ``Estimate``: its numbers
are NaN, ``estimable`` is False and ``reason`` says why, so that nothing downstream
can mistake it for a valid number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Estimate:
    estimate: float
    ci_low: float
    ci_high: float
    method: str
    n: int
    confidence_level: float = 0.95
    reason: str | None = None

    @property
    def estimable(self) -> bool:
        return self.reason is None and not math.isnan(self.estimate)

    @classmethod
    def not_estimable(
        cls, reason: str, *, method: str, n: int, confidence_level: float = 0.95
    ) -> Estimate:
        nan = float("nan")
        return cls(nan, nan, nan, method, n, confidence_level, reason)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form: NaN becomes None, so a non-estimable metric reads as null."""

        def clean(x: float) -> float | None:
            return None if math.isnan(x) else float(x)

        out: dict[str, Any] = {
            "estimate": clean(self.estimate),
            "ci_low": clean(self.ci_low),
            "ci_high": clean(self.ci_high),
            "method": self.method,
            "n": int(self.n),
            "confidence_level": self.confidence_level,
        }
        if self.reason is not None:
            out["not_estimable"] = self.reason
        return out
