"""Keyed, deterministic replacements: UIDs, patient pseudonyms, per-patient date offsets.

Everything is an HMAC-SHA256 under the de-identification key, with a distinct label per use, so
the same input under the same key gives the same output in any batch, on any machine, in any
process, and nothing can be reversed without the key (or the encrypted mapping table).

* UID: ``"2.25." + int(first 16 bytes of HMAC(key, "uid\\0" + uid))`` (a 128-bit number under the
  UUID arc 2.25, at most 44 characters).
* Patient pseudonym: ``"RG" + 16 upper-case hex digits`` of HMAC(key, "patient\\0" + id).
* Date offset: ``-(1 + n mod 730)`` days, n from HMAC(key, "dateshift\\0" + id): every date of a
  patient moves back by the same 1..730 days, so intervals between studies are kept.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

MIN_KEY_BYTES = 32
DATE_SHIFT_MAX_DAYS = 730


class KeyedMapper:
    """Keyed deterministic UID / pseudonym / date-offset derivation, with optional recording."""

    def __init__(self, key: bytes, *, record: bool = False) -> None:
        if not isinstance(key, bytes | bytearray) or len(key) < MIN_KEY_BYTES:
            raise ValueError(f"the de-identification key must be at least {MIN_KEY_BYTES} bytes")
        self._key = bytes(key)
        self._uids: dict[str, str] = {}
        self.record = record
        self.recorded_uids: dict[str, str] = {}
        self.recorded_patients: dict[str, dict[str, object]] = {}

    def _digest(self, label: bytes, value: str) -> bytes:
        return hmac.new(self._key, label + b"\0" + value.encode("utf-8"), hashlib.sha256).digest()

    def uid(self, original: str) -> str:
        original = original.strip("\0 ")
        cached = self._uids.get(original)
        if cached is None:
            cached = "2.25." + str(int.from_bytes(self._digest(b"uid", original)[:16], "big"))
            if len(self._uids) > 100_000:
                self._uids.clear()
            self._uids[original] = cached
        if self.record:
            self.recorded_uids[original] = cached
        return cached

    def pseudonym(self, patient_key: str) -> str:
        return "RG" + self._digest(b"patient", patient_key)[:8].hex().upper()

    def date_offset_days(self, patient_key: str) -> int:
        n = int.from_bytes(self._digest(b"dateshift", patient_key)[:8], "big")
        return -(1 + n % DATE_SHIFT_MAX_DAYS)

    def token(self, label: str, value: str, length: int = 8) -> str:
        """A short keyed token (upper-case hex) for cleaned identifiers such as AE titles."""
        return (
            self._digest(label.encode("ascii"), value)[: (length + 1) // 2].hex().upper()[:length]
        )

    def note_patient(self, patient_key: str, pseudonym: str, offset: int | None) -> None:
        if self.record:
            self.recorded_patients[patient_key] = {
                "pseudonym": pseudonym,
                "date_offset_days": offset,
            }

    def drain(self) -> tuple[dict[str, str], dict[str, dict[str, object]]]:
        """Return and forget what was recorded since the last drain (for the mapping table)."""
        uids, patients = self.recorded_uids, self.recorded_patients
        self.recorded_uids, self.recorded_patients = {}, {}
        return uids, patients


def shift_da(value: str, days: int) -> str:
    """Shift a DA value (YYYYMMDD; also a DA range ``A-B``) by ``days``; other text is dropped."""
    value = value.strip()
    if "-" in value:
        return "-".join(shift_da(part, days) if part else "" for part in value.split("-", 1))
    if len(value) != 8 or not value.isdigit():
        return ""
    try:
        day = dt.date(int(value[:4]), int(value[4:6]), int(value[6:8]))
    except ValueError:
        return ""
    try:
        return (day + dt.timedelta(days=days)).strftime("%Y%m%d")
    except OverflowError:
        return ""


def shift_dt(value: str, days: int) -> str:
    """Shift the date part of a DT value by ``days``, keeping time and UTC offset."""
    value = value.strip()
    if len(value) < 8 or not value[:8].isdigit():
        # A bare year or year-month: shift by whole years is not meaningful; drop precision.
        return ""
    shifted = shift_da(value[:8], days)
    return shifted + value[8:] if shifted else ""
