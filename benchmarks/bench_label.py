"""Benchmark of ``radgov label`` against medspacy's ConText, on the same reports and rules.

Target (issue 15): ``radgov label`` at least 5x the throughput of medspacy's ConText pipeline
on the same reports and rules, with at least its accuracy on the hand-labelled test set
(``tests/nlp/data``).

The peer: medspacy 1.3.1 on a blank spaCy English model (its tokenizer, PyRuSH sentences,
target matcher, ConText, sectionizer; nothing downloaded), given radgov's default rule set
translated rule for rule (every term and its plurals, every pattern, every modifier with its
category and direction, exclusions as targets that are then dropped, section headers), and
its mentions turned into report labels by radgov's own last step (``Labeller.decide``), so
the two differ only in how they find and modify mentions.  medspacy 1.3.1 asks for spaCy
< 3.8 on Python 3.11, built against numpy 1, while radgov pins numpy 2: it runs in its own
environment, ``.venv/peers/medspacy``, made here from the hashed lock
``benchmarks/peers/medspacy-requirements.txt`` on first use.

Measured, on 20,000 reports composed from the test set's sentences and reports (fixed seed):

1. accuracy of both on the test set, per finding and overall, all items and the held-out
   third;
2. medspacy: ``nlp.pipe`` over the 20,000 reports in its process, pipeline built and warm
   (its start-up and model building are not counted), median of ``--repeat`` runs, both
   with PyRuSH, medspacy's default sentence splitter (one run: it is an order of magnitude
   slower), and with spaCy's faster punctuation ``sentencizer``;
3. radgov, in process: ``Labeller.label`` over the same reports, median of ``--repeat``;
4. ``radgov label --reports R.csv --out L.csv`` as a user runs it, a new process each time
   (Python start, CSV read and checks, rules compiled, labelling, CSV written), median of
   ``--repeat`` runs.  The target ratio is (4) against (2), each variant: the whole
   command against medspacy's warm pipeline alone, in CPU seconds (of the process, and of
   the command's process from ``getrusage``), which other work on a shared machine does not
   inflate the way it inflates wall time; wall-time ratios are printed beside them.

Exits 1 when a target is missed.  Run: ``.venv/bin/python benchmarks/bench_label.py
[--reports 20000] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from peer_env import peer_python  # noqa: E402  (this folder is on sys.path)
from tests.nlp.testset import Item, load_items, pairs  # noqa: E402

from radgov.nlp import Labeller, Mention, RuleSet  # noqa: E402
from radgov.nlp.accuracy import labeller_accuracy  # noqa: E402

RADGOV = ROOT / ".venv" / "bin" / "radgov"
PEER_SCRIPT = ROOT / "benchmarks" / "peers" / "medspacy_context.py"
TARGET_RATIO = 5.0


def pattern_regex(expression: str) -> str:
    """A rule's regular expression as radgov matches it: at word boundaries."""
    return rf"(?<!\w)(?:{expression})(?!\w)"


def word_regex(phrase: str) -> str:
    """A phrase as the whole-word expression radgov matches it with."""
    body = r"\s+".join(re.escape(w) for w in phrase.split())
    head = r"(?<!\w)" if re.match(r"\w", phrase) else ""
    tail = r"(?!\w)" if re.search(r"\w$", phrase) else ""
    return f"{head}{body}{tail}"


