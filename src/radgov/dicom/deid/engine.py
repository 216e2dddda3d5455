"""The de-identification engine: one dataset in, the same dataset de-identified in place.

The walk visits every element, at every depth of every sequence, with a precomputed
``tag -> action`` dict.  Elements the profile keeps are left as pydicom read them (raw bytes,
never decoded), which is what lets the engine run close to a plain pydicom read + write.

Beyond Table E.1-1 rows, the walk also:

* removes private elements (odd groups), unless Retain Safe Private is on and the element is on
  the site's safe-private list (by private creator and element offset);
* removes group length elements (their values would be wrong after editing);
* removes curves (50xx,xxxx) and whole overlay groups (60xx,xxxx) when their data is not kept;
* remaps every other UI value that is not a registered DICOM UID (class UIDs, transfer syntaxes,
  coding schemes are never remapped), so references outside the table stay consistent too;
* replaces Patient ID and Patient's Name with a keyed pseudonym (a dummy is allowed by their
  Z/D and Z actions) so the studies of one patient stay linked;
* aggregates ages over 89 as 090Y wherever an age is kept (HIPAA Safe Harbor);
* treats every other DA/DT attribute as a date (removed, shifted or kept with the options);
* sets Patient Identity Removed, De-identification Method (+ Code Sequence) and
  Longitudinal Temporal Information Modified.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from pydicom._dicom_dict import DicomDictionary
from pydicom._uid_dict import UID_dictionary
from pydicom.datadict import dictionary_VR
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.tag import BaseTag

from radgov.dicom.deid.burnedin import PixelMask, apply_mask, find_mask, review_reason
from radgov.dicom.deid.iod import attribute_types
from radgov.dicom.deid.keyed import KeyedMapper, shift_da, shift_dt
from radgov.dicom.deid.profile import (
    BASIC_PROFILE_CODE,
    EDITION,
    Action,
    CompiledProfile,
    Option,
)
from radgov.dicom.deid.textclean import TextCleaner

_SQ_TAGS = frozenset(tag for tag, entry in DicomDictionary.items() if entry[0] == "SQ")
_UI_TAGS = frozenset(
    tag
    for tag, entry in DicomDictionary.items()
    if entry[0] == "UI"
    and not entry[4].endswith(("ClassUID", "SyntaxUID", "ClassUIDInFile", "SyntaxUIDInFile"))
    and entry[4]
    not in {
        "CodingSchemeUID",
        "MappingResourceUID",
        "ContextGroupExtensionCreatorUID",
        "ContextUID",
        "PrivateInformationCreatorUID",
        "TemplateExtensionOrganizationUID",
        "TemplateExtensionCreatorUID",
    }
)
_DATE_TAGS = frozenset(
    tag for tag, entry in DicomDictionary.items() if entry[0] in ("DA", "DT") and tag >> 16 != 2
)
_TEXT_VRS = frozenset({"LO", "SH", "LT", "ST", "UT", "UC", "PN", "CS"})
_NUMBER_VRS = frozenset({"US", "SS", "UL", "SL", "FL", "FD", "UV", "SV", "US or SS"})
_BINARY_VRS = frozenset({"OB", "OW", "OF", "OD", "OL", "OV", "UN", "OB or OW"})
_DUMMY_TEXT: dict[str, str] = {
    "PN": "ANONYMOUS",
    "LO": "ANONYMIZED",
    "SH": "ANONYMIZED",
    "LT": "ANONYMIZED",
    "ST": "ANONYMIZED",
    "UT": "ANONYMIZED",
    "UC": "ANONYMIZED",
    "CS": "ANONYMIZED",
    "AE": "ANONYMOUS",
    "DA": "19000101",
    "DT": "19000101000000",
    "TM": "000000",
    "AS": "000Y",
    "IS": "0",
    "DS": "0",
    "UR": "urn:radgov:anonymized",
}
# Sequences whose items are codes identifying a person or an organisation: a dummy code.
_IDENTIFYING_CODE_SEQUENCES = frozenset({0x00401101, 0x00080082, 0x0040A088})

PATIENT_NAME = 0x00100010
PATIENT_ID = 0x00100020
PATIENT_AGE = 0x00101010


@dataclass
class FileOutcome:
    """What happened to one dataset (no attribute values, so no PHI)."""

    status: str = "ok"  # ok | quarantined
    reason: str = ""
    counts: Counter[str] = field(default_factory=Counter)
    pixel_mask_applied: bool = False


class _State:
    def __init__(self, ds: Dataset, mapper: KeyedMapper, profile: CompiledProfile) -> None:
        sop = str(ds.get("SOPClassUID", ""))
        self.type1, self.type2 = attribute_types(sop)
        self.counts: Counter[str] = Counter()
        self.patient_key = _patient_key(ds)
        self.offset: int | None = None
        if Option.RETAIN_LONGITUDINAL_MODIFIED_DATES in profile.options:
            self.offset = mapper.date_offset_days(self.patient_key)
        self._ds = ds
        self._cleaner: TextCleaner | None = None
        self.needs_cleaner = bool(
            profile.options
            & {
                Option.CLEAN_DESCRIPTORS,
                Option.CLEAN_STRUCTURED_CONTENT,
                Option.RETAIN_PATIENT_CHARACTERISTICS,
                Option.CLEAN_GRAPHICS,
            }
        )
        if self.needs_cleaner:
            self._cleaner = TextCleaner(ds)

    def clean_text(self, text: str) -> str:
        if self._cleaner is None:
            self._cleaner = TextCleaner(self._ds)
        return self._cleaner.clean(text)


def _store(ds: Dataset) -> dict[int, Any]:
    """The dataset's element store, keyed by int tags (BaseTag is an int)."""
    return cast(dict[int, Any], ds._dict)


