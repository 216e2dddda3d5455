"""medspacy's ConText pipeline on radgov's rules, run in medspacy's own environment.

Called by ``benchmarks/bench_label.py`` with the interpreter of ``.venv/peers/medspacy``
(``python medspacy_context.py JOB.json OUT.json``).  JOB holds the rules, translated from a
radgov rule set, the report texts and how many timed runs to make.  The pipeline is
medspacy's own, on a blank spaCy English model (nothing downloaded): its tokenizer, PyRuSH
sentence splitter (or, with ``"sentences": "sentencizer"``, spaCy's faster punctuation
rule), target matcher, ConText and sectionizer.  OUT holds, per report, every
target found (finding, character span, section category, ConText's four attributes) and
the seconds (wall and CPU) of each timed run of ``nlp.pipe`` over all reports.
"""

from __future__ import annotations

import json
import sys
import time

from loguru import logger

# PyRuSH logs every sentence at DEBUG to stderr by default; a user would turn that off
logger.remove()

import medspacy  # noqa: E402
from medspacy.context import ConTextRule  # noqa: E402
from medspacy.section_detection import SectionRule  # noqa: E402
from medspacy.target_matcher import TargetRule  # noqa: E402

CATEGORIES = {
    "negated": "NEGATED_EXISTENCE",
    "uncertain": "POSSIBLE_EXISTENCE",
    "historical": "HISTORICAL",
    "hypothetical": "HYPOTHETICAL",
}
DIRECTIONS = {"forward": "FORWARD", "backward": "BACKWARD", "both": "BIDIRECTIONAL"}


def build(job: dict) -> object:
    pipes = ["medspacy_target_matcher", "medspacy_context", "medspacy_sectionizer"]
    if job["sentences"] == "pyrush":
        pipes.insert(0, "medspacy_pyrush")  # medspacy's default sentence splitter
    nlp = medspacy.load(medspacy_enable=pipes, load_rules=False)
    if job["sentences"] == "sentencizer":
        nlp.add_pipe("sentencizer", first=True)  # spaCy's punctuation rule, much faster
    targets = []
    for t in job["targets"]:
        if t["literal"]:
            targets.append(TargetRule(t["literal"], t["finding"]))
        else:
            targets.append(TargetRule(t["pattern"], t["finding"], pattern=t["pattern"]))
    nlp.get_pipe("medspacy_target_matcher").add(targets)
    rules = []
    for m in job["modifiers"]:
        if m["category"] == "terminate":
            category, direction = "TERMINATE", "TERMINATE"
        elif m["category"] == "pseudo":
            category, direction = "PSEUDO", "PSEUDO"
        else:
            category, direction = CATEGORIES[m["category"]], DIRECTIONS[m["direction"]]
        kwargs = {"pattern": m["pattern"]} if m["pattern"] else {}
        rules.append(
            ConTextRule(m["literal"] or m["pattern"], category, direction=direction, **kwargs)
        )
    nlp.get_pipe("medspacy_context").add(rules)
    sections = [
        SectionRule(f"{name}:", kind, pattern=rf"(?im)^[ \t]*{name}[ \t]*:")
        for name, kind in job["sections"]
    ]
    nlp.get_pipe("medspacy_sectionizer").add(sections)
    return nlp


def mentions(doc: object) -> list[dict]:
    out = []
    for ent in doc.ents:  # type: ignore[attr-defined]
        out.append(
            {
                "finding": ent.label_,
                "start": ent.start_char,
                "end": ent.end_char,
                "section": ent._.section_category,
                "negated": ent._.is_negated,
                "uncertain": ent._.is_uncertain,
                "historical": ent._.is_historical,
                "hypothetical": ent._.is_hypothetical,
            }
        )
    return out


def main(job_path: str, out_path: str) -> None:
    with open(job_path, encoding="utf-8") as f:
        job = json.load(f)
    nlp = build(job)
    texts = job["texts"]
    list(nlp.pipe(texts[:50]))  # warm up, as radgov's side is
    seconds, cpu = [], []
    found: list[list[dict]] = []
    for _ in range(job["repeat"]):
        t0, c0 = time.perf_counter(), time.process_time()
        found = [mentions(doc) for doc in nlp.pipe(texts)]
        seconds.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(
            {"seconds": seconds, "cpu": cpu, "mentions": found, "version": medspacy.__version__},
            f,
        )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