def peer_job(rules: RuleSet, texts: list[str], repeat: int, sentences: str) -> dict:
    """radgov's rule set in the terms medspacy's rules take."""
    targets = []
    for f in rules.findings:
        for term in f.terms:
            variants = [term, term + "s", term + "es"] if term[-1:].isalpha() else [term]
            targets += [{"finding": f.name, "literal": v, "pattern": None} for v in variants]
        targets += [
            {"finding": f.name, "literal": None, "pattern": pattern_regex(p)} for p in f.patterns
        ]
        targets += [{"finding": "EXCLUDED", "literal": x, "pattern": None} for x in f.exclude]
    modifiers = []
    for m in rules.modifiers:
        for term in m.terms:
            # a phrase starting or ending in punctuation (": none", ", and") is a pattern for
            # medspacy, whose literal phrases match whole tokens
            literal = term if term[:1].isalnum() and term[-1:].isalnum() else None
            modifiers.append({
                "category": m.category, "direction": m.direction, "literal": literal,
                "pattern": None if literal else word_regex(term),
            })  # fmt: skip
        for p in m.patterns:
            modifiers.append({"category": m.category, "direction": m.direction,
                              "literal": None, "pattern": pattern_regex(p)})  # fmt: skip
    sections = [(name, kind) for kind, names in rules.sections.items() for name in names]
    return {"targets": targets, "modifiers": modifiers, "sections": sections,
            "texts": texts, "repeat": repeat, "sentences": sentences}  # fmt: skip


def run_peer(rules: RuleSet, texts: list[str], repeat: int, sentences: str = "pyrush") -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        job, out = Path(tmp) / "job.json", Path(tmp) / "out.json"
        job.write_text(json.dumps(peer_job(rules, texts, repeat, sentences)))
        subprocess.run(
            [str(peer_python("medspacy")), str(PEER_SCRIPT), str(job), str(out)], check=True
        )
        return json.loads(out.read_text())


def peer_labels(labeller: Labeller, text: str, found: list[dict]) -> dict[str, str]:
    """medspacy's mentions of one report through radgov's last step."""
    mentions = []
    for m in found:
        if m["finding"] == "EXCLUDED" or m["section"] == "ignore":
            continue
        status = next(
            (s for s, key in (("hypothetical", "hypothetical"), ("uncertain", "uncertain"),
                              ("negated", "negated"), ("historical", "historical")) if m[key]),
            "positive",
        )  # fmt: skip
        section = "impression" if m["section"] == "impression" else "findings"
        mentions.append(
            Mention(m["finding"], status, m["start"], m["end"], m["start"], m["end"], section, "")
        )
    return {lab.finding: lab.label for lab in labeller.decide(text, mentions)}


def compose(items: list[Item], n: int, seed: int = 2026) -> list[str]:
    """n reports: a third the test set's full reports, the rest findings and impression made
    of its sentences."""
    rng = random.Random(seed)
    reports = [i.text for i in items if i.id.startswith("r")]
    snippets = [i.text for i in items if i.id.startswith("s")]
    out = []
    for _ in range(n):
        if rng.random() < 1 / 3:
            out.append(rng.choice(reports))
        else:
            findings = " ".join(rng.sample(snippets, rng.randint(2, 6)))
            impression = "\n".join(
                f"{k}. {s}" for k, s in enumerate(rng.sample(snippets, rng.randint(1, 3)), 1)
            )
            out.append(f"EXAM: CT.\nFINDINGS:\n{findings}\n\nIMPRESSION:\n{impression}\n")
    return out


def accuracy_table(items: list[Item], predict: dict[str, dict[str, str]]) -> dict[str, tuple]:
    """finding -> (agreement, sensitivity, specificity, pairs) over the pairs either labels."""
    scored = pairs(items, lambda text: predict[text])
    rows = labeller_accuracy([(f, g, p) for f, g, p, _ in scored])
    table = {r.finding: (r.agreement.estimate, r.sensitivity.estimate, r.specificity.estimate, r.n)
             for r in rows}  # fmt: skip
    same = sum(g == p for _, g, p, _ in scored)
    table["overall"] = (same / len(scored), float("nan"), float("nan"), len(scored))
    return table


def print_accuracy(title: str, columns: dict[str, dict[str, tuple]]) -> None:
    print(f"\n{title}: agreement (sensitivity, specificity) per finding")
    print(f"{'finding':24s} {'pairs':>5s}" + "".join(f"  {name:>22s}" for name in columns))
    first = next(iter(columns.values()))
    for finding in first:
        cells = "".join(
            f"  {t[finding][0]:.3f} ({t[finding][1]:.2f}, {t[finding][2]:.2f})"
            if finding != "overall"
            else f"  {t[finding][0]:.3f}{'':13s}"
            for t in columns.values()
        )
        print(f"{finding:24s} {first[finding][3]:5d}{cells}")


