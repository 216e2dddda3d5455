"""The result of an acceptance test as written to ``OUT.json``.

Shape (``schema`` = ``radgov.evaluation/1``)::

    {
      "schema": "radgov.evaluation/1",
      "passed": true,
      "protocol": {"name", "task", "hash", "threshold", "confidence_level", "content": {...}},
      "cases": {"file", "format", "sha256", "n_rows", "synthetic"},
      "privacy": {"identifier_columns": [...], "allowed": false, "reason": null},
      "overall": {"sensitivity": {"estimate", "ci_low", "ci_high", "method", "n",
                                  "confidence_level", ["not_estimable"]}, ...},
      "subgroups": {"sex=F": {...same as overall...}, "age=[18,65)": {...}},
      "groups": {"overall": {"n", "n_positive", "n_negative"}, "sex=F": {...}},
      "criteria": [{"criterion", "metric", "subgroup", "rule", "rule_text", "threshold",
                    "observed", "passed", ["reason"]}],
      "ifu_comparison": [{"metric", "claimed", "observed", "ci_low", "ci_high", "verdict"}],
      "curves": {"roc", "roc_band", "calibration", "confusion", "operating_point",
                 "bland_altman"},
      "notes": ["what the report leaves out, and why"],
      "generated_at": "...Z", "radgov_version": "..."
    }

A metric that is not estimable has ``estimate``, ``ci_low`` and ``ci_high`` null and a
``not_estimable`` reason; ``observed`` of a criterion on it is null and ``passed`` false.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from radgov.stats.results import Estimate

from .identifiers import IdentifierFinding
from .runner import Evaluation

__all__ = ["SCHEMA", "Privacy", "ifu_comparison", "to_json_dict", "write_json"]

SCHEMA = "radgov.evaluation/1"


@dataclass(frozen=True)
class Privacy:
    findings: list[IdentifierFinding] = field(default_factory=list)
    allowed: bool = False
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "identifier_columns": [f.to_dict() for f in self.findings],
            "allowed": self.allowed,
            "reason": self.reason,
        }


def _version() -> str:
    try:
        return metadata.version("radgov")
    except metadata.PackageNotFoundError:  # pragma: no cover - source checkout without install
        return "unknown"


def _verdict(claimed: float, est: Estimate, higher_is_better: bool) -> str:
    if not est.estimable:
        return "not estimable"
    if est.ci_low <= claimed <= est.ci_high:
        return "consistent with the claim"
    below = est.ci_high < claimed
    if below == higher_is_better:
        return "worse than claimed"
    return "better than claimed"


LOWER_IS_BETTER = {"brier", "ece", "mae", "fppi", "hd95"}


def ifu_comparison(ev: Evaluation) -> list[dict[str, Any]]:
    """Each IFU claim beside the local estimate: is the claim inside the local interval?"""
    rows = []
    for claim in ev.protocol.ifu_claims:
        est = ev.overall[claim.metric]
        rows.append(
            {
                "metric": claim.metric,
                "claimed": claim.value,
                "claimed_ci_low": claim.ci_low,
                "claimed_ci_high": claim.ci_high,
                "source": claim.source,
                "observed": None if math.isnan(est.estimate) else est.estimate,
                "ci_low": None if math.isnan(est.ci_low) else est.ci_low,
                "ci_high": None if math.isnan(est.ci_high) else est.ci_high,
                "verdict": _verdict(claim.value, est, claim.metric not in LOWER_IS_BETTER),
            }
        )
    return rows


def to_json_dict(
    ev: Evaluation, privacy: Privacy | None = None, *, now: dt.datetime | None = None
) -> dict[str, Any]:
    p = ev.protocol
    c = ev.cases
    stamp = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    return {
        "schema": SCHEMA,
        "passed": ev.passed,
        "protocol": {
            "name": p.name,
            "task": p.task,
            "hash": p.canonical_hash(),
            "threshold": p.threshold,
            "confidence_level": p.confidence_level,
            "content": p.model_dump(mode="json"),
        },
        "cases": {
            "file": c.path.name,
            "format": c.format,
            "sha256": c.sha256,
            "n_rows": c.n_rows,
            "synthetic": c.synthetic,
        },
        "privacy": (privacy or Privacy()).to_dict(),
        "overall": {m: e.to_dict() for m, e in ev.overall.items()},
        "subgroups": {
            key: {m: e.to_dict() for m, e in metrics.items()}
            for key, metrics in ev.subgroups.items()
        },
        "groups": {key: g.to_dict() for key, g in ev.groups.items()},
        "criteria": [r.to_dict() for r in ev.criteria],
        "ifu_comparison": ifu_comparison(ev),
        "curves": ev.curves,
        "notes": ev.notes,
        "generated_at": stamp.isoformat().replace("+00:00", "Z"),
        "radgov_version": _version(),
    }


def write_json(data: dict[str, Any], path: str | Path) -> Path:
    """Write atomically (a temporary file renamed into place): never a half-written result."""
    out = Path(path)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    tmp.replace(out)
    return out
