"""Products, versions and documents: each bad input is refused naming its rule, and
nothing changes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from radgov.accounts.models import User
from radgov.inventory import services
from radgov.inventory.models import Document, ModelVersion, Product
from tests.inventory.conftest import PDF, pdf_upload

pytestmark = pytest.mark.django_db

BASE = {
    "vendor": "Acme",
    "name": "BoneAge",
    "category": "quantification",
    "regulatory_pathway": "not_fda",
    "not_regulated_reason": "locally_developed",
}


def media_files() -> list[Path]:
    root = Path(settings.STORAGES["default"]["OPTIONS"]["location"]) / "inventory"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"regulatory_pathway": "fda_510k", "not_regulated_reason": ""},
            "fda_number: '' is not a FDA 510(k) number",
        ),
        (
            {"regulatory_pathway": "fda_510k", "fda_number": "K221240", "not_regulated_reason": ""},
            "fda_product_code: '' is not a three-letter FDA product code",
        ),
        (
            {"regulatory_pathway": "fda_pma", "fda_number": "K221240", "not_regulated_reason": ""},
            "P followed by 6 digits",
        ),
        (
            {"regulatory_pathway": "fda_510k"},
            "only a product that is not FDA-regulated gives a reason",
        ),
        ({"not_regulated_reason": ""}, "must say why"),
        ({"fda_number": "K221240"}, "has no FDA number"),
        ({"category": "magic"}, "category: 'magic' is not one of"),
        ({"vendor": " "}, "vendor: required"),
    ],
)
def test_product_rules(people: dict[str, User], changes: dict[str, Any], message: str) -> None:
    with pytest.raises(services.InventoryError) as err:
        services.create_product(people["admin"], **{**BASE, **changes})
    assert message in str(err.value)
    assert Product.objects.count() == 0


def test_extra_oversight_for_non_fda_and_generative(people: dict[str, User]) -> None:
    local = services.create_product(people["admin"], **BASE)
    assert local.needs_extra_oversight and not local.is_fda_regulated
    llm = services.create_product(
        people["admin"],
        **{
            **BASE,
            "name": "ReportDraft",
            "category": "generative",
            "not_regulated_reason": "generative_ai",
        },
    )
    assert llm.needs_extra_oversight
    cleared = services.create_product(
        people["admin"],
        **{
            **BASE,
            "name": "Cleared",
            "category": "cadt",
            "regulatory_pathway": "fda_de_novo",
            "fda_number": "den170073",
            "fda_product_code": "qas",
            "not_regulated_reason": "",
        },
    )
    assert not cleared.needs_extra_oversight
    assert (cleared.fda_number, cleared.fda_product_code) == ("DEN170073", "QAS")


def test_duplicate_product_refused(people: dict[str, User]) -> None:
    services.create_product(people["admin"], **BASE)
    with pytest.raises(services.InventoryError, match="already holds Acme BoneAge"):
        services.create_product(people["admin"], **{**BASE, "name": "boneage"})
    assert Product.objects.count() == 1


@pytest.mark.parametrize("who", ["tech", "physician", "vendor"])
def test_who_may_change_the_inventory(people: dict[str, User], who: str) -> None:
    with pytest.raises(services.NotPermitted):
        services.create_product(people[who], **BASE)
    assert Product.objects.count() == 0


def test_governance_member_may_change(people: dict[str, User]) -> None:
    assert services.create_product(people["gov"], **BASE).pk


def test_duplicate_version_refused(version: ModelVersion, people: dict[str, User]) -> None:
    with pytest.raises(services.InventoryError) as err:
        services.add_model_version(
            people["admin"], version.product, version="2.1", release_notes="x"
        )
    assert "version 2.1 of Acme AI HeadCheck ICH already exists" in str(err.value)
    assert "IV.B.2.a" in str(err.value)
    assert ModelVersion.objects.count() == 1


def test_version_string_never_changes(version: ModelVersion, people: dict[str, User]) -> None:
    with pytest.raises(services.InventoryError, match="cannot change"):
        services.update_model_version(people["admin"], version, version="9")
    updated = services.update_model_version(
        people["admin"], version, limitations="Not for children"
    )
    assert updated.limitations == "Not for children" and updated.version == "2.1"


@pytest.mark.parametrize("value", [1.5, -0.1, "high"])
def test_claims_are_rates(version: ModelVersion, people: dict[str, User], value: Any) -> None:
    with pytest.raises(services.InventoryError, match="claimed_sensitivity"):
        services.update_model_version(people["admin"], version, claimed_sensitivity=value)
    version.refresh_from_db()
    assert version.claimed_sensitivity == 0.9


def test_bad_criteria_name_the_key(version: ModelVersion, people: dict[str, User]) -> None:
    with pytest.raises(services.InventoryError, match="'modality': unknown key.*IV.B.2.f"):
        services.create_deployment(
            people["admin"], version, site="Main", inclusion_criteria={"modality": ["CT"]}
        )


# --- documents -------------------------------------------------------------------------------


def test_upload_stores_the_pdf_with_its_digest(
    version: ModelVersion, people: dict[str, User]
) -> None:
    doc = services.upload_document(
        people["informatics"], version, kind="ifu", version_label="Rev A", upload=pdf_upload()
    )
    import hashlib

    assert doc.sha256 == hashlib.sha256(PDF).hexdigest() and doc.size == len(PDF)
    assert doc.file.read() == PDF and doc.original_name == "ifu.pdf"


def test_not_a_pdf_is_refused(version: ModelVersion, people: dict[str, User]) -> None:
    with pytest.raises(services.InventoryError) as err:
        services.upload_document(
            people["admin"],
            version,
            kind="ifu",
            version_label="Rev A",
            upload=pdf_upload("ifu.docx", b"PK\x03\x04 a word file"),
        )
    assert "'ifu.docx' is not a PDF (it does not begin with %PDF-)" in str(err.value)
    assert "IV.F.2" in str(err.value)
    assert Document.objects.count() == 0 and media_files() == []


@pytest.mark.parametrize(
    "content, why",
    [
        (b"%PDF-1.7\nthis is a text file that starts like a PDF\n", "not a readable PDF"),
        (
            b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n",
            "not a readable PDF",
        ),
        ("empty", "no pages"),
        ("cut", "not a readable PDF"),
        ("encrypted", "encrypted"),
    ],
)
def test_what_is_not_a_readable_pdf_is_refused(
    version: ModelVersion, people: dict[str, User], content: object, why: str
) -> None:
    """Issue 11 item 11: beginning with %PDF- is not enough; the file is parsed."""
    from tests.factories import blank_pdf

    if content == "cut":
        content = PDF[: len(PDF) // 2]
    elif content == "empty":
        content = blank_pdf(pages=0)
    elif content == "encrypted":
        content = blank_pdf(password="s3cret")
    with pytest.raises(services.InventoryError) as err:
        services.upload_document(
            people["admin"], version, kind="ifu", version_label="Rev A",
            upload=pdf_upload("ifu.pdf", content),  # type: ignore[arg-type]
        )  # fmt: skip
    assert why in str(err.value) and "'ifu.pdf'" in str(err.value)
    assert Document.objects.count() == 0 and media_files() == []


def test_too_large_is_refused(
    version: ModelVersion, people: dict[str, User], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RADGOV_MAX_UPLOAD_MB", "1")
    big = PDF + b"0" * (1024 * 1024)
    with pytest.raises(services.InventoryError) as err:
        services.upload_document(
            people["admin"],
            version,
            kind="ifu",
            version_label="Rev A",
            upload=pdf_upload("big.pdf", big),
        )
    assert "'big.pdf' is 1.0 MB; the limit is 1 MB (RADGOV_MAX_UPLOAD_MB)" in str(err.value)
    assert Document.objects.count() == 0 and media_files() == []
    assert os.environ["RADGOV_MAX_UPLOAD_MB"] == "1"


def test_duplicate_document_label_refused(version: ModelVersion, people: dict[str, User]) -> None:
    services.upload_document(
        people["admin"], version, kind="ifu", version_label="Rev A", upload=pdf_upload()
    )
    with pytest.raises(services.InventoryError, match="Rev A of .* is already uploaded"):
        services.upload_document(
            people["admin"], version, kind="ifu", version_label="rev a", upload=pdf_upload()
        )
    # another kind may reuse the label
    services.upload_document(
        people["admin"], version, kind="release_notes", version_label="Rev A", upload=pdf_upload()
    )
    assert Document.objects.count() == 2


@pytest.mark.parametrize("who", ["vendor", "gov", "tech"])
def test_only_administrators_and_informatics_upload(
    version: ModelVersion, people: dict[str, User], who: str
) -> None:
    with pytest.raises(services.NotPermitted):
        services.upload_document(
            people[who], version, kind="ifu", version_label="A", upload=pdf_upload()
        )
    assert Document.objects.count() == 0


@pytest.mark.usefixtures("cache_in_memory")
def test_updating_a_deployment_locks_reads_and_writes_its_row_once_and_records_what_was_stored(
    deployment: Any, people: dict[str, User]
) -> None:
    """The row is locked and read once (select_for_update), written once, and the entry is
    appended at commit: lock the head, insert the entry and move the head (all three in one
    statement on PostgreSQL).  (The test's transaction makes the service a savepoint: two
    more.)  It took 8 and two savepoints when the service locked the chain first, the save
    read its row before and after the write, and the entry was appended on its own."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from radgov.core.models import AuditEntry

    services.create_product(people["admin"], **{**BASE, "name": "warm-up"})  # the head exists
    with CaptureQueriesContext(connection) as queries:
        services.update_deployment(people["admin"], deployment, site="Annex", routing_notes="AE X")
    kinds = [q["sql"].split()[0] for q in queries.captured_queries]
    append = ["WITH"] if connection.vendor == "postgresql" else ["SELECT", "INSERT", "UPDATE"]
    assert kinds == ["SAVEPOINT", "SELECT", "UPDATE", *append, "RELEASE"]
    entry = AuditEntry.objects.order_by("-seq").first()
    assert entry.changes == {
        "routing_notes": ["", "AE X"],
        "site": ["Main hospital", "Annex"],
    }
