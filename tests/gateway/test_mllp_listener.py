"""The MLLP listener: a registered RIS's ORU^R01 stored in monitoring and answered AA after
the commit; an unusable message answered AE naming the field, changing nothing; an unknown
peer, or one off the approved networks, answered AR with a security alert.  One real-socket
exchange on a free port; the rest calls the listener's answer directly."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from radgov.core import machines
from radgov.core.models import AuditEntry
from radgov.gateway import mllp
from radgov.gateway.mllp_listener import MllpListener
from radgov.monitoring import intake
from radgov.monitoring.models import Report
from tests.gateway.conftest import free_port

MSH = "MSH|^~\\&|RIS|MAIN|RADGOV|MAIN|20260301101500||ORU^R01^ORU_R01|{control}|P|2.5.1"


def oru(accession: str, text: str, *, status: str = "F", control: str = "CTRL-1") -> bytes:
    obr = "|".join(["OBR", "1", "", accession, "CT HEAD", *[""] * 20, status])
    obx = f"OBX|1|TX|REPORT||{text}||||||{status}"
    return "\r".join((MSH.format(control=control), "PID|1||MRN-1", obr, obx)).encode()


def msa(answer: bytes) -> list[str]:
    return answer.decode().split("\r")[1].split("|")


def report_text(accession: str) -> str | None:
    found = Report.objects.filter(accession_hash=intake.accession_hash(accession)).first()
    return found.text if found else None


@pytest.fixture
def ris(db):
    return machines.register(
        None,
        kind="mllp_peer",
        name="mllp:RIS",
        address="127.0.0.1",
        application="RIS^MAIN",
        grants=["gateway.report"],
    )


def test_a_final_then_a_corrected_report_are_stored_and_acknowledged(ris) -> None:
    listener = MllpListener(port=0)
    answer, keep_open = listener.answer(oru("ACC-1", "No acute bleed."), "127.0.0.1")
    assert msa(answer)[:3] == ["MSA", "AA", "CTRL-1"]
    assert "created" in msa(answer)[3]
    assert keep_open
    assert report_text("ACC-1") == "No acute bleed."
    answer, _ = listener.answer(
        oru("ACC-1", "Small subdural bleed.", status="C", control="CTRL-2"), "127.0.0.1"
    )
    assert msa(answer)[:4] == ["MSA", "AA", "CTRL-2", "1 report(s) amended"]
    assert report_text("ACC-1") == "Small subdural bleed."
    assert Report.objects.get().source == "hl7"


def test_an_unusable_message_is_answered_ae_naming_the_field_and_changes_nothing(ris) -> None:
    answer, keep_open = MllpListener(port=0).answer(oru("ACC-1", "Draft.", status="P"), "127.0.0.1")
    assert msa(answer)[:2] == ["MSA", "AE"]
    assert "OBR-25" in msa(answer)[3]
    assert keep_open
    assert not Report.objects.exists()


@pytest.mark.parametrize("case", ["unregistered", "no grant", "other application", "network"])
def test_a_peer_that_may_not_send_is_answered_ar_with_a_security_alert(
    db, settings, monkeypatch, case
) -> None:
    grants = [] if case == "no grant" else ["gateway.report"]
    application = "OTHER^SITE" if case == "other application" else "RIS^MAIN"
    if case != "unregistered":
        machines.register(
            None,
            kind="mllp_peer",
            name="mllp:RIS",
            address="127.0.0.1",
            application=application,
            grants=grants,
        )
    if case == "network":
        monkeypatch.setenv("RADGOV_MLLP_NETWORKS", "10.0.0.0/8")
    answer, keep_open = MllpListener(port=0).answer(oru("ACC-1", "Text."), "127.0.0.1")
    assert msa(answer)[:3] == ["MSA", "AR", "CTRL-1"]
    assert not keep_open
    assert not Report.objects.exists()
    assert AuditEntry.objects.filter(event_code="110113", outcome__in=["failure", "denied"])


@pytest.mark.django_db(transaction=True)
def test_a_report_sent_over_a_real_socket_is_stored_before_its_aa() -> None:
    machines.register(
        None, kind="mllp_peer", name="mllp:RIS", address="127.0.0.1", grants=["gateway.report"]
    )
    listener = MllpListener(port=free_port(), max_bytes=4096)
    listener.start()
    try:
        answer = mllp.exchange("127.0.0.1", listener.port, oru("ACC-9", "Normal."), timeout=10)
        assert msa(answer)[:3] == ["MSA", "AA", "CTRL-1"]
        assert report_text("ACC-9") == "Normal."
        too_big = mllp.exchange("127.0.0.1", listener.port, oru("ACC-8", "x" * 5000), timeout=10)
        assert msa(too_big)[1] == "AE"
        assert "longer than 4096 bytes" in too_big.decode()
        assert report_text("ACC-8") is None
    finally:
        listener.stop()


def test_the_command_refuses_a_port_out_of_range() -> None:
    with pytest.raises(CommandError, match="MLLP port must be 1 to 65535"):
        call_command("gateway", "mllp", "--port", "70000")


def test_settings_come_from_the_environment_and_the_command_overrides_them(monkeypatch) -> None:
    from radgov.gateway.listener import Listener

    monkeypatch.setenv("RADGOV_MLLP_MAX_KB", "2")
    monkeypatch.setenv("RADGOV_DICOM_PORT", "11112")
    monkeypatch.setenv("RADGOV_DICOM_AE_TITLE", "FROM_ENV")
    mllp_listener = MllpListener.from_settings(port=2575, host=None)
    assert (mllp_listener.port, mllp_listener.host, mllp_listener.max_bytes) == (
        2575,
        "127.0.0.1",
        2048,
    )
    dicom = Listener.from_settings(ae_title="GIVEN", site=None)
    assert (dicom.port, dicom.ae_title) == (11112, "GIVEN")
    monkeypatch.delenv("RADGOV_MLLP_PORT", raising=False)
    with pytest.raises(ValueError, match="RADGOV_MLLP_PORT"):
        MllpListener.from_settings()  # no port set and none given: refused, not guessed
