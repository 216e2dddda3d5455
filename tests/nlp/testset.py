"""The hand-labelled test set in ``tests/nlp/data`` (see its README.md), as items to score."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

DATA = Path(__file__).resolve().parent / "data"
FINDINGS = {
    "ich": "intracranial_hemorrhage",
    "pe": "pulmonary_embolism",
    "ptx": "pneumothorax",
    "lvo": "large_vessel_occlusion",
    "fx": "fracture",
    "nod": "pulmonary_nodule",
    "eff": "pleural_effusion",
}
SIGNS = {"+": "positive", "-": "negative", "?": "uncertain"}

Labels = dict[str, str]  # finding -> positive | negative | uncertain


@dataclass(frozen=True)
class Item:
    id: str
    text: str
    gold: Labels
    holdout: bool


def parse_labels(codes: str, where: str) -> Labels:
    if codes.strip() == ".":
        return {}
    out: Labels = {}
    for code in codes.split():
        finding, sign = FINDINGS.get(code[:-1]), SIGNS.get(code[-1:])
        if finding is None or sign is None or finding in out:
            raise ValueError(f"{where}: bad label {code!r}")
        out[finding] = sign
    return out


def load_items() -> list[Item]:
    items: list[Item] = []
    lines = [
        line for line in (DATA / "snippets.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]  # fmt: skip
    for i, line in enumerate(lines):
        codes, text = line.split(" | ", 1)
        items.append(
            Item(f"s{i + 1:03d}", text, parse_labels(codes, f"snippet {i + 1}"), i % 3 == 2)
        )
    reports = yaml.safe_load((DATA / "reports.yaml").read_text())
    for i, report in enumerate(reports):
        gold = parse_labels(str(report["labels"]), f"report {i + 1}")
        items.append(Item(f"r{i + 1:03d}", report["text"], gold, i % 3 == 2))
    return items


def pairs(
    items: Iterable[Item], predict: Callable[[str], Labels]
) -> list[tuple[str, str | None, str | None, Item]]:
    """(finding, gold, predicted, item) for every finding that the gold or the prediction
    labels in an item: a finding neither mentions is not a case of that finding."""
    out = []
    for item in items:
        predicted = predict(item.text)
        for finding in FINDINGS.values():
            gold, got = item.gold.get(finding), predicted.get(finding)
            if gold is not None or got is not None:
                out.append((finding, gold, got, item))
    return out
