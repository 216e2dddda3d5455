"""Why an inference was excluded, rejected, failed or withdrawn: a code for machines and a
sentence for the technologist, radiologist or informatics person reading it (III.E.1.d,
III.F.1.c).  ``remediable`` reasons are ones a technologist can fix at the scanner; the
gateway's remediation queue lists them."""

from __future__ import annotations

from dataclasses import dataclass

from radgov.exams.errors import ExamError, Problem
from radgov.exams.statuses import Status

EXCLUDED, REJECTED, FAILED, WITHDRAWN = (
    Status.EXCLUDED.value,
    Status.REJECTED.value,
    Status.FAILED.value,
    Status.WITHDRAWN.value,
)
NEEDS_REASON = frozenset({EXCLUDED, REJECTED, FAILED, WITHDRAWN})
OTHER = "other"


@dataclass(frozen=True)
class Reason:
    code: str
    statuses: frozenset[str]
    sentence: str
    remediable: bool = False


REASONS: dict[str, Reason] = {
    r.code: r
    for r in [
        Reason(
            "criteria_not_met",
            frozenset({EXCLUDED}),
            "The study is outside this model's inclusion criteria.",
        ),
        Reason(
            "not_live",
            frozenset({EXCLUDED, FAILED}),
            "The model was not in use (pilot or deployed) for this study.",
        ),
        Reason(
            "slice_thickness",
            frozenset({REJECTED}),
            "The slices are thicker or thinner than this model accepts.",
            remediable=True,
        ),
        Reason(
            "kvp",
            frozenset({REJECTED}),
            "The tube voltage (kVp) is outside the range this model accepts.",
            remediable=True,
        ),
        Reason(
            "contrast",
            frozenset({REJECTED}),
            "The contrast (or its phase) is not what this model needs.",
            remediable=True,
        ),
        Reason(
            "series_missing",
            frozenset({REJECTED}),
            "A series this model needs is missing from the study.",
            remediable=True,
        ),
        Reason(
            "incomplete_study",
            frozenset({REJECTED}),
            "Images are missing from the study.",
            remediable=True,
        ),
        Reason(
            "image_quality",
            frozenset({REJECTED}),
            "The image quality is too poor for the model (motion, artifact or noise).",
            remediable=True,
        ),
        Reason(
            "unsupported_format",
            frozenset({REJECTED}),
            "The images are in a format this model cannot read.",
        ),
        Reason(
            "vendor_rejected",
            frozenset({REJECTED}),
            "The model refused the study; the vendor's reason is shown with it.",
        ),
        Reason("timeout", frozenset({FAILED}), "The model did not answer in time."),
        Reason("send_failed", frozenset({FAILED}), "The study could not be sent to the model."),
        Reason(
            "model_error",
            frozenset({FAILED}),
            "The model reported an error while processing the study.",
        ),
        Reason("result_invalid", frozenset({FAILED}), "The model's result could not be read."),
        Reason(
            "result_incorrect",
            frozenset({WITHDRAWN}),
            "The released result was withdrawn as incorrect.",
        ),
        Reason("released_in_error", frozenset({WITHDRAWN}), "The result was released in error."),
        Reason(OTHER, NEEDS_REASON, "Another reason, given in words."),
    ]
}


def _an(word: str) -> str:
    return f"{'an' if word[:1] in 'aeiou' else 'a'} {word}"


def codes_for(status: str) -> list[str]:
    return [code for code, reason in REASONS.items() if status in reason.statuses]


def explain(status: str, code: str, detail: str) -> tuple[str, str]:
    """(code, sentence) to record for a move to ``status``.

    The catalogue's sentence comes first and the caller's detail (the criterion and value,
    the vendor's words) after it; ``other`` takes the caller's words alone.  A status that
    needs no reason takes no code, but may keep a note ("resent after remediation").
    """
    status, code, detail = str(status), (code or "").strip(), (detail or "").strip()
    if status not in NEEDS_REASON:
        if code:
            raise ExamError(
                [Problem("reason_code", f"{_an(status)} inference takes no reason code")]
            )
        return "", detail
    if not code:
        raise ExamError(
            [
                Problem(
                    "reason_code",
                    f"{_an(status)} inference needs a reason code ({', '.join(codes_for(status))})",
                )
            ]
        )
    reason = REASONS.get(code)
    if reason is None:
        raise ExamError(
            [
                Problem(
                    "reason_code", f"unknown reason code {code!r}; codes are {', '.join(REASONS)}"
                )
            ]
        )
    if status not in reason.statuses:
        raise ExamError(
            [
                Problem(
                    "reason_code",
                    f"{code!r} does not explain {_an(status)} inference; codes for {status}: "
                    f"{', '.join(codes_for(status))}",
                )
            ]
        )
    if code == OTHER:
        if not detail:
            raise ExamError([Problem("reason", "reason code 'other' needs the reason in words")])
        return code, detail
    return code, f"{reason.sentence} {detail}" if detail else reason.sentence
