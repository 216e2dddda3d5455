"""Type 1 / Type 2 attributes of the common IODs, for resolving combined actions.

Only attributes that appear in Table E.1-1 matter here, and only the IODs radgov meets most
(image IODs, enhanced multi-frame images, SEG, SR, presentation states, RT).  The lists come
from the module tables of DICOM PS3.3 (Patient, General Study, General Series, SOP Common,
General Image, Multi-frame Functional Groups, Enhanced General Equipment, SR Document General,
Presentation State Identification, Structure Set, RT General Plan, RT ROI Observations).  A
conditional Type (1C/2C) counts as its base Type: replacing a present attribute with a dummy or
an empty value is always allowed, deleting it may not be.

An attribute not listed for the file's SOP Class is treated as Type 3 (removal allowed).
"""

from __future__ import annotations

# Patient, General Study modules: in every composite IOD.
_COMMON_TYPE2 = frozenset(
    {
        0x00100010,  # Patient's Name
        0x00100020,  # Patient ID
        0x00100030,  # Patient's Birth Date
        0x00100040,  # Patient's Sex
        0x00080020,  # Study Date
        0x00080030,  # Study Time
        0x00080090,  # Referring Physician's Name
        0x00200010,  # Study ID
        0x00080050,  # Accession Number
    }
)

_IMAGE_TYPE2 = frozenset({0x00080023, 0x00080033})  # Content Date/Time (General Image, 2C)

# Enhanced General Equipment (Type 1) + Multi-frame Functional Groups content date/time.
_ENHANCED_TYPE1 = frozenset(
    {
        0x00181000,  # Device Serial Number
        0x00080023,  # Content Date
        0x00080033,  # Content Time
        0x0008002A,  # Acquisition DateTime (Enhanced MR/CT/XA image modules, 1C)
    }
)

_SR_TYPE1 = frozenset(
    {
        0x00080023,  # Content Date
        0x00080033,  # Content Time
        0x0040A075,  # Verifying Observer Name (1C)
        0x0040A030,  # Verification DateTime (1C)
    }
)
_SR_TYPE2 = frozenset(
    {
        0x0040A027,  # Verifying Organization (2C)
        0x0040A088,  # Verifying Observer Identification Code Sequence (2C)
        0x00081111,  # Referenced Performed Procedure Step Sequence (SR Document Series, 2)
    }
)

_SEG_TYPE1 = _ENHANCED_TYPE1
_SEG_TYPE2 = frozenset({0x00700084})  # Content Creator's Name

_PR_TYPE1 = frozenset({0x00700082, 0x00700083})  # Presentation Creation Date/Time
_PR_TYPE2 = frozenset({0x00700084})  # Content Creator's Name

_RTSTRUCT_TYPE1 = frozenset({0x30060002})  # Structure Set Label
_RTSTRUCT_TYPE2 = frozenset(
    {
        0x30060008,  # Structure Set Date
        0x30060009,  # Structure Set Time
        0x30060026,  # ROI Name
        0x300600A6,  # ROI Interpreter
        0x00081070,  # Operators' Name (RT Series, 2)
    }
)
_RTPLAN_TYPE1 = frozenset({0x300A0002})  # RT Plan Label
_RTPLAN_TYPE2 = frozenset(
    {
        0x300A0006,  # RT Plan Date
        0x300A0007,  # RT Plan Time
        0x300A00B2,  # Treatment Machine Name (Beam Sequence, 2)
        0x00081070,  # Operators' Name (RT Series, 2)
    }
)
_RT_SERIES_TYPE2 = frozenset({0x00081070})

_ENHANCED_IMAGE_CLASSES = (
    "1.2.840.10008.5.1.4.1.1.2.1",  # Enhanced CT
    "1.2.840.10008.5.1.4.1.1.2.2",  # Legacy Converted Enhanced CT
    "1.2.840.10008.5.1.4.1.1.4.1",  # Enhanced MR
    "1.2.840.10008.5.1.4.1.1.4.3",  # Enhanced MR Color
    "1.2.840.10008.5.1.4.1.1.4.4",  # Legacy Converted Enhanced MR
    "1.2.840.10008.5.1.4.1.1.12.1.1",  # Enhanced XA
    "1.2.840.10008.5.1.4.1.1.12.2.1",  # Enhanced XRF
    "1.2.840.10008.5.1.4.1.1.130",  # Enhanced PET
    "1.2.840.10008.5.1.4.1.1.128.1",  # Legacy Converted Enhanced PET
    "1.2.840.10008.5.1.4.1.1.6.2",  # Enhanced US Volume
    "1.2.840.10008.5.1.4.1.1.77.1.6",  # VL Whole Slide Microscopy
)

_SR_PREFIX = "1.2.840.10008.5.1.4.1.1.88."
_PR_PREFIX = "1.2.840.10008.5.1.4.1.1.11."
_SEG_CLASS = "1.2.840.10008.5.1.4.1.1.66.4"
_RTSTRUCT_CLASS = "1.2.840.10008.5.1.4.1.1.481.3"
_RTPLAN_CLASSES = ("1.2.840.10008.5.1.4.1.1.481.5", "1.2.840.10008.5.1.4.1.1.481.8")
_RT_PREFIX = "1.2.840.10008.5.1.4.1.1.481."


def attribute_types(sop_class_uid: str) -> tuple[frozenset[int], frozenset[int]]:
    """(Type 1 tags, Type 2 tags) among Table E.1-1 attributes for this SOP Class."""
    return _types(sop_class_uid)


_CACHE: dict[str, tuple[frozenset[int], frozenset[int]]] = {}


def _types(sop: str) -> tuple[frozenset[int], frozenset[int]]:
    cached = _CACHE.get(sop)
    if cached is not None:
        return cached
    type1: frozenset[int] = frozenset()
    type2: frozenset[int] = _COMMON_TYPE2
    if sop.startswith(_SR_PREFIX):
        type1, type2 = _SR_TYPE1, type2 | _SR_TYPE2
    elif sop.startswith(_PR_PREFIX):
        type1, type2 = _PR_TYPE1, type2 | _PR_TYPE2
    elif sop == _SEG_CLASS:
        type1, type2 = _SEG_TYPE1, type2 | _SEG_TYPE2
    elif sop == _RTSTRUCT_CLASS:
        type1, type2 = _RTSTRUCT_TYPE1, type2 | _RTSTRUCT_TYPE2
    elif sop in _RTPLAN_CLASSES:
        type1, type2 = _RTPLAN_TYPE1, type2 | _RTPLAN_TYPE2
    elif sop.startswith(_RT_PREFIX):
        type2 = type2 | _RT_SERIES_TYPE2 | _IMAGE_TYPE2
    elif sop in _ENHANCED_IMAGE_CLASSES:
        type1 = _ENHANCED_TYPE1
    else:
        type2 = type2 | _IMAGE_TYPE2
    result = (type1, type2 - type1)
    _CACHE[sop] = result
    return result
