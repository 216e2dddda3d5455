"""DICOM PS3.15 Table E.1-1 as data, and its resolution into one action per tag.

The table lives in ``data/basic_profile_2026d.tsv`` (edition 2026d, see its header for the
source).  :func:`load_table` reads it; :func:`compile_profile` turns the table plus the chosen
options (CID 7050) and a site's rules into a :class:`CompiledProfile`: a plain ``dict`` from tag
to :class:`Action`, so the engine never runs a regular expression per element.

Action letters (PS3.15 Table E.1-1 legend):

* ``D`` replace with a non-zero length dummy value consistent with the VR
* ``Z`` replace with a zero length value (or a dummy)
* ``X`` remove
* ``K`` keep
* ``C`` clean: keep the meaning, remove identifying information
* ``U`` replace a UID with a non-zero length UID, consistent within the set of instances

Combined forms (``Z/D``, ``X/Z``, ``X/D``, ``X/Z/D``, ``X/Z/U*``) depend on the attribute's Type in
the IOD.  radgov resolves them per file, by the SOP Class (:mod:`radgov.dicom.deid.iod`):

* Type 1 in the file's IOD -> ``D`` (a dummy; a Type 1 attribute is never deleted nor emptied);
* Type 2 in the file's IOD -> ``Z`` (empty);
* otherwise (Type 3 or unknown): the first letter of the combined form (``X`` for X/.., ``Z`` for
  Z/D); ``X/Z/U*`` (reference sequences) keeps the sequence and remaps every UID inside it.

Beyond the table (documented supplements): Text Value (0040,A160) of SR content items is
treated as free text (dummy, or cleaned with Clean Structured Content), and any other DA/DT
attribute follows the date options (removed, shifted, or kept) for HIPAA Safe Harbor.

The same Type rule also protects attributes whose action is plain ``X`` but that the IOD makes
Type 1 or 2 (e.g. Presentation Creation Date in a presentation state): they are replaced, never
deleted, so the output stays a valid instance of its IOD.

When several selected options give a cell for the same row, ``C`` wins over ``K`` (the more
protective reading).  Retain Longitudinal Temporal Information with Full Dates and with Modified
Dates are mutually exclusive.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

EDITION = "2026d"
TABLE_FILE = f"basic_profile_{EDITION}.tsv"


class Option(enum.Enum):
    """The options of PS3.15 Annex E, named as in CID 7050 (code value, code meaning, CLI name)."""

    CLEAN_PIXEL_DATA = ("113101", "Clean Pixel Data Option", "clean-pixel-data")
    CLEAN_RECOGNIZABLE_VISUAL_FEATURES = (
        "113102",
        "Clean Recognizable Visual Features Option",
        "clean-recognizable-visual-features",
    )
    CLEAN_GRAPHICS = ("113103", "Clean Graphics Option", "clean-graphics")
    CLEAN_STRUCTURED_CONTENT = (
        "113104",
        "Clean Structured Content Option",
        "clean-structured-content",
    )
    CLEAN_DESCRIPTORS = ("113105", "Clean Descriptors Option", "clean-descriptors")
    RETAIN_LONGITUDINAL_FULL_DATES = (
        "113106",
        "Retain Longitudinal Temporal Information Full Dates Option",
        "retain-longitudinal-full-dates",
    )
    RETAIN_LONGITUDINAL_MODIFIED_DATES = (
        "113107",
        "Retain Longitudinal Temporal Information Modified Dates Option",
        "retain-longitudinal-modified-dates",
    )
    RETAIN_PATIENT_CHARACTERISTICS = (
        "113108",
        "Retain Patient Characteristics Option",
        "retain-patient-characteristics",
    )
    RETAIN_DEVICE_IDENTITY = ("113109", "Retain Device Identity Option", "retain-device-identity")
    RETAIN_UIDS = ("113110", "Retain UIDs Option", "retain-uids")
    RETAIN_SAFE_PRIVATE = ("113111", "Retain Safe Private Option", "retain-safe-private")
    RETAIN_INSTITUTION_IDENTITY = (
        "113112",
        "Retain Institution Identity Option",
        "retain-institution-identity",
    )

    @property
    def code_value(self) -> str:
        return self.value[0]

    @property
    def code_meaning(self) -> str:
        return self.value[1]

    @property
    def cli_name(self) -> str:
        return self.value[2]

    @classmethod
    def from_name(cls, name: str) -> Option:
        wanted = name.strip().lower().replace("_", "-")
        for option in cls:
            if wanted in (
                option.cli_name,
                option.name.lower().replace("_", "-"),
                option.code_value,
            ):
                return option
        known = ", ".join(o.cli_name for o in cls)
        raise ValueError(f"unknown de-identification option {name!r}; known options: {known}")


BASIC_PROFILE_CODE = ("113100", "Basic Application Confidentiality Profile")

# Table column -> the option that selects it.
OPTION_COLUMNS: dict[str, Option] = {
    "rtn_safe_priv": Option.RETAIN_SAFE_PRIVATE,
    "rtn_uids": Option.RETAIN_UIDS,
    "rtn_dev_id": Option.RETAIN_DEVICE_IDENTITY,
    "rtn_inst_id": Option.RETAIN_INSTITUTION_IDENTITY,
    "rtn_pat_chars": Option.RETAIN_PATIENT_CHARACTERISTICS,
    "rtn_long_full_dates": Option.RETAIN_LONGITUDINAL_FULL_DATES,
    "rtn_long_modif_dates": Option.RETAIN_LONGITUDINAL_MODIFIED_DATES,
    "clean_desc": Option.CLEAN_DESCRIPTORS,
    "clean_struct_cont": Option.CLEAN_STRUCTURED_CONTENT,
    "clean_graph": Option.CLEAN_GRAPHICS,
}

# Options radgov accepts but cannot honestly perform; asking for them is an error.
UNSUPPORTED_OPTIONS = frozenset({Option.CLEAN_RECOGNIZABLE_VISUAL_FEATURES})

BASIC_ACTIONS = frozenset({"D", "Z", "X", "K", "C", "U", "Z/D", "X/Z", "X/D", "X/Z/D", "X/Z/U*"})


class Action(enum.Enum):
    """What the engine does with one element, after options and site rules are applied."""

    DUMMY = "D"
    ZERO = "Z"
    REMOVE = "X"
    KEEP = "K"
    CLEAN = "C"
    UID = "U"
    Z_OR_D = "Z/D"
    X_OR_Z = "X/Z"
    X_OR_D = "X/D"
    X_Z_OR_D = "X/Z/D"
    REFERENCES = "X/Z/U*"
    REPLACE = "replace"  # site rule with a fixed value


@dataclass(frozen=True)
class Row:
    """One row of Table E.1-1."""

    tag: str
    basic: str
    options: Mapping[str, str]
    retired: bool
    in_std_iod: bool
    name: str

    @property
    def tag_int(self) -> int | None:
        """The tag as an int, or None for the range rows (50xx,xxxx), (60xx,...), private."""
        text = self.tag.strip("()").replace(",", "")
        try:
            return int(text, 16)
        except ValueError:
            return None


@lru_cache(maxsize=1)
def load_table() -> tuple[Row, ...]:
    """Read Table E.1-1 (edition :data:`EDITION`) from the package data."""
    text = resources.files("radgov.dicom.deid").joinpath("data", TABLE_FILE).read_text("utf-8")
    rows: list[Row] = []
    header: list[str] | None = None
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        cells = line.split("\t")
        if header is None:
            header = cells
            continue
        record = dict(zip(header, cells, strict=True))
        if record["basic"] not in BASIC_ACTIONS:
            raise ValueError(
                f"{TABLE_FILE}: unknown action {record['basic']!r} for {record['tag']}"
            )
        options = {col: record[col] for col in OPTION_COLUMNS if record[col]}
        rows.append(
            Row(
                tag=record["tag"],
                basic=record["basic"],
                options=options,
                retired=record["retired"] == "Y",
                in_std_iod=record["in_std_iod"] == "Y",
                name=record["name"],
            )
        )
    return tuple(rows)


@dataclass(frozen=True)
class SiteRules:
    """A site's own rules on top of the profile (see :mod:`radgov.dicom.deid.config`)."""

    keep: frozenset[int] = frozenset()
    remove: frozenset[int] = frozenset()
    replace: Mapping[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CompiledProfile:
    """Everything the engine needs, precomputed: tag -> action, and the range rules."""

    actions: Mapping[int, Action]
    options: frozenset[Option]
    curve_action: Action
    overlay_action: Action
    private_action: Action  # REMOVE, or CLEAN = keep the safe-private list only
    replace_values: Mapping[int, str]
    other_dates_action: Action = Action.REMOVE  # DA/DT attributes that are not table rows
    site_rule_counts: Mapping[str, int] = field(default_factory=dict)
    edition: str = EDITION

    def option_names(self) -> list[str]:
        return sorted(o.cli_name for o in self.options)


def _resolve_row(row: Row, options: frozenset[Option]) -> str:
    cells = [
        row.options[col]
        for col, opt in OPTION_COLUMNS.items()
        if opt in options and col in row.options
    ]
    if not cells:
        return row.basic
    return "C" if "C" in cells else cells[0]


def compile_profile(
    options: Iterable[Option] = (),
    site: SiteRules | None = None,
) -> CompiledProfile:
    """Resolve Table E.1-1 for the chosen options, then apply the site's rules on top."""
    chosen = frozenset(options)
    unsupported = chosen & UNSUPPORTED_OPTIONS
    if unsupported:
        names = ", ".join(sorted(o.cli_name for o in unsupported))
        raise ValueError(f"radgov cannot perform the option(s) {names}; remove them")
    if {Option.RETAIN_LONGITUDINAL_FULL_DATES, Option.RETAIN_LONGITUDINAL_MODIFIED_DATES} <= chosen:
        raise ValueError(
            "retain-longitudinal-full-dates and retain-longitudinal-modified-dates exclude each other"
        )
    actions: dict[int, Action] = {}
    curve = overlay = private = Action.REMOVE
    for row in load_table():
        letter = _resolve_row(row, chosen)
        tag = row.tag_int
        if tag is None:
            if row.tag.startswith("(50"):
                curve = Action(letter)
            elif row.tag == "(60xx,3000)":
                overlay = Action(letter)
            elif row.tag.startswith("(gggg"):
                private = Action(letter)
            continue
        actions[tag] = Action(letter)
    # radgov supplement: Text Value (0040,A160) is not a row of Table E.1-1, but inside a
    # Content Sequence (D, or C with Clean Structured Content) it carries the report's free text.
    actions.setdefault(
        0x0040A160,
        Action.CLEAN if Option.CLEAN_STRUCTURED_CONTENT in chosen else Action.DUMMY,
    )
    replace_values: dict[int, str] = {}
    if site is not None:
        for tag in site.keep:
            actions[tag] = Action.KEEP
        for tag in site.remove:
            actions[tag] = Action.REMOVE
        for tag, value in site.replace.items():
            actions[tag] = Action.REPLACE
            replace_values[tag] = value
    # HIPAA Safe Harbor supplement: a DA or DT attribute that is not a row of the table is
    # still a date; it follows the longitudinal options like Study Date does.
    if Option.RETAIN_LONGITUDINAL_FULL_DATES in chosen:
        other_dates = Action.KEEP
    elif Option.RETAIN_LONGITUDINAL_MODIFIED_DATES in chosen:
        other_dates = Action.CLEAN
    else:
        other_dates = Action.REMOVE
    return CompiledProfile(
        actions=actions,
        other_dates_action=other_dates,
        options=chosen,
        curve_action=curve,
        overlay_action=overlay,
        private_action=private,
        replace_values=replace_values,
        site_rule_counts={
            "keep": len(site.keep) if site else 0,
            "remove": len(site.remove) if site else 0,
            "replace": len(site.replace) if site else 0,
        },
    )