def _patient_key(ds: Dataset) -> str:
    """The identity a pseudonym and date offset are derived from (documented in keyed.py)."""
    pid = str(ds.get("PatientID", "") or "").strip()
    issuer = str(ds.get("IssuerOfPatientID", "") or "").strip()
    if pid:
        return f"id:{pid}^{issuer}"
    name = str(ds.get("PatientName", "") or "").strip()
    birth = str(ds.get("PatientBirthDate", "") or "").strip()
    if name or birth:
        return f"name:{name}^{birth}"
    return f"study:{ds.get('StudyInstanceUID', '')}"


def _vr_of(tag: int, elem: Any) -> str:
    vr = getattr(elem, "VR", None)
    if vr:
        return str(vr)
    try:
        return str(dictionary_VR(tag))
    except KeyError:
        return "UN"


def aggregate_age(value: str) -> str:
    """HIPAA Safe Harbor: ages over 89 become 090Y."""
    text = value.strip()
    if len(text) != 4 or not text[:3].isdigit():
        return text
    n, unit = int(text[:3]), text[3].upper()
    years = {"Y": n, "M": n / 12, "W": n / 52.1775, "D": n / 365.25}.get(unit, 0)
    return "090Y" if years > 89 else text


class Deidentifier:
    """De-identifies datasets in place with a compiled profile and a key."""

    def __init__(
        self,
        key: bytes,
        profile: CompiledProfile,
        *,
        safe_private: Iterable[tuple[int | None, str, int]] = (),
        pixel_masks: Sequence[PixelMask] = (),
        record_mapping: bool = False,
    ) -> None:
        self.profile = profile
        self.mapper = KeyedMapper(key, record=record_mapping)
        self._actions = profile.actions
        # (group or None, creator, element offset) entries of the safe-private list.
        self._safe_private = {(g, c.strip(), e) for g, c, e in safe_private}
        self._pixel_masks = tuple(pixel_masks)

    # ----------------------------------------------------------------------------- public
    def needs_pixels(self, ds: Dataset) -> bool:
        """True when this dataset's pixel data will be edited (a configured mask applies)."""
        return (
            Option.CLEAN_PIXEL_DATA in self.profile.options
            and review_reason(ds, has_pixels=True) is not None
            and find_mask(ds, self._pixel_masks) is not None
        )

    def deidentify(self, ds: Dataset, *, has_pixels: bool | None = None) -> FileOutcome:
        """De-identify ``ds`` in place.

        ``has_pixels`` tells, for a header-only dataset, that the file has pixel data (which
        the runner copies unchanged); by default it is read from ``ds``.
        """
        outcome = FileOutcome()
        reason = review_reason(ds, has_pixels=has_pixels)
        if reason is not None:
            mask = (
                find_mask(ds, self._pixel_masks)
                if Option.CLEAN_PIXEL_DATA in self.profile.options
                else None
            )
            if mask is not None:
                apply_mask(ds, mask)
                outcome.pixel_mask_applied = True
            else:
                outcome.status = "quarantined"
                outcome.reason = reason
        state = _State(ds, self.mapper, self.profile)
        pseudonym = self.mapper.pseudonym(state.patient_key)
        self.mapper.note_patient(state.patient_key, pseudonym, state.offset)
        self._walk(ds, state)
        self._finish(ds, state, pseudonym, outcome)
        outcome.counts = state.counts
        return outcome

    # ----------------------------------------------------------------------------- walk
    def _walk(self, ds: Dataset, st: _State) -> None:
        store = _store(ds)
        actions = self._actions
        private_seen = False
        for tag in list(store):
            group = tag >> 16
            if group & 1:
                private_seen = True
                continue
            if not tag & 0xFFFF:
                del store[tag]  # group length
                continue
            action = actions.get(tag)
            if action is None:
                if 0x5000 <= group <= 0x501E or (0x6000 <= group <= 0x601E and group & 1 == 0):
                    self._range(ds, tag, group, st)
                elif tag in _UI_TAGS:
                    self._remap_unknown_uid(ds, tag, st)
                elif tag in _SQ_TAGS or getattr(store[tag], "VR", None) == "SQ":
                    self._recurse(ds, tag, st)
                elif tag in _DATE_TAGS:
                    self._apply(ds, tag, self.profile.other_dates_action, st)
                continue
            self._apply(ds, tag, action, st)
        if private_seen:
            self._private(ds, st)

    def _recurse(self, ds: Dataset, tag: int, st: _State) -> None:
        elem = ds[tag]
        if elem.VR != "SQ" or not elem.value:
            return
        for item in elem.value:
            self._walk(item, st)

    def _range(self, ds: Dataset, tag: int, group: int, st: _State) -> None:
        if 0x5000 <= group <= 0x501E:
            keep = self.profile.curve_action is Action.KEEP
        else:
            keep = self.profile.overlay_action is Action.KEEP
        if not keep:
            # Clean Graphics cannot clean a bitmap or a curve; they are removed (documented).
            del _store(ds)[tag]
            st.counts["removed"] += 1

    def _private(self, ds: Dataset, st: _State) -> None:
        store = _store(ds)
        keep_safe = self.profile.private_action is Action.CLEAN and self._safe_private
        creators: dict[tuple[int, int], str] = {}
        if keep_safe:
            for tag in store:
                group, elem = tag >> 16, tag & 0xFFFF
                if group & 1 and 0x10 <= elem <= 0xFF:
                    creators[(group, elem)] = str(ds[tag].value or "").strip()
        kept_blocks: set[tuple[int, int]] = set()
        for tag in [t for t in store if (t >> 16) & 1]:
            group, elem = tag >> 16, tag & 0xFFFF
            if keep_safe and elem > 0xFF:
                creator = creators.get((group, elem >> 8))
                offset = elem & 0xFF
                if creator is not None and (
                    (group, creator, offset) in self._safe_private
                    or (None, creator, offset) in self._safe_private
                ):
                    kept_blocks.add((group, elem >> 8))
                    if store[tag].VR == "SQ" or _vr_of(tag, store[tag]) == "SQ":
                        self._recurse(ds, tag, st)
                    st.counts["private_kept"] += 1
                    continue
            if keep_safe and 0x10 <= elem <= 0xFF:
                continue  # creators: decided below
            del store[tag]
            st.counts["private_removed"] += 1
        if keep_safe:
            for group, block in creators:
                if (group, block) not in kept_blocks:
                    del store[(group << 16) | block]
                    st.counts["private_removed"] += 1

    # ----------------------------------------------------------------------------- actions
    def _resolve(self, action: Action, tag: int, st: _State) -> Action:
        if action in (Action.REMOVE, Action.X_OR_Z, Action.X_OR_D, Action.X_Z_OR_D, Action.Z_OR_D):
            if tag in st.type1:
                return Action.DUMMY
            if tag in st.type2:
                return Action.ZERO
            return Action.ZERO if action is Action.Z_OR_D else Action.REMOVE
        if action is Action.ZERO and tag in st.type1:
            return Action.DUMMY
        return action

    def _apply(self, ds: Dataset, tag: int, action: Action, st: _State) -> None:
        action = self._resolve(action, tag, st)
        store = _store(ds)
        if action is Action.REMOVE:
            del store[tag]
            st.counts["removed"] += 1
            return
        if action is Action.REFERENCES:
            self._recurse(ds, tag, st)
            return
        vr = _vr_of(tag, store[tag])
        if action is Action.KEEP:
            if vr == "SQ":
                self._recurse(ds, tag, st)
            elif vr == "AS":
                self._set(ds, tag, vr, aggregate_age(str(ds[tag].value or "")))
            return
        if action is Action.UID:
            self._remap(ds, tag, st)
            return
        if action is Action.ZERO:
            if vr == "SQ":
                ds[tag].value = DicomSequence()
            else:
                self._set(ds, tag, vr, None)
            st.counts["emptied"] += 1
            return
        if action is Action.DUMMY:
            self._dummy(ds, tag, vr, st)
            return
        if action is Action.CLEAN:
            self._clean(ds, tag, vr, st)
            return
        if action is Action.REPLACE:
            self._set(ds, tag, vr, self.profile.replace_values[tag])
            st.counts["replaced"] += 1
            return
        raise AssertionError(f"unresolved action {action}")  # pragma: no cover

    @staticmethod
    def _set(ds: Dataset, tag: int, vr: str, value: Any) -> None:
        if vr in _NUMBER_VRS and isinstance(value, str):
            value = float(value) if vr in ("FL", "FD") else int(value)
        if value is None or value == "":
            value = None if vr in _NUMBER_VRS or vr in _BINARY_VRS else ""
        if vr in ("US or SS", "OB or OW", "US or SS or OW"):
            vr = {"US or SS": "US", "OB or OW": "OB", "US or SS or OW": "OW"}[vr]
        _store(ds)[BaseTag(tag)] = DataElement(tag, vr, value)

    def _dummy(self, ds: Dataset, tag: int, vr: str, st: _State) -> None:
        st.counts["replaced"] += 1
        if vr == "SQ":
            if tag in _IDENTIFYING_CODE_SEQUENCES:
                item = Dataset()
                item.CodeValue = "ANON"
                item.CodingSchemeDesignator = "99RADGOV"
                item.CodeMeaning = "ANONYMIZED"
                ds[tag].value = DicomSequence([item])
            else:
                self._recurse(ds, tag, st)
            return
        if vr == "UI":
            self._remap(ds, tag, st)
            return
        if vr in _NUMBER_VRS:
            self._set(ds, tag, vr, 0)
        elif vr in _BINARY_VRS:
            self._set(ds, tag, vr, b"\x00\x00")
        else:
            self._set(ds, tag, vr, _DUMMY_TEXT.get(vr, "ANONYMIZED"))

    def _clean(self, ds: Dataset, tag: int, vr: str, st: _State) -> None:
        if vr == "SQ":
            self._recurse(ds, tag, st)
            return
        elem = ds[tag]
        if vr in ("DA", "DT"):
            if st.offset is None:  # C on a date only comes from the modified-dates option
                self._set(ds, tag, vr, None)
                return
            shift = shift_da if vr == "DA" else shift_dt
            values = elem.value if elem.VM > 1 else [elem.value]
            shifted = [shift(str(v or ""), st.offset) for v in values]
            elem.value = shifted if elem.VM > 1 else shifted[0]
            st.counts["shifted"] += 1
            return
        if vr == "TM":
            return  # times of day are kept with modified dates
        if vr == "AE":
            self._set(ds, tag, vr, "AE" + self.mapper.token("ae", str(elem.value or "")))
            st.counts["cleaned"] += 1
            return
        if vr == "AS":
            self._set(ds, tag, vr, aggregate_age(str(elem.value or "")))
            return
        if vr in _TEXT_VRS or vr in ("UR",):
            if elem.VM > 1:
                elem.value = [st.clean_text(str(v)) for v in elem.value]
            elif elem.value:
                elem.value = st.clean_text(str(elem.value))
            st.counts["cleaned"] += 1
            return
        if vr in _BINARY_VRS:
            del _store(ds)[tag]
            st.counts["removed"] += 1

    def _remap(self, ds: Dataset, tag: int, st: _State) -> None:
        elem = ds[tag]
        if elem.value in (None, ""):
            return
        if elem.VM > 1:
            elem.value = [self.mapper.uid(str(v)) for v in elem.value]
        else:
            elem.value = self.mapper.uid(str(elem.value))
        st.counts["remapped"] += 1

    def _remap_unknown_uid(self, ds: Dataset, tag: int, st: _State) -> None:
        elem = ds[tag]
        values = elem.value if elem.VM > 1 else [elem.value]
        if all(str(v or "") in UID_dictionary or not v for v in values):
            return
        self._remap(ds, tag, st)

    # ----------------------------------------------------------------------------- finish
    def _finish(self, ds: Dataset, st: _State, pseudonym: str, outcome: FileOutcome) -> None:
        store = _store(ds)
        actions = self._actions
        for tag in (PATIENT_ID, PATIENT_NAME):
            if actions.get(tag) not in (Action.KEEP, Action.REPLACE):
                store[BaseTag(tag)] = DataElement(
                    tag, "LO" if tag == PATIENT_ID else "PN", pseudonym
                )
        options = sorted(self.profile.options, key=lambda o: o.code_value)
        if not outcome.pixel_mask_applied:
            options = [o for o in options if o is not Option.CLEAN_PIXEL_DATA]
        method = [f"radgov deid; DICOM PS3.15 {EDITION} Basic Profile"]
        method += [o.cli_name for o in options]
        items = []
        for code, meaning in [BASIC_PROFILE_CODE] + [
            (o.code_value, o.code_meaning) for o in options
        ]:
            item = Dataset()
            item_store = _store(item)
            item_store[BaseTag(0x00080100)] = DataElement(0x00080100, "SH", code)
            item_store[BaseTag(0x00080102)] = DataElement(0x00080102, "SH", "DCM")
            item_store[BaseTag(0x00080104)] = DataElement(0x00080104, "LO", meaning)
            items.append(item)
        if Option.RETAIN_LONGITUDINAL_MODIFIED_DATES in options:
            temporal = "MODIFIED"
        elif Option.RETAIN_LONGITUDINAL_FULL_DATES in options:
            temporal = "UNMODIFIED"
        else:
            temporal = "REMOVED"
        store[BaseTag(0x00120062)] = DataElement(
            0x00120062, "CS", "YES"
        )  # Patient Identity Removed
        store[BaseTag(0x00120063)] = DataElement(
            0x00120063, "LO", method if len(method) > 1 else method[0]
        )
        store[BaseTag(0x00120064)] = DataElement(0x00120064, "SQ", DicomSequence(items))
        store[BaseTag(0x00280303)] = DataElement(0x00280303, "CS", temporal)
        meta = getattr(ds, "file_meta", None)
        if meta is not None:
            meta_store = _store(meta)
            for tag in list(meta_store):
                if tag not in (0x00020001, 0x00020002, 0x00020010):
                    del meta_store[tag]
            for source, target in ((0x00080016, 0x00020002), (0x00080018, 0x00020003)):
                if source in store:
                    meta_store[BaseTag(target)] = DataElement(target, "UI", ds[source].value)