def command_seconds(texts: list[str], folder: Path, repeat: int) -> tuple[list[float], list[float]]:
    """(wall, CPU) seconds of each ``radgov label`` run, a new process each time."""
    reports = folder / "reports.csv"
    with reports.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["report_id", "text"])
        writer.writerows((f"R{i:06d}", t) for i, t in enumerate(texts))
    wall, cpu = [], []
    for _ in range(repeat):
        c0 = _children_cpu()
        t0 = time.perf_counter()
        subprocess.run(
            [str(RADGOV), "label", "--reports", str(reports), "--out", str(folder / "l.csv"),
             "--no-progress"],
            check=True, capture_output=True,
        )  # fmt: skip
        wall.append(time.perf_counter() - t0)
        cpu.append(_children_cpu() - c0)
    return wall, cpu


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


PEERS = {"medspacy (PyRuSH)": "pyrush", "medspacy (sentencizer)": "sentencizer"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reports", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    labeller = Labeller()
    items = load_items()
    texts = [i.text for i in items]
    ok = True

    # 1. accuracy on the test set
    predictions = {"radgov": {t: {x.finding: x.label for x in labeller.label(t)} for t in texts}}
    for name, sentences in PEERS.items():
        peer = run_peer(labeller.rules, texts, 1, sentences)
        predictions[name] = {
            t: peer_labels(labeller, t, m) for t, m in zip(texts, peer["mentions"], strict=True)
        }
    print(f"medspacy {peer['version']}; {labeller.version}; {len(items)} test items")
    for title, chosen in (
        ("all items", items),
        ("held-out third", [i for i in items if i.holdout]),
    ):
        tables = {name: accuracy_table(chosen, p) for name, p in predictions.items()}
        print_accuracy(f"Test set, {title}", tables)
        best_peer = max(tables[name]["overall"][0] for name in PEERS)
        if tables["radgov"]["overall"][0] < best_peer:
            ok = False
            print(f"MISSED: radgov's agreement on the {title} is below medspacy's")

    # 2-4. speed on composed reports
    reports = compose(items, args.reports)
    n = len(reports)
    print(f"\nSpeed: {n:,} reports, {sum(map(len, reports)) / n:.0f} characters on average")
    labeller.label(reports[0])
    wall, cpu = [], []
    for _ in range(args.repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        for text in reports:
            labeller.label(text)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    rows = [("radgov Labeller, in process", wall, cpu)]
    with tempfile.TemporaryDirectory() as tmp:
        rows.append(
            ("radgov label, whole command", *command_seconds(reports, Path(tmp), args.repeat))
        )
    for name, sentences in PEERS.items():
        # PyRuSH is an order of magnitude slower: one run is enough to place it
        repeat = 1 if sentences == "pyrush" else args.repeat
        peer = run_peer(labeller.rules, reports, repeat, sentences)
        rows.append((f"{name}, warm pipeline", peer["seconds"], peer["cpu"]))
    print(f"{'':38s} {'wall s':>8s} {'CPU s':>8s} {'reports/CPU s':>14s}   runs (wall / CPU)")
    for name, w, c in rows:
        print(f"{name:38s} {statistics.median(w):8.2f} {statistics.median(c):8.2f} "
              f"{n / statistics.median(c):14.0f}   "
              + ", ".join(f"{a:.2f}/{b:.2f}" for a, b in zip(w, c, strict=True)))  # fmt: skip
    command_wall, command_cpu = (statistics.median(x) for x in rows[1][1:])
    for name, w, c in rows[2:]:
        by_cpu = statistics.median(c) / command_cpu
        by_wall = statistics.median(w) / command_wall
        print(f"radgov label vs {name}: {by_cpu:.1f}x by CPU time, {by_wall:.1f}x by wall time "
              f"(target >= {TARGET_RATIO:g}x)")  # fmt: skip
        if by_cpu < TARGET_RATIO:
            ok = False
            print(f"MISSED: radgov label is {by_cpu:.1f}x {name}'s throughput")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
