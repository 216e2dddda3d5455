from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from radgov.evaluation.protocol import ProtocolError, load_protocol, parse_protocol

from .conftest import EXAMPLE_PROTOCOL


def test_the_issue_example_parses_as_written() -> None:
    p = load_protocol(EXAMPLE_PROTOCOL)
    assert p.name == "ICH triage local acceptance test"
    assert p.task == "binary"
    assert p.columns.truth == "label" and p.columns.score == "ai_score"
    assert p.threshold == 0.5
    assert [s.column for s in p.subgroups] == ["sex", "manufacturer", "age"]
    assert p.subgroups[2].bins == [0, 18, 65, 200]
    assert p.criteria[2].subgroups == "all"
    assert len(p.canonical_hash()) == 64


def test_reformatting_keeps_the_hash(tmp_path: Path, example_dict: dict[str, Any]) -> None:
    original = load_protocol(EXAMPLE_PROTOCOL).canonical_hash()
    # block style, keys in another order, 0.80 written as 0.8, the default level left out
    reordered = dict(reversed(list(example_dict.items())))
    reordered.pop("confidence_level")
    reordered["criteria"][0] = {"ci_low_at_least": 0.8, "metric": "sensitivity"}
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(reordered, default_flow_style=False, sort_keys=False))
    assert load_protocol(path).canonical_hash() == original


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.update(threshold=0.55),
        lambda d: d.update(name="ICH triage v2"),
        lambda d: d["criteria"][0].update(ci_low_at_least=0.81),
        lambda d: d["subgroups"].pop(0),
        lambda d: d["metrics"].append("f1"),
        lambda d: d["columns"].update(score="score_v2"),
    ],
)
def test_any_content_change_changes_the_hash(example_dict: dict[str, Any], change: Any) -> None:
    before = parse_protocol(example_dict).canonical_hash()
    changed = copy.deepcopy(example_dict)
    change(changed)
    assert parse_protocol(changed).canonical_hash() != before


def _error(data: dict[str, Any]) -> str:
    with pytest.raises(ProtocolError) as info:
        parse_protocol(data)
    return str(info.value)


def test_unknown_keys_are_named(example_dict: dict[str, Any]) -> None:
    example_dict["treshold"] = 0.5
    assert "unknown key 'treshold' in protocol" in _error(example_dict)


def test_unknown_key_in_a_criterion_is_named_with_its_place(example_dict: dict[str, Any]) -> None:
    example_dict["criteria"][1]["minimum"] = 0.9
    assert "unknown key 'minimum' in criteria[2]" in _error(example_dict)


def test_criterion_on_a_metric_not_computed(example_dict: dict[str, Any]) -> None:
    example_dict["metrics"] = ["sensitivity", "specificity"]
    message = _error(example_dict)
    assert (
        "criterion 3: metric 'auc' is not among the protocol's metrics "
        "['sensitivity', 'specificity']" in message
    )


def test_criterion_on_an_unknown_subgroup(example_dict: dict[str, Any]) -> None:
    example_dict["criteria"][2]["subgroups"] = ["scanner"]
    assert "criterion 3: subgroup 'scanner' does not refer to a subgroup column" in _error(
        example_dict
    )


def test_a_protocol_needs_a_pass_criterion(example_dict: dict[str, Any]) -> None:
    del example_dict["criteria"]
    assert "an acceptance test needs at least one pass criterion" in _error(example_dict)


def test_criterion_without_a_rule(example_dict: dict[str, Any]) -> None:
    example_dict["criteria"].append({"metric": "auc"})
    assert "criteria[4]: a criterion needs at least one rule" in _error(example_dict)


def test_metric_foreign_to_the_task(example_dict: dict[str, Any]) -> None:
    example_dict["metrics"].append("dice")
    assert "'dice' is not a binary metric" in _error(example_dict)


def test_bins_must_increase(example_dict: dict[str, Any]) -> None:
    example_dict["subgroups"][2] = {"column": "age", "bins": [0, 65, 18]}
    assert "bin edges must increase strictly" in _error(example_dict)


def test_threshold_metrics_need_a_threshold(example_dict: dict[str, Any]) -> None:
    del example_dict["threshold"]
    assert "needs one" in _error(example_dict)


def test_missing_columns_role(example_dict: dict[str, Any]) -> None:
    del example_dict["columns"]["score"]
    assert "needs the column role 'score'" in _error(example_dict)


def test_yaml_that_is_not_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("- just\n- a list\n")
    with pytest.raises(ProtocolError, match="top level must be a mapping"):
        load_protocol(path)


def test_canonical_form_leaves_defaults_out(example_dict: dict[str, Any]) -> None:
    """So an optional key added by a later radgov keeps the hashes of protocols locked before."""
    canonical = parse_protocol(example_dict).canonical_json()
    assert '"confidence_level"' not in canonical and '"min_denominator"' not in canonical
    example_dict["min_denominator"] = 10  # the default, spelled out
    assert parse_protocol(example_dict).canonical_json() == canonical
    example_dict["min_denominator"] = 20
    assert parse_protocol(example_dict).canonical_json() != canonical


def test_hd95_needs_its_column() -> None:
    data = {
        "name": "seg",
        "task": "segmentation",
        "columns": {"case_id": "id", "dice": "dice"},
        "metrics": ["dice", "hd95"],
        "criteria": [{"metric": "dice", "estimate_at_least": 0.7}],
    }
    assert "the metric 'hd95' needs the column role 'hd95'" in _error(data)
