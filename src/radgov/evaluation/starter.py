"""A first draft of a protocol for a deployment, for the people who write it to change.

The draft names the model and carries the IFU's performance claims (so the report compares
them with the local estimates); the criteria are placeholders the governance group must agree
before locking.  Quantification models get a quantification draft; every other category a
binary one.
"""

from __future__ import annotations

from typing import Any

import yaml

BINARY: dict[str, Any] = {
    "task": "binary",
    "columns": {"case_id": "case_id", "truth": "label", "score": "ai_score"},
    "threshold": 0.5,
    "confidence_level": 0.95,
    "metrics": ["sensitivity", "specificity", "ppv", "npv", "accuracy", "auc"],
    "subgroups": ["sex", "manufacturer", {"column": "age", "bins": [0, 18, 65, 200]}],
    "criteria": [
        {"metric": "sensitivity", "ci_low_at_least": 0.8},
        {"metric": "specificity", "estimate_at_least": 0.85},
        {"metric": "auc", "ci_low_at_least": 0.85, "subgroups": "all"},
    ],
}

QUANTIFICATION: dict[str, Any] = {
    "task": "quantification",
    "columns": {"case_id": "case_id", "truth": "reference", "score": "ai_value"},
    "confidence_level": 0.95,
    "metrics": ["mae", "bias", "loa_low", "loa_high", "icc", "ccc"],
    "subgroups": ["sex", "manufacturer"],
    "criteria": [{"metric": "icc", "ci_low_at_least": 0.75}],
}


def starter_protocol(deployment: Any) -> str:
    mv = deployment.model_version
    body: dict[str, Any] = {"name": f"{mv.product.name} {mv.version} local acceptance test"}
    body.update(QUANTIFICATION if mv.product.category == "quantification" else BINARY)
    claims = []
    for metric, value in (
        ("sensitivity", mv.claimed_sensitivity),
        ("specificity", mv.claimed_specificity),
    ):
        if value is not None and body["task"] == "binary":
            claim = {"metric": metric, "value": value}
            if mv.claim_source.strip():
                claim["source"] = mv.claim_source.strip()
            claims.append(claim)
    if claims:
        body["ifu_claims"] = claims
    head = (
        "# A starting point: agree the columns, threshold, metrics, subgroups and criteria\n"
        "# with the governance group before anyone sees results; then lock it.\n"
    )
    return head + yaml.safe_dump(body, sort_keys=False, default_flow_style=None, width=100)
