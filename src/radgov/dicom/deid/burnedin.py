"""Burned-in text: which images to quarantine for review, and pixel masks that clean them.

An image is sent to review (quarantined) rather than passed as clean when

1. it declares Burned In Annotation (0028,0301) = YES; or
2. its SOP Class is one that commonly carries burned-in text (:data:`REVIEW_SOP_CLASSES`:
   the Secondary Capture family, ultrasound single and multi-frame, video and photographic
   endoscopy/microscopy, and the X-ray angiography / fluoroscopy / DX-for-presentation classes)
   and it does not declare Burned In Annotation = NO; an SC or US image is reviewed even then,
   as screenshots and ultrasound overlays are too often mislabelled; or
3. its Modality is one of :data:`REVIEW_MODALITIES` (US, SC, OT, XC, ES, GM) for the same reason.

Objects without Pixel Data (SR, RT plans...) and segmentations are never quarantined here.

The exception: with the Clean Pixel Data option, when the site configured a pixel mask for the
device (Manufacturer + Manufacturer's Model Name + Rows x Columns), the masked rectangles are
zeroed in every frame, the pixel data is rewritten uncompressed (Explicit VR Little Endian) and
Burned In Annotation is set to NO.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pydicom.dataset import Dataset

_SC = "1.2.840.10008.5.1.4.1.1.7"
ALWAYS_REVIEW_SOP_CLASSES = frozenset(
    {
        _SC,  # Secondary Capture Image
        _SC + ".1",  # Multi-frame Single Bit SC
        _SC + ".2",  # Multi-frame Grayscale Byte SC
        _SC + ".3",  # Multi-frame Grayscale Word SC
        _SC + ".4",  # Multi-frame True Color SC
        "1.2.840.10008.5.1.4.1.1.6.1",  # Ultrasound Image
        "1.2.840.10008.5.1.4.1.1.6",  # Ultrasound Image (retired)
        "1.2.840.10008.5.1.4.1.1.3.1",  # Ultrasound Multi-frame Image
        "1.2.840.10008.5.1.4.1.1.3",  # Ultrasound Multi-frame Image (retired)
        "1.2.840.10008.5.1.4.1.1.77.1.1.1",  # Video Endoscopic Image
        "1.2.840.10008.5.1.4.1.1.77.1.2.1",  # Video Microscopic Image
        "1.2.840.10008.5.1.4.1.1.77.1.4.1",  # Video Photographic Image
        "1.2.840.10008.5.1.4.1.1.77.1.4",  # VL Photographic Image
    }
)
UNLESS_DECLARED_NO_SOP_CLASSES = frozenset(
    {
        "1.2.840.10008.5.1.4.1.1.12.1",  # X-Ray Angiographic Image
        "1.2.840.10008.5.1.4.1.1.12.2",  # X-Ray Radiofluoroscopic Image
        "1.2.840.10008.5.1.4.1.1.1.1",  # Digital X-Ray Image - For Presentation
        "1.2.840.10008.5.1.4.1.1.1.2",  # Digital Mammography X-Ray Image - For Presentation
        "1.2.840.10008.5.1.4.1.1.1.3",  # Digital Intra-Oral X-Ray Image - For Presentation
    }
)
REVIEW_SOP_CLASSES = ALWAYS_REVIEW_SOP_CLASSES | UNLESS_DECLARED_NO_SOP_CLASSES
REVIEW_MODALITIES = frozenset({"US", "SC", "OT", "XC", "ES", "GM"})
_NEVER = frozenset({"1.2.840.10008.5.1.4.1.1.66.4"})  # Segmentation: synthetic pixels


@dataclass(frozen=True)
class PixelMask:
    """Rectangles (x, y, width, height) to zero for one device and image size."""

    manufacturer: str
    model: str
    rows: int
    columns: int
    regions: tuple[tuple[int, int, int, int], ...]

    def matches(self, ds: Dataset) -> bool:
        return (
            str(ds.get("Manufacturer", "")).strip() == self.manufacturer
            and str(ds.get("ManufacturerModelName", "")).strip() == self.model
            and int(ds.get("Rows", 0) or 0) == self.rows
            and int(ds.get("Columns", 0) or 0) == self.columns
        )


def review_reason(ds: Dataset, *, has_pixels: bool | None = None) -> str | None:
    """Why this image must be reviewed for burned-in text, or None when it need not be.

    ``has_pixels`` says whether the object has pixel data when ``ds`` is only its header.
    """
    if has_pixels is None:
        has_pixels = any(tag in ds for tag in (0x7FE00010, 0x7FE00008, 0x7FE00009))
    if not has_pixels:
        return None
    sop = str(ds.get("SOPClassUID", ""))
    if sop in _NEVER:
        return None
    burned = str(ds.get("BurnedInAnnotation", "")).strip().upper()
    if burned == "YES":
        return "declares Burned In Annotation = YES"
    modality = str(ds.get("Modality", "")).strip().upper()
    if sop in ALWAYS_REVIEW_SOP_CLASSES:
        return f"SOP Class {sop} commonly carries burned-in text"
    if modality in REVIEW_MODALITIES:
        return f"modality {modality} commonly carries burned-in text"
    if sop in UNLESS_DECLARED_NO_SOP_CLASSES and burned != "NO":
        return f"SOP Class {sop} may carry burned-in text and does not declare Burned In Annotation = NO"
    return None


def find_mask(ds: Dataset, masks: Sequence[PixelMask]) -> PixelMask | None:
    for mask in masks:
        if mask.matches(ds):
            return mask
    return None


def apply_mask(ds: Dataset, mask: PixelMask) -> None:
    """Zero the mask's rectangles in every frame; the pixel data ends up uncompressed."""
    if ds.file_meta.TransferSyntaxUID.is_compressed:
        ds.decompress()
    arr = ds.pixel_array.copy()
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    for x, y, w, h in mask.regions:
        if frames > 1:
            arr[:, y : y + h, x : x + w, ...] = 0
        else:
            arr[y : y + h, x : x + w, ...] = 0
    ds.PixelData = arr.tobytes()
    ds.BurnedInAnnotation = "NO"
