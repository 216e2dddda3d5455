"""Acceptance-test protocols: what will be measured, on which columns, and what counts as a pass.

A protocol is fixed before any result exists (practice parameter IV.E.2).  It is written in
YAML and read strictly: an unknown key is refused with its name and place, and every
criterion must refer to a metric the protocol computes and to subgroups it defines.

Defaults a protocol may leave out: ``confidence_level`` 0.95, ``proportion_method`` Wilson,
``min_denominator`` 10 (a metric computed from fewer cases than that, e.g. sensitivity in a
subgroup with 3 positives, is reported as not estimable with the reason, not as a number),
``roc_band_resamples`` 500 and the bootstrap ``seed``.  They are part of the hash.

``Protocol.canonical_hash()`` is the SHA-256 of a canonical JSON form of the parsed protocol
(keys sorted, no whitespace, values equal to their defaults left out), so re-indenting,
re-ordering keys, writing ``0.80`` as ``0.8`` or spelling out a default keeps the hash, while
any change of content changes it.  The governance
app locks a protocol by storing that hash.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

__all__ = [
    "METRICS_BY_TASK",
    "RULES",
    "Columns",
    "Criterion",
    "Protocol",
    "ProtocolError",
    "SubgroupSpec",
    "load_protocol",
    "parse_protocol",
    "parse_protocol_text",
]

HASH_FORMAT = "radgov-protocol/1"

Task = Literal["binary", "detection", "quantification", "segmentation"]

# Metrics each task can compute (the runner implements exactly these).
METRICS_BY_TASK: dict[str, tuple[str, ...]] = {
    "binary": (
        "sensitivity",
        "specificity",
        "ppv",
        "npv",
        "accuracy",
        "f1",
        "auc",
        "brier",
        "ece",
    ),
    "quantification": ("mae", "bias", "loa_low", "loa_high", "icc", "ccc"),
    "segmentation": ("dice", "hd95"),
    "detection": ("lesion_sensitivity", "fppi"),
}

# Columns each task needs (beyond case_id) and the optional ones.
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "binary": ("truth", "score"),
    "quantification": ("truth", "score"),
    "segmentation": ("dice",),
    "detection": ("lesions", "detected", "false_positives"),
}

# rule key -> (observed field of the Estimate, comparison)
RULES: dict[str, tuple[str, str]] = {
    "estimate_at_least": ("estimate", ">="),
    "ci_low_at_least": ("ci_low", ">="),
    "estimate_at_most": ("estimate", "<="),
    "ci_high_at_most": ("ci_high", "<="),
}


class ProtocolError(ValueError):
    """The protocol is not valid; the message says where and why."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Columns(_Strict):
    """Where each role is found in the cases file (role -> column name)."""

    case_id: str
    truth: str | None = None
    score: str | None = None
    # segmentation: per-case Dice and (optionally) HD95 computed by the segmentation tool
    dice: str | None = None
    hd95: str | None = None
    # detection: per-case counts
    lesions: str | None = None
    detected: str | None = None
    false_positives: str | None = None

    def roles(self) -> dict[str, str]:
        return {k: v for k, v in self.model_dump().items() if v is not None}


class SubgroupSpec(_Strict):
    """A column whose values split the cases, or a numeric column cut into half-open bins."""

    column: str
    bins: list[float] | None = None

    @field_validator("bins")
    @classmethod
    def _increasing(cls, bins: list[float] | None) -> list[float] | None:
        if bins is None:
            return None
        if len(bins) < 2:
            raise ValueError("bins needs at least two edges")
        if any(b >= a for a, b in zip(bins[1:], bins[:-1], strict=False)):
            raise ValueError(f"bin edges must increase strictly; got {bins}")
        return bins

    @property
    def label(self) -> str:
        return self.column


def _subgroup(value: Any) -> Any:
    if isinstance(value, str):
        return {"column": value}
    return value


class Criterion(_Strict):
    """A pass rule on one metric, overall or in subgroups.

    ``subgroups``: omitted means overall only; ``"all"`` means overall and every subgroup;
    a list names subgroup columns (every level of that column) or single keys like ``sex=F``.
    """

    metric: str
    estimate_at_least: float | None = None
    ci_low_at_least: float | None = None
    estimate_at_most: float | None = None
    ci_high_at_most: float | None = None
    subgroups: Literal["all"] | list[str] | None = None

    @field_validator("subgroups", mode="before")
    @classmethod
    def _subgroups_form(cls, value: Any) -> Any:
        if value is None or value == "all":
            return value
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
        raise ValueError(
            f"must be 'all' or a list of subgroup columns or keys like 'sex=F'; got {value!r}"
        )

    @model_validator(mode="after")
    def _one_rule(self) -> Criterion:
        if not self.rules():
            raise ValueError(f"a criterion needs at least one rule: {', '.join(RULES)}")
        return self

    def rules(self) -> list[tuple[str, float]]:
        return [(k, float(getattr(self, k))) for k in RULES if getattr(self, k) is not None]


class IfuClaim(_Strict):
    """A performance claim from the vendor's instructions for use (IFU)."""

    metric: str
    value: float
    ci_low: float | None = None
    ci_high: float | None = None
    source: str | None = None


