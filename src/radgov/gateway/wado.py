"""Asking a model's DICOMweb service for the results it made of a study, outside any
transaction: QIDO-RS for the study's series and the instances of its result series (PS3.18
10.6, ``GET {studies}/{study}/series`` and ``.../series/{series}/instances``,
``application/dicom+json``), WADO-RS for one of them (PS3.18
10.4, ``GET {studies}/{study}/series/{series}/instances/{instance}``, ``multipart/related;
type="application/dicom"``).

The base is the endpoint's STOW-RS studies URL; the credentials and TLS are the STOW's
(``stow.exchange``).  Answers are bounded (``stow.MAX_ANSWER_BYTES`` for a search, the
listener's dataset limit for an instance).  Anything unexpected raises ``AnswerError``
whose message says what, with the host, status codes and sizes only: never a UID, never
patient data (a search answer holds names and identifiers; none of it is kept).
"""

from __future__ import annotations

import email.message
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import pydicom
from pydicom.dataset import Dataset

from radgov.gateway import stow

SOP_CLASS, SOP_INSTANCE, SERIES, MODALITY = "00080016", "00080018", "0020000E", "00080060"
RESULT_MODALITIES = ("SR", "SEG", "OT")  # a model's structured report, segmentation, capture
SEARCH_TYPE, INSTANCE_TYPE = "application/dicom+json", 'multipart/related; type="application/dicom"'
PLAIN_JSON = "application/json"  # what some services answer a search with
PREAMBLE_BYTES, META_HEADER_BYTES = 132, 12  # 128 + "DICM"; (0002,0000) UL 4


class AnswerError(Exception):
    """The service's answer cannot be used; the message says why, in words."""


@dataclass(frozen=True)
class Found:
    """One instance of the study, as a search answered it."""

    series_uid: str
    sop_uid: str
    sop_class_uid: str


@dataclass(frozen=True)
class Retrieved:
    """One instance as retrieved: its File Meta Information and dataset as encoded."""

    dataset: Dataset
    meta: bytes
    encoded: bytes


def _where(url: str) -> str:
    return f"the model's STOW-RS service at {urlsplit(url).hostname or ''}"


def _get(url: str, accept: str, *, authorization: str, timeout: float, limit: int) -> bytes:
    """The answer's bytes to a GET of ``url``, checked: 200, of the type asked (a search's
    also as plain JSON), in bounds (204 No Content: empty)."""
    headers = {"Accept": accept, **({"Authorization": authorization} if authorization else {})}
    try:
        status, kind, text = stow.exchange(url, headers=headers, timeout=timeout, limit=limit)
    except stow.Unreached as exc:
        raise AnswerError(str(exc)) from None
    if status == 204:
        return b""
    if status != 200:
        raise AnswerError(f"{_where(url)} answered HTTP {status}")
    if len(text) > limit:
        raise AnswerError(f"{_where(url)} answered more than {limit // 1024} KB")
    given = kind.split(";")[0].strip().lower()
    if given != accept.split(";")[0] and not (accept == SEARCH_TYPE and given == PLAIN_JSON):
        raise AnswerError(f"{_where(url)} answered {kind.split(';')[0][:60] or 'no type'}")
    return text


def search(studies_url: str, study_uid: str, *, authorization: str, timeout: float) -> list[Found]:
    """Every instance of the study's result series (QIDO-RS): its series first, then the
    instances of each series whose Modality is SR, SEG or OT (a study's images are never
    listed, so the answers stay small however large the study)."""
    study = f"{studies_url.rstrip('/')}/{quote(study_uid)}"
    asked = {"authorization": authorization, "timeout": timeout}
    found = []
    for n, item in enumerate(_search(f"{study}/series", **asked), start=1):
        series = _uid(item, SERIES)
        if series is None:
            raise AnswerError(f"{_where(study)} answered a search whose series {n} has no UID")
        if _value(item, MODALITY) not in RESULT_MODALITIES:
            continue
        url = f"{study}/series/{quote(series)}/instances"
        for m, one in enumerate(_search(url, **asked), start=1):
            sop, sop_class = _uid(one, SOP_INSTANCE), _uid(one, SOP_CLASS)
            if sop is None or sop_class is None:
                raise AnswerError(
                    f"{_where(url)} answered a search whose instance {m} lacks its instance "
                    "or SOP class UID"
                )
            found.append(Found(series, sop, sop_class))
    return found


