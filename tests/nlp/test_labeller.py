"""The labeller's mechanisms one by one: targets, ConText modifiers and their scopes,
sections, how history counts, the evidence and the version a label carries."""

from __future__ import annotations

import subprocess
import sys

import pytest

from radgov.nlp import Labeller, default_rules, parse_rules

LABELLER = Labeller()


def labels(text: str, labeller: Labeller = LABELLER) -> dict[str, str]:
    return {lab.finding: lab.label for lab in labeller.label(text)}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # targets, plurals, synonyms, exclusions
        ("Small right pneumothorax.", {"pneumothorax": "positive"}),
        ("Bilateral pleural effusions.", {"pleural_effusion": "positive"}),
        ("Small pericardial effusion.", {}),
        ("Thyroid nodule measuring 1 cm.", {}),
        ("Left M1 occlusion.", {"large_vessel_occlusion": "positive"}),
        ("Acute PE in the right lower lobe.", {"pulmonary_embolism": "positive"}),
        # negation, forward and backward, with termination
        ("No pneumothorax.", {"pneumothorax": "negative"}),
        ("Pneumothorax is not seen.", {"pneumothorax": "negative"}),
        ("Effusion: none.", {"pleural_effusion": "negative"}),
        ("No pneumothorax, but a small pleural effusion.",
         {"pneumothorax": "negative", "pleural_effusion": "positive"}),
        ("No pneumothorax, effusion, or consolidation.",
         {"pneumothorax": "negative", "pleural_effusion": "negative"}),
        ("No pneumothorax; small effusion.",
         {"pneumothorax": "negative", "pleural_effusion": "positive"}),
        # uncertainty, including double negation
        ("Possible small fracture of the scaphoid.", {"fracture": "uncertain"}),
        ("Pulmonary embolism cannot be excluded.", {"pulmonary_embolism": "uncertain"}),
        ("Pneumothorax is not ruled out.", {"pneumothorax": "uncertain"}),
        ("Fracture versus nutrient canal.", {"fracture": "uncertain"}),
        # pseudo-negation: the finding is still there
        ("No increase in the size of the right parietal hemorrhage.",
         {"intracranial_hemorrhage": "positive"}),
        ("No pneumothorax and no change in the small effusion.",
         {"pneumothorax": "negative", "pleural_effusion": "positive"}),
        # hypothetical: asks, asserts nothing
        ("Recommend CT angiography to evaluate for pulmonary embolism.", {}),
        # history counts as present by default
        ("Stable 4 mm nodule in the left lower lobe.", {"pulmonary_nodule": "positive"}),
        ("Previously seen right pneumothorax has resolved.", {"pneumothorax": "negative"}),
        # a phrase in two modifiers acts as both ("resolved" forward and backward)
        ("Resolved pneumothorax.", {"pneumothorax": "negative"}),
        ("The right pneumothorax, resolved.", {"pneumothorax": "negative"}),
    ],
)  # fmt: skip
def test_mechanisms(text: str, expected: dict[str, str]) -> None:
    assert labels(text) == expected


REPORT = """EXAM: CT angiography of the chest.
INDICATION: Shortness of breath, rule out pulmonary embolism. History of pneumothorax.
COMPARISON: CT of 2024, which showed a pulmonary nodule.
FINDINGS:
Possible small pulmonary embolus in a right lower lobe subsegmental artery.
Small left pleural effusion.
IMPRESSION:
1. No pulmonary embolism.
2. Small left pleural effusion.
"""


def test_sections_impression_decides_and_ignored_sections_are_not_read() -> None:
    found = {lab.finding: lab for lab in LABELLER.label(REPORT)}
    # the impression says no; the findings' "possible" does not decide
    assert found["pulmonary_embolism"].label == "negative"
    assert found["pulmonary_embolism"].section == "impression"
    assert found["pleural_effusion"].label == "positive"
    # pneumothorax and the nodule appear only in the indication and comparison: no label
    assert set(found) == {"pulmonary_embolism", "pleural_effusion"}


def test_a_header_is_not_part_of_the_sentence_after_it() -> None:
    """ "IMPRESSION: Negative for ..." on one line: the header's colon and "Negative" once read
    as the backward trigger ": negative" (as in "Effusion: negative"), which hid the forward
    "negative for", and the finding came out positive."""
    (lab,) = LABELLER.label("IMPRESSION: Negative for pulmonary embolism.")
    assert (lab.label, lab.rule) == ("negative", "negated forward 'negative for'")
    assert labels("Pulmonary embolism: negative.") == {"pulmonary_embolism": "negative"}


def test_findings_decide_when_the_impression_is_silent() -> None:
    text = "FINDINGS: Possible tiny right apical pneumothorax.\nIMPRESSION: No acute process."
    (lab,) = LABELLER.label(text)
    assert (lab.finding, lab.label, lab.section) == ("pneumothorax", "uncertain", "findings")


def test_within_a_section_positive_beats_uncertain_beats_negative() -> None:
    assert labels("No new hemorrhage. Stable left subdural hematoma.") == {
        "intracranial_hemorrhage": "positive"
    }
    assert labels("No large pneumothorax. Possible tiny apical pneumothorax.") == {
        "pneumothorax": "uncertain"
    }


@pytest.mark.parametrize(
    ("history", "expected"),
    [("positive", "positive"), ("negative", "negative"), ("uncertain", "uncertain"),
     ("ignore", None)],
)  # fmt: skip
def test_how_history_counts_is_the_rule_sets_choice(history: str, expected: str | None) -> None:
    rules = parse_rules(f"history: {history}\nfindings: [{{name: ptx, terms: [pneumothorax]}}]\n")
    assert labels("Known small left pneumothorax is again seen.", Labeller(rules)).get("ptx") == (
        expected
    )


def test_a_label_carries_its_evidence_rule_section_and_version() -> None:
    text = "FINDINGS:\nThe heart is normal.  No evidence of\npneumothorax.  Lungs clear."
    (lab,) = LABELLER.label(text)
    assert lab.label == "negative"
    assert text[lab.evidence_start : lab.evidence_end].strip().startswith("No evidence of")
    assert lab.evidence == "No evidence of pneumothorax."
    assert lab.term == "pneumothorax"
    assert lab.rule == "negated forward 'no evidence of'"
    assert lab.section == "findings"
    assert lab.version == LABELLER.version
    assert LABELLER.rules_hash[:16] in lab.version


def test_abbreviations_do_not_end_a_sentence() -> None:
    (lab,) = LABELLER.label("Old granuloma. Possible nutrient canal vs. fracture. Normal.")
    assert (lab.label, lab.evidence) == ("uncertain", "Possible nutrient canal vs. fracture.")


def test_the_version_changes_with_the_rules() -> None:
    other = parse_rules("history: ignore\n")
    assert Labeller(other).version != LABELLER.version
    assert Labeller(default_rules()).version == LABELLER.version


def test_labels_follow_the_rule_sets_finding_order() -> None:
    text = "Small pleural effusion. No pneumothorax. No acute fracture."
    got = [lab.finding for lab in LABELLER.label(text)]
    assert got == [n for n in default_rules().finding_names if n in got]
    assert len(got) == 3


def test_empty_and_unrelated_text_give_no_labels() -> None:
    assert LABELLER.label("") == []
    assert LABELLER.label("Normal study. The liver is unremarkable.") == []


def test_the_package_imports_no_django() -> None:
    code = (
        "import sys, radgov.nlp, radgov.nlp.accuracy; "
        "bad = [m for m in sys.modules if m.split('.')[0] == 'django']; "
        "assert not bad, bad"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
