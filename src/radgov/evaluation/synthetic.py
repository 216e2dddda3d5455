"""A synthetic acceptance-test set for intracranial-haemorrhage (ICH) triage on head CT.

Every row is invented: no patient, scanner or study behind it.  The table says so twice: a
``synthetic`` column that is ``true`` on every row, and (in Parquet) the file metadata key
``radgov.synthetic``.  The same seed gives the same table.

The generator is plausible rather than realistic: a binormal model on a latent scale, with
separation that depends on the case, so that subgroups differ the way local acceptance tests
often find they do:

* prevalence rises with age (about 4% in children, 10% at 60, 17% at 85);
* the AI separates less well in children (out of its training distribution) and on the
  older scanner models, and slightly less well in women;
* ``ai_score`` is a logistic transform of the latent value, so it lies in (0, 1) but is not a
  calibrated probability.

Ages are whole years capped at 90, which stands for "90 or older" as HIPAA Safe Harbor asks.
Case ids are ``SYN-`` plus a number: they identify nothing.

Run ``python -m radgov.evaluation.synthetic --n 1000 --seed 7 --out cases.csv``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import polars as pl

from .cases import SYNTHETIC_COLUMN, SYNTHETIC_METADATA_KEY

__all__ = ["SCANNERS", "generate_ich_cases", "write_cases"]

# manufacturer -> [(scanner model, share within manufacturer, older model?)]
SCANNERS: dict[str, list[tuple[str, float, bool]]] = {
    "GE": [("Revolution CT", 0.6, False), ("Optima CT660", 0.4, True)],
    "Siemens": [("SOMATOM Force", 0.55, False), ("SOMATOM go.Up", 0.45, True)],
    "Philips": [("IQon Spectral CT", 0.5, False), ("Ingenuity CT", 0.5, True)],
    "Canon": [("Aquilion ONE", 0.5, False), ("Aquilion Lightning", 0.5, True)],
}
MANUFACTURER_SHARES = {"GE": 0.35, "Siemens": 0.30, "Philips": 0.20, "Canon": 0.15}

_BASE_SEPARATION = 3.0  # difference of latent means, positives vs negatives (in SDs)
_CUT = 1.45  # latent value that maps to score 0.5
_SLOPE = 1.7


def _logistic(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def generate_ich_cases(n: int = 1000, *, seed: int = 0) -> pl.DataFrame:
    """``n`` synthetic cases: case_id, synthetic, sex, age, manufacturer, scanner, label, ai_score."""
    if n < 1:
        raise ValueError(f"n must be at least 1; got {n}")
    rng = np.random.default_rng(seed)

    sex = np.where(rng.random(n) < 0.48, "F", "M")
    child = rng.random(n) < 0.05
    adult_age = np.clip(rng.normal(62.0, 17.0, n), 18, 90)
    child_age = rng.integers(1, 18, n)
    age = np.where(child, child_age, np.floor(adult_age)).astype(np.int64)

    makers = np.array(list(MANUFACTURER_SHARES))
    maker_idx = rng.choice(len(makers), size=n, p=list(MANUFACTURER_SHARES.values()))
    manufacturer = makers[maker_idx]
    scanner = np.empty(n, dtype=object)
    older = np.zeros(n, dtype=bool)
    u = rng.random(n)
    for i, maker in enumerate(makers):
        rows = maker_idx == i
        cum = 0.0
        for model, share, is_old in SCANNERS[str(maker)]:
            pick = rows & (u >= cum) & (u < cum + share)
            scanner[pick] = model
            older[pick] = is_old
            cum += share

    logit_prev = np.log(0.10 / 0.90) + 0.025 * (age - 60) - np.where(age < 18, 0.6, 0.0)
    label = (rng.random(n) < _logistic(logit_prev)).astype(np.int8)

    separation = (
        _BASE_SEPARATION
        - np.where(age < 18, 1.2, 0.0)
        - np.where(older, 0.5, 0.0)
        - np.where(sex == "F", 0.15, 0.0)
    )
    latent = rng.normal(0.0, 1.0, n) + label * separation
    score = np.round(_logistic(_SLOPE * (latent - _CUT)), 4)

    return pl.DataFrame(
        {
            "case_id": [f"SYN-{i:06d}" for i in range(1, n + 1)],
            SYNTHETIC_COLUMN: np.ones(n, dtype=bool),
            "sex": sex,
            "age": age,
            "manufacturer": manufacturer,
            "scanner": scanner.astype(str),
            "label": label,
            "ai_score": score,
        }
    )


def write_cases(frame: pl.DataFrame, path: str | Path) -> Path:
    """Write CSV or Parquet by suffix; Parquet also carries the synthetic flag as metadata."""
    p = Path(path)
    if p.suffix.lower() in {".parquet", ".pq"}:
        frame.write_parquet(p, metadata={SYNTHETIC_METADATA_KEY: "true"})
    else:
        frame.write_csv(p)
    return p


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write a synthetic ICH-triage cases file.")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, help=".csv or .parquet")
    args = parser.parse_args(argv)
    write_cases(generate_ich_cases(args.n, seed=args.seed), args.out)


if __name__ == "__main__":
    main()
