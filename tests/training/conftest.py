from __future__ import annotations

import pytest

from radgov.core.roles import Role
from radgov.training import services
from tests.factories import make_user
from tests.training.helpers import ago, make_version, upload_ifu


@pytest.fixture
def world(db):  # type: ignore[no-untyped-def]
    """An administrator, a model version with IFU version 3 and a physician procedure."""
    admin = make_user("admin", role=Role.ADMINISTRATOR)
    mv = make_version()
    ifu = upload_ifu(mv, "3", at=ago(days=400))
    procedure = services.create_procedure(
        admin,
        model_version=mv,
        title="ICH Triage for radiologists",
        content="Inputs, outputs, limitations; ten worked cases.",
        complexity="basic",
        complexity_note="Triage changes worklist order: readers must know its failure modes.",
        required_roles=[Role.PHYSICIAN],
        self_attestation=True,
    )
    return {"admin": admin, "mv": mv, "ifu": ifu, "procedure": procedure}
