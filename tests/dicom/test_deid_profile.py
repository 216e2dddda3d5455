"""Table E.1-1 as data, options and site rules."""

from __future__ import annotations

import pytest

from radgov.dicom.deid.profile import (
    EDITION,
    Action,
    Option,
    SiteRules,
    compile_profile,
    load_table,
)


def test_table_is_the_pinned_edition_with_every_row_valid():
    rows = load_table()
    assert EDITION == "2026d"
    assert len(rows) == 657
    tags = [r.tag for r in rows]
    assert len(tags) == len(set(tags))
    assert {"(50xx,xxxx)", "(60xx,3000)", "(60xx,4000)", "(gggg,eeee)"} <= set(tags)
    by_tag = {r.tag: r for r in rows}
    assert by_tag["(0010,0010)"].basic == "Z"  # Patient's Name
    assert by_tag["(0008,0018)"].basic == "U"  # SOP Instance UID
    assert by_tag["(0008,1140)"].basic == "X/Z/U*"  # Referenced Image Sequence
    assert by_tag["(0008,0020)"].options == {
        "rtn_long_full_dates": "K",
        "rtn_long_modif_dates": "C",
    }


def test_basic_column_agrees_with_dicom_anonymizer_independent_transcription():
    from dicomanonymizer.dicom_anonymization_databases import dicomfields_2026c as fields

    names = {
        "D_TAGS": "D", "Z_TAGS": "Z", "X_TAGS": "X", "U_TAGS": "U", "Z_D_TAGS": "Z/D",
        "X_Z_TAGS": "X/Z", "X_D_TAGS": "X/D", "X_Z_D_TAGS": "X/Z/D", "X_Z_U_STAR_TAGS": "X/Z/U*",
    }  # fmt: skip
    theirs = {}
    for attr, action in names.items():
        for tag in getattr(fields, attr):
            if len(tag) == 2:
                theirs[f"({tag[0]:04X},{tag[1]:04X})"] = action
    ours = {r.tag: r.basic for r in load_table() if r.tag_int is not None}
    differing = {t for t in set(ours) | set(theirs) if ours.get(t) != theirs.get(t)}
    assert differing == {"(3004,007F)"}  # Dose Calculation Model Name, new in 2026d


def test_options_change_actions():
    basic = compile_profile()
    assert basic.actions[0x00080018] is Action.UID
    assert basic.actions[0x00080020] is Action.ZERO  # Study Date
    assert basic.actions[0x00101010] is Action.REMOVE  # Patient's Age
    assert basic.private_action is Action.REMOVE
    opts = compile_profile(
        [
            Option.RETAIN_UIDS,
            Option.RETAIN_LONGITUDINAL_MODIFIED_DATES,
            Option.RETAIN_PATIENT_CHARACTERISTICS,
            Option.RETAIN_SAFE_PRIVATE,
            Option.CLEAN_DESCRIPTORS,
        ]
    )
    assert opts.actions[0x00080018] is Action.KEEP
    assert opts.actions[0x00080020] is Action.CLEAN
    assert opts.actions[0x00101010] is Action.KEEP
    assert opts.actions[0x00081030] is Action.CLEAN  # Study Description
    assert opts.actions[0x00102110] is Action.CLEAN  # Allergies: C wins over K
    assert opts.private_action is Action.CLEAN
    assert compile_profile([Option.RETAIN_DEVICE_IDENTITY]).actions[0x00081010] is Action.KEEP


def test_option_names_and_conflicts():
    assert Option.from_name("retain-uids") is Option.RETAIN_UIDS
    assert Option.from_name("RETAIN_UIDS") is Option.RETAIN_UIDS
    assert Option.from_name("113110") is Option.RETAIN_UIDS
    with pytest.raises(ValueError, match="unknown de-identification option 'nope'"):
        Option.from_name("nope")
    with pytest.raises(ValueError, match="exclude each other"):
        compile_profile(
            [Option.RETAIN_LONGITUDINAL_FULL_DATES, Option.RETAIN_LONGITUDINAL_MODIFIED_DATES]
        )
    with pytest.raises(ValueError, match="cannot perform"):
        compile_profile([Option.CLEAN_RECOGNIZABLE_VISUAL_FEATURES])


def test_site_rules_win():
    rules = SiteRules(
        keep=frozenset({0x00081030}),
        remove=frozenset({0x00180015}),
        replace={0x00080080: "RESEARCH SITE"},
    )
    profile = compile_profile(site=rules)
    assert profile.actions[0x00081030] is Action.KEEP
    assert profile.actions[0x00180015] is Action.REMOVE  # Body Part Examined: not in the table
    assert profile.actions[0x00080080] is Action.REPLACE
    assert profile.replace_values[0x00080080] == "RESEARCH SITE"
    assert profile.site_rule_counts == {"keep": 1, "remove": 1, "replace": 1}
