"""Splitting the cases into the protocol's subgroups.

A subgroup is a column and one of its levels, keyed ``column=level``: ``sex=F``,
``manufacturer=GE``.  A binned numeric column gives half-open intervals, ``age=[18,65)``: the
lower edge is included and the upper edge is not.  Every bin the protocol names is listed,
even when no case falls in it (its metrics then say "no cases"), so that an empty subgroup is
visible rather than silently dropped.  Missing values of a categorical column form their own
level, ``(missing)``.

Each column is grouped with one stable sort, so building all subgroups costs a few sorts of
the whole table, whatever the number of levels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from .cases import MISSING_LEVEL
from .protocol import SubgroupSpec

__all__ = ["Subgroup", "bin_labels", "build_subgroups"]


@dataclass(frozen=True)
class Subgroup:
    key: str
    column: str
    level: str
    index: np.ndarray  # 0-based row indices into the cases table, ascending

    @property
    def n(self) -> int:
        return int(self.index.shape[0])


def _edge(x: float) -> str:
    return f"{x:g}"


def bin_labels(bins: list[float]) -> list[str]:
    return [f"[{_edge(lo)},{_edge(hi)})" for lo, hi in zip(bins[:-1], bins[1:], strict=True)]


def _split(codes: np.ndarray, n_levels: int) -> list[np.ndarray]:
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes, minlength=n_levels)
    return np.split(order, np.cumsum(counts)[:-1])


def build_subgroups(specs: list[SubgroupSpec], groups: dict[str, pl.Series]) -> list[Subgroup]:
    """The subgroups of every spec, in protocol order, levels sorted (``(missing)`` last)."""
    out: list[Subgroup] = []
    for spec in specs:
        values = groups[spec.column]
        if spec.bins is not None:
            labels = bin_labels(spec.bins)
            x = values.to_numpy()
            codes = np.searchsorted(np.asarray(spec.bins), x, side="right") - 1
            if codes.size and (codes.min() < 0 or codes.max() >= len(labels)):
                raise ValueError(f"column {spec.column!r} has values outside its bins")
        else:
            uniq, codes = np.unique(values.to_numpy().astype(str), return_inverse=True)
            labels = [str(u) for u in uniq]
            if MISSING_LEVEL in labels:  # keep (missing) last
                m = labels.index(MISSING_LEVEL)
                remap = np.arange(len(labels))
                remap[m:] -= 1
                remap[m] = len(labels) - 1
                labels = [lab for lab in labels if lab != MISSING_LEVEL] + [MISSING_LEVEL]
                codes = remap[codes]
        for label, index in zip(labels, _split(codes.astype(np.intp), len(labels)), strict=True):
            out.append(Subgroup(f"{spec.column}={label}", spec.column, label, index))
    return out
