"""A plain-language summary of an acceptance test, for readers who do not read intervals."""

from __future__ import annotations

from typing import Any

__all__ = ["LABELS", "fmt", "plain_summary"]

LABELS = {
    "sensitivity": "Sensitivity",
    "specificity": "Specificity",
    "ppv": "PPV",
    "npv": "NPV",
    "accuracy": "Accuracy",
    "f1": "F1 score",
    "auc": "AUC",
    "brier": "Brier score",
    "ece": "Expected calibration error",
    "mae": "Mean absolute error",
    "bias": "Bias (AI - reference)",
    "loa_low": "Lower limit of agreement",
    "loa_high": "Upper limit of agreement",
    "icc": "ICC(2,1)",
    "ccc": "Concordance correlation",
    "dice": "Mean Dice",
    "hd95": "Mean HD95",
    "lesion_sensitivity": "Lesion sensitivity",
    "fppi": "False positives per image",
}

RULE_SYMBOLS = {
    "estimate_at_least": "estimate ≥",
    "ci_low_at_least": "lower CI bound ≥",
    "estimate_at_most": "estimate ≤",
    "ci_high_at_most": "upper CI bound ≤",
}

RULE_WORDS = {
    "estimate_at_least": "estimate at least",
    "ci_low_at_least": "lower confidence bound at least",
    "estimate_at_most": "estimate at most",
    "ci_high_at_most": "upper confidence bound at most",
}


def fmt(x: float | None, digits: int = 3) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"


def _ci(e: dict[str, Any]) -> str:
    level = round(100 * e["confidence_level"])
    return f"{level}% CI {_pct(e['ci_low'])} to {_pct(e['ci_high'])}"


def _binary_sentences(r: dict[str, Any]) -> list[str]:
    o = r["overall"]
    out: list[str] = []
    thr = r["protocol"]["threshold"]
    se, sp = o.get("sensitivity"), o.get("specificity")
    if se and se["estimate"] is not None:
        out.append(
            f"At the operating threshold of {thr:g}, the AI flagged {_pct(se['estimate'])} of "
            f"the positive cases (sensitivity; {_ci(se)})."
        )
    if sp and sp["estimate"] is not None:
        out.append(
            f"It correctly left unflagged {_pct(sp['estimate'])} of the negative cases "
            f"(specificity; {_ci(sp)})."
        )
    ppv = o.get("ppv")
    if ppv and ppv["estimate"] is not None:
        out.append(
            f"Of the cases it flagged, {_pct(ppv['estimate'])} were truly positive (PPV); this "
            "depends on how common the finding is, and will differ where prevalence differs "
            "from this sample's."
        )
    auc = o.get("auc")
    if auc and auc["estimate"] is not None:
        level = round(100 * auc["confidence_level"])
        out.append(
            "Its ability to rank positive cases above negative ones (AUC, where 0.5 is chance "
            f"and 1 is perfect) was {fmt(auc['estimate'])} ({level}% CI "
            f"{fmt(auc['ci_low'])} to {fmt(auc['ci_high'])})."
        )
    return out


def _estimate_sentence(label: str, e: dict[str, Any] | None, what: str) -> str | None:
    if not e or e["estimate"] is None:
        return None
    level = round(100 * e["confidence_level"])
    return (
        f"{label} was {fmt(e['estimate'])} ({level}% CI {fmt(e['ci_low'])} to "
        f"{fmt(e['ci_high'])}){what}."
    )


def _quantification_sentences(r: dict[str, Any]) -> list[str]:
    o = r["overall"]
    out = [
        _estimate_sentence(
            "On average the AI's measurement minus the reference (bias)",
            o.get("bias"),
            "; zero means no systematic difference",
        ),
        _estimate_sentence("The mean absolute difference", o.get("mae"), ""),
    ]
    lo, hi = o.get("loa_low"), o.get("loa_high")
    if lo and hi and lo["estimate"] is not None and hi["estimate"] is not None:
        out.append(
            f"For 95% of cases the AI's measurement is expected to lie between "
            f"{fmt(lo['estimate'])} and {fmt(hi['estimate'])} of the reference (limits of "
            "agreement)."
        )
    out.append(_estimate_sentence("Agreement as an intraclass correlation", o.get("icc"),
                                  "; 1 is perfect"))  # fmt: skip
    return [s for s in out if s]


def _other_sentences(r: dict[str, Any]) -> list[str]:
    return [
        s
        for name, e in r["overall"].items()
        if (s := _estimate_sentence(LABELS.get(name, name), e, "")) is not None
    ]


def plain_summary(r: dict[str, Any]) -> list[str]:
    """Short paragraphs: what was tested, what was found, and the verdict with its reasons."""
    g = r["groups"]["overall"]
    paras: list[str] = []
    cases = f"{g['n']:,} cases"
    if "n_positive" in g:
        prev = g["n_positive"] / g["n"] if g["n"] else 0.0
        cases += f" ({g['n_positive']:,} positive, {100 * prev:.1f}%)"
    synthetic = r["cases"]["synthetic"]
    paras.append(
        f"This report tests “{r['protocol']['name']}” on {cases} from the file "
        f"{r['cases']['file']}, against a protocol fixed before the results were computed."
        + (
            " The data are synthetic: the numbers describe no real patient or device."
            if synthetic
            else ""
        )
    )
    task = r["protocol"]["task"]
    if task == "binary":
        paras.append(" ".join(_binary_sentences(r)))
    elif task == "quantification":
        paras.append(" ".join(_quantification_sentences(r)))
    else:
        paras.append(" ".join(_other_sentences(r)))
    criteria = r["criteria"]
    failed = [c for c in criteria if not c["passed"]]
    if not criteria:
        paras.append("The protocol sets no pass criteria, so there is no verdict.")
    elif not failed:
        paras.append(f"Verdict: PASSED. All {len(criteria)} checks of the protocol were met.")
    else:
        parts = []
        for c in failed[:6]:
            where = "overall" if c["subgroup"] == "overall" else f"in {c['subgroup']}"
            rule = f"{RULE_WORDS[c['rule']]} {c['threshold']:g}"
            if c["observed"] is None:
                why = str(c.get("reason", "")).removeprefix("not estimable: ")
                parts.append(
                    f"{LABELS.get(c['metric'], c['metric'])} {where} could not be "
                    f"estimated ({why}); required {rule}"
                )
            else:
                parts.append(
                    f"{LABELS.get(c['metric'], c['metric'])} {where} was "
                    f"{fmt(c['observed'])}; required {rule}"
                )
        more = f" and {len(failed) - 6} more" if len(failed) > 6 else ""
        paras.append(
            f"Verdict: FAILED. {len(failed)} of {len(criteria)} checks "
            f"{'was' if len(failed) == 1 else 'were'} not met: " + "; ".join(parts) + more + "."
        )
    by_group: dict[str, list[str]] = {}
    for key, metrics in r["subgroups"].items():
        for name, e in metrics.items():
            if e.get("not_estimable"):
                label = LABELS.get(name, name)
                by_group.setdefault(key, []).append(f"{label} ({e['not_estimable']})")
    if by_group:
        listed = "; ".join(
            f"in {key}: {', '.join(items)}" for key, items in list(by_group.items())[:4]
        )
        more = f"; and in {len(by_group) - 4} more subgroups" if len(by_group) > 4 else ""
        paras.append(
            "Some metrics could not be estimated in small subgroups, and are shown as "
            f"“not estimable” rather than as numbers: {listed}{more}. More cases from those "
            "subgroups are needed to judge the AI there."
        )
    return paras