class Protocol(_Strict):
    name: str = Field(min_length=1)
    task: Task
    description: str | None = None
    version: str | None = None
    columns: Columns
    threshold: float | None = None
    confidence_level: float = Field(default=0.95, gt=0.0, lt=1.0)
    proportion_method: Literal["wilson", "clopper-pearson", "agresti-coull"] = "wilson"
    metrics: list[str] = Field(min_length=1)
    subgroups: list[Annotated[SubgroupSpec, Field()]] = Field(default_factory=list)
    criteria: list[Criterion] = Field(default_factory=list)  # at least one: see _consistent
    ifu_claims: list[IfuClaim] = Field(default_factory=list)
    # a metric whose denominator (positives for sensitivity, flagged cases for PPV, the smaller
    # class for the AUC, all cases otherwise) is below this is reported as not estimable
    min_denominator: int = Field(default=10, ge=1)
    roc_band_resamples: int = Field(default=500, ge=0, le=10000)
    seed: int = 20240101

    @field_validator("subgroups", mode="before")
    @classmethod
    def _subgroup_shorthand(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [_subgroup(v) for v in value]
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Protocol:
        problems: list[str] = []
        known = METRICS_BY_TASK[self.task]
        for m in self.metrics:
            if m not in known:
                problems.append(
                    f"metrics: {m!r} is not a {self.task} metric; choose from {list(known)}"
                )
        if len(set(self.metrics)) != len(self.metrics):
            problems.append("metrics: a metric is listed twice")
        roles = self.columns.roles()
        for role in REQUIRED_COLUMNS[self.task]:
            if role not in roles:
                problems.append(f"columns: a {self.task} protocol needs the column role {role!r}")
        if "hd95" in self.metrics and self.columns.hd95 is None:
            problems.append("columns: the metric 'hd95' needs the column role 'hd95'")
        if self.task == "binary" and self.threshold is None:
            needs_threshold = {"sensitivity", "specificity", "ppv", "npv", "accuracy", "f1"}
            if needs_threshold & set(self.metrics):
                problems.append("threshold: a binary protocol with threshold metrics needs one")
        columns_seen: set[str] = set()
        for i, sg in enumerate(self.subgroups, start=1):
            if sg.column in columns_seen:
                problems.append(f"subgroup {i}: column {sg.column!r} is listed twice")
            columns_seen.add(sg.column)
            if sg.column in roles.values():
                problems.append(
                    f"subgroup {i}: column {sg.column!r} is also a data column of the protocol"
                )
        if not self.criteria:
            problems.append(
                "criteria: an acceptance test needs at least one pass criterion, agreed before "
                "the evaluation (practice parameter IV.E.2)"
            )
        for i, c in enumerate(self.criteria, start=1):
            if c.metric not in self.metrics:
                problems.append(
                    f"criterion {i}: metric {c.metric!r} is not among the protocol's metrics "
                    f"{self.metrics}"
                )
            if isinstance(c.subgroups, list):
                for ref in c.subgroups:
                    column = ref.split("=", 1)[0]
                    if column not in columns_seen:
                        problems.append(
                            f"criterion {i}: subgroup {ref!r} does not refer to a subgroup column "
                            f"of the protocol {sorted(columns_seen)}"
                        )
            elif c.subgroups == "all" and not self.subgroups:
                problems.append(f"criterion {i}: 'subgroups: all' but the protocol has none")
        for i, claim in enumerate(self.ifu_claims, start=1):
            if claim.metric not in self.metrics:
                problems.append(
                    f"IFU claim {i}: metric {claim.metric!r} is not among the protocol's metrics "
                    f"{self.metrics}"
                )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def canonical_json(self) -> str:
        """Keys sorted, no whitespace, values at their defaults left out.

        Leaving defaults out means that a later radgov which adds an optional key keeps the
        hashes of protocols locked before it.  Changing a default's value changes what old
        protocols mean, so it must come with a new ``HASH_FORMAT``.
        """
        content = self.model_dump(mode="json", exclude_defaults=True)
        body = {"format": HASH_FORMAT, "protocol": content}
        return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    def canonical_hash(self) -> str:
        return hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()

    @property
    def data_columns(self) -> dict[str, str]:
        return self.columns.roles()


def _where(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for p in loc:
        if isinstance(p, int):
            parts.append(f"[{p + 1}]")  # 1-based, as a person counts list items
        elif p in {
            "str",
            "list[str]",
            "literal['all']",
            "function-after[_increasing(), list[float]]",
        }:
            continue
        elif parts:
            parts.append(f".{p}")
        else:
            parts.append(str(p))
    return "".join(parts) or "protocol"


def _format_errors(err: ValidationError) -> str:
    messages: list[str] = []
    for e in err.errors():
        where = _where(tuple(e["loc"]))
        if e["type"] == "extra_forbidden":
            key = e["loc"][-1]
            parent = _where(tuple(e["loc"][:-1]))
            messages.append(f"unknown key {key!r} in {parent}")
        elif e["type"] == "missing":
            messages.append(f"{where}: required key is missing")
        elif e["type"] == "value_error":
            msg = str(e["msg"]).removeprefix("Value error, ")
            messages.append(msg if where == "protocol" else f"{where}: {msg}")
        else:
            messages.append(f"{where}: {e['msg']} (got {e.get('input')!r})")
    # unions report one error per branch; keep each message once
    unique = list(dict.fromkeys(messages))
    return "invalid protocol: " + "; ".join(unique)


def parse_protocol(data: Any) -> Protocol:
    if not isinstance(data, dict):
        raise ProtocolError("invalid protocol: the top level must be a mapping of keys")
    try:
        return Protocol.model_validate(data)
    except ValidationError as err:
        raise ProtocolError(_format_errors(err)) from None


def parse_protocol_text(text: str, *, name: str = "the protocol") -> Protocol:
    """A protocol from its YAML text; ``name`` is how messages refer to it."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ProtocolError(f"{name} is not valid YAML: {err}") from None
    return parse_protocol(data)


def load_protocol(path: str | Path) -> Protocol:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as err:
        raise ProtocolError(f"cannot read the protocol {p}: {err.strerror}") from None
    return parse_protocol_text(text, name=f"the protocol {p.name}")