def _search(url: str, *, authorization: str, timeout: float) -> list[Any]:
    """The items of one search's answer (a JSON list, up to ``stow.MAX_ANSWER_BYTES``)."""
    text = _get(
        url, SEARCH_TYPE, authorization=authorization, timeout=timeout, limit=stow.MAX_ANSWER_BYTES
    )
    try:
        answer = json.loads(text) if text.strip() else []
    except ValueError:
        raise AnswerError(f"{_where(url)} answered a search with invalid JSON") from None
    if not isinstance(answer, list):
        raise AnswerError(f"{_where(url)} answered a search with something else than a list")
    return answer


def _value(item: Any, tag: str) -> str | None:
    element = item.get(tag) if isinstance(item, dict) else None
    value = element.get("Value") if isinstance(element, dict) else None
    if not (isinstance(value, list) and value and isinstance(value[0], str)):
        return None
    return value[0].strip()


def _uid(item: Any, tag: str) -> str | None:
    uid = _value(item, tag)
    return uid if uid and len(uid) <= 64 and set(uid) <= set("0123456789.") else None


def retrieve(
    studies_url: str,
    study_uid: str,
    found: Found,
    *,
    authorization: str,
    timeout: float,
    max_bytes: int,
) -> Retrieved:
    """One instance (WADO-RS), checked to be the one asked for, of this study."""
    url = "/".join(
        [
            studies_url.rstrip("/"),
            quote(study_uid),
            "series",
            quote(found.series_uid),
            "instances",
            quote(found.sop_uid),
        ]
    )
    text = _get(url, INSTANCE_TYPE, authorization=authorization, timeout=timeout, limit=max_bytes)
    retrieved = part10(first_part(text, url), url)
    ds = retrieved.dataset
    uids = (ds.get("StudyInstanceUID"), ds.get("SOPInstanceUID"), ds.get("SOPClassUID"))
    if tuple(str(uid or "") for uid in uids) != (study_uid, found.sop_uid, found.sop_class_uid):
        raise AnswerError(f"{_where(url)} answered another instance than the one asked for")
    return retrieved


def first_part(text: bytes, url: str) -> bytes:
    """The content of the first part of a multipart/related answer (its boundary is the
    delimiter line that opens it)."""
    if not text.startswith(b"--"):
        raise AnswerError(f"{_where(url)} answered an instance that is not multipart")
    delimiter, _, rest = text.partition(b"\r\n")
    headers, found, content = rest.partition(b"\r\n\r\n")
    end = content.find(b"\r\n" + delimiter)
    if not found or end < 0 or not _dicom_part(headers.decode("latin-1").split("\r\n")):
        raise AnswerError(f"{_where(url)} answered an instance that is not application/dicom")
    return content[:end]


def _dicom_part(lines: Iterable[str]) -> bool:
    message = email.message.Message()
    for line in lines:
        name, _, value = line.partition(":")
        message[name.strip()] = value.strip()
    return message.get_content_type() == "application/dicom"


def part10(data: bytes, url: str) -> Retrieved:
    """A DICOM Part 10 file split into its File Meta Information and its dataset, as
    encoded (the spool keeps them as they are)."""
    try:
        dataset = pydicom.dcmread(io.BytesIO(data))
        start = (
            PREAMBLE_BYTES
            + META_HEADER_BYTES
            + int(dataset.file_meta.FileMetaInformationGroupLength)
        )
    except Exception:  # noqa: BLE001 - anything pydicom cannot read is not an instance
        raise AnswerError(f"{_where(url)} answered an instance that is not a DICOM file") from None
    if data[128:132] != b"DICM" or start >= len(data):
        raise AnswerError(f"{_where(url)} answered an instance that is not a DICOM file")
    return Retrieved(dataset, data[PREAMBLE_BYTES:start], data[start:])
