"""Documents of a model version (IFU, release notes...), kept as readable PDF (IV.F.2)."""

from __future__ import annotations

import hashlib
from typing import IO, Any

from radgov.core import config
from radgov.core.services import service
from radgov.inventory.lifecycle import NotPermitted
from radgov.inventory.models import Document, DocumentKind, ModelVersion
from radgov.inventory.services import common
from radgov.inventory.services.errors import InventoryError

PDF_MAGIC = b"%PDF-"


def _sha256(fh: IO[bytes]) -> tuple[str, int, bytes]:
    digest, size, head = hashlib.sha256(), 0, b""
    fh.seek(0)
    while chunk := fh.read(1024 * 1024):
        if not head:
            head = chunk[: len(PDF_MAGIC)]
        digest.update(chunk)
        size += len(chunk)
    fh.seek(0)
    return digest.hexdigest(), size, head


def _check_size(name: str, size: int | None) -> None:
    if size is not None and size > config.max_upload_bytes():
        raise InventoryError(
            f"{name!r} is {size / 1048576:.1f} MB; the limit is "
            f"{config.get_int('RADGOV_MAX_UPLOAD_MB')} MB (RADGOV_MAX_UPLOAD_MB)"
        )


def _check_readable_pdf(fh: IO[bytes], name: str) -> None:
    """Parse the PDF (pypdf): refuse one that cannot be read, is encrypted or has no page,
    saying which.  A file that only begins with %PDF- is not a document anyone can open."""
    import logging

    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    problem = None
    pypdf_log = logging.getLogger("pypdf")
    level = pypdf_log.level
    pypdf_log.setLevel(logging.ERROR)  # its warnings about a broken file say nothing more
    try:
        fh.seek(0)
        reader = PdfReader(fh, strict=False)
        if reader.is_encrypted:
            problem = "it is encrypted; upload it without a password (IV.F.2: readable by all)"
        elif len(reader.pages) == 0:
            problem = "it has no pages"
        else:
            reader.pages[0].mediabox  # noqa: B018 - the first page must be readable
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        problem = f"not a readable PDF ({type(exc).__name__}: {str(exc)[:120]!r})"
    except RecursionError:
        problem = "not a readable PDF (its structure nests without end)"
    finally:
        pypdf_log.setLevel(level)
        fh.seek(0)
    if problem:
        reason = problem if problem.startswith("not a readable") else f"not usable: {problem}"
        raise InventoryError(f"{name!r} is {reason}; the IFU and other documents are kept as PDF")


@service
def upload_document(
    user: Any,
    model_version: ModelVersion,
    *,
    kind: str,
    version_label: str,
    upload: Any,
    title: str = "",
) -> Document:
    """Store a PDF (IFU, release notes...) for ``model_version``.

    ``upload`` is a Django ``UploadedFile`` (or any file object with ``name``).  A file that
    is not a PDF, is larger than ``RADGOV_MAX_UPLOAD_MB`` or repeats a version label of the
    same kind is refused and nothing is stored.
    """
    from django.core.files import File

    if not common.can_upload(user):
        raise NotPermitted("only administrators and imaging informatics upload documents")
    if kind not in DocumentKind.values:
        raise InventoryError(f"kind: {kind!r} is not one of {', '.join(DocumentKind.values)}")
    label = (version_label or "").strip()
    if not label:
        raise InventoryError("version_label: required (documents are versioned, IV.F.2)")
    name = str(getattr(upload, "name", "") or "document.pdf").rsplit("/", 1)[-1][:255]
    _check_size(name, getattr(upload, "size", None))  # as declared, before reading it
    sha, size, head = _sha256(upload)
    _check_size(name, size)
    if size == 0:
        raise InventoryError(f"{name!r} is empty")
    if head != PDF_MAGIC:
        raise InventoryError(
            f"{name!r} is not a PDF (it does not begin with %PDF-); the IFU and other documents "
            "are kept as PDF (IV.F.2)"
        )
    _check_readable_pdf(upload, name)
    same = Document.objects.filter(
        model_version=model_version, kind=kind, version_label__iexact=label
    ).first()
    if same is not None:
        raise InventoryError(
            f"{DocumentKind(kind).label} {same.version_label} of {model_version} is already "
            "uploaded; "
            "give the new document its own version label"
        )
    doc = Document(
        model_version=model_version,
        kind=kind,
        version_label=label,
        title=(title or "").strip(),
        original_name=name,
        size=size,
        sha256=sha,
        uploaded_by=user,
    )
    doc.file.save(f"{sha}.pdf", File(upload, name=name), save=False)
    try:
        doc.save()
    except Exception:
        doc.file.storage.delete(doc.file.name)
        raise
    return doc
