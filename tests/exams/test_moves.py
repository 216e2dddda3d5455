"""The status moves as a table: every pair of statuses is either allowed or refused with the
moves that are allowed named; the reason catalogue says which statuses each code explains."""

from __future__ import annotations

import itertools

import pytest

from radgov.exams import moves
from radgov.exams.errors import ExamError
from radgov.exams.reasons import REASONS, explain
from radgov.exams.statuses import Status

EXPECTED = {
    "received": {"queued", "sent", "processing", "inferred", "excluded", "rejected", "failed"},
    "queued": {"sent", "processing", "inferred", "rejected", "failed"},
    "sent": {"processing", "inferred", "rejected", "failed"},
    "processing": {"inferred", "rejected", "failed"},
    "inferred": {"released"},
    "released": {"withdrawn"},
    "withdrawn": {"released"},
    "rejected": {"queued"},
    "failed": {"queued"},
    "excluded": set(),
}


def test_the_table_is_the_documented_one() -> None:
    assert {s.value: {t.value for t in moves.ALLOWED[s]} for s in Status} == EXPECTED


@pytest.mark.parametrize(("current", "target"), list(itertools.product(Status, Status)))
def test_every_pair_is_allowed_or_refused_with_the_alternatives(
    current: Status, target: Status
) -> None:
    refusal = moves.refusal(current, target)
    if target.value in EXPECTED[current.value]:
        assert refusal is None
    else:
        assert refusal is not None and f"from {current.value} " in refusal
        allowed = EXPECTED[current.value]
        if allowed:
            assert all(a in refusal.split(": ", 1)[1] for a in allowed), refusal
        else:
            assert "final" in refusal


def test_statuses_that_need_a_reason() -> None:
    assert {s.value for s in moves.REASON_REQUIRED} == {
        "excluded",
        "rejected",
        "failed",
        "withdrawn",
    }


def test_every_reason_explains_only_statuses_that_need_one() -> None:
    for reason in REASONS.values():
        assert reason.statuses <= {s.value for s in moves.REASON_REQUIRED}, reason.code
        assert reason.sentence.endswith(".")


def test_explain_puts_the_catalogue_sentence_first_and_keeps_the_detail() -> None:
    code, text = explain(Status.REJECTED, "slice_thickness", "SliceThickness 7.5 mm is above 5")
    assert code == "slice_thickness"
    assert text == (
        "The slices are thicker or thinner than this model accepts. SliceThickness 7.5 mm is above 5"
    )
    assert REASONS["slice_thickness"].remediable and not REASONS["timeout"].remediable


@pytest.mark.parametrize(
    ("status", "code", "detail", "problem"),
    [
        (Status.REJECTED, "", "", "a rejected inference needs a reason code"),
        (Status.REJECTED, "timeout", "", "'timeout' does not explain a rejected inference"),
        (Status.FAILED, "bogus", "", "unknown reason code 'bogus'"),
        (Status.FAILED, "other", "", "reason code 'other' needs the reason in words"),
        (Status.INFERRED, "timeout", "", "an inferred inference takes no reason code"),
    ],
)
def test_explain_refuses(status: Status, code: str, detail: str, problem: str) -> None:
    with pytest.raises(ExamError, match=problem):
        explain(status, code, detail)


def test_other_takes_the_callers_words() -> None:
    assert explain(Status.FAILED, "other", "Disk full on the node") == (
        "other",
        "Disk full on the node",
    )
    assert explain(Status.INFERRED, "", "") == ("", "")
