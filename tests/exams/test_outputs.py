"""A model's outputs: score, call, confidence, structured findings; refused with the finding
and key named when malformed."""

from __future__ import annotations

import pytest

from radgov.exams.errors import ExamError
from radgov.exams.outputs import FINDING_KEYS, Outputs

FINDING = {
    "label": "intracranial hemorrhage",
    "present": True,
    "score": 0.91,
    "code": {"scheme": "SCT", "value": "1386000", "meaning": "Intracranial hemorrhage"},
    "location": "left frontal",
    "measurements": [{"name": "volume", "value": 12.5, "unit": "ml"}],
}


def test_valid_outputs_become_the_inference_fields() -> None:
    fields = Outputs(
        score=0.91,
        call="POSITIVE",
        confidence=0.8,
        findings=[FINDING, {"label": "midline shift"}],
        model_version=" 2.0.3 ",
        vendor_status="COMPLETED",
    ).validated()
    assert fields == {
        "score": 0.91,
        "call": "positive",
        "confidence": 0.8,
        "findings": [FINDING, {"label": "midline shift"}],
        "model_version": "2.0.3",
        "vendor_status": "COMPLETED",
        "vendor_reason": "",
    }


def test_no_outputs_at_all_is_fine_for_a_model_that_only_says_it_is_done() -> None:
    assert Outputs().validated()["call"] == ""


@pytest.mark.parametrize(
    ("outputs", "where"),
    [
        (Outputs(score=float("inf")), "score"),
        (Outputs(score="high"), "score"),  # type: ignore[arg-type]
        (Outputs(confidence=1.5), "confidence"),
        (Outputs(call="maybe"), "call"),
        (Outputs(findings={"label": "x"}), "findings"),  # type: ignore[arg-type]
        (Outputs(findings=[{"present": True}]), "findings[0].label"),
        (Outputs(findings=[{"label": "x", "colour": "red"}]), "findings[0].colour"),
        (Outputs(findings=[{"label": "x", "present": "yes"}]), "findings[0].present"),
        (Outputs(findings=[{"label": "x", "code": {"value": "1"}}]), "findings[0].code"),
        (
            Outputs(
                findings=[
                    {"label": "x", "measurements": [{"name": "d", "value": "big", "unit": "mm"}]}
                ]
            ),
            "findings[0].measurements[0].value",
        ),
        (
            Outputs(findings=[{"label": "a"}, {"label": "b", "score": float("nan")}]),
            "findings[1].score",
        ),
        (Outputs(model_version="v" * 65), "model_version"),
    ],
)
def test_bad_outputs_name_the_place(outputs: Outputs, where: str) -> None:
    with pytest.raises(ExamError) as info:
        outputs.validated()
    assert where in {p.field for p in info.value.problems}, info.value.problems


def test_each_finding_or_measurement_not_an_object_or_with_unknown_keys_is_named() -> None:
    measurements = [{"name": "volume", "value": 1.0, "unit": "ml", "colour": "red"}, 7]
    findings = ["a string", {**FINDING, "measurements": measurements, "extra": 1}]
    with pytest.raises(ExamError) as refused:
        Outputs(findings=findings).validated()
    assert {str(p) for p in refused.value.problems} == {
        "findings[0]: must be an object with a label",
        "findings[1].extra: is not a known key (" + ", ".join(FINDING_KEYS) + ")",
        "findings[1].measurements[0].colour: is not a known key (name, value, unit)",
        "findings[1].measurements[1]: must be an object with name, value and unit",
    }
