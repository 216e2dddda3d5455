"""The MLLP listener: a registered RIS's ORU^R01 stored in monitoring and answered AA after
the commit; an unusable message answered AE naming the field, changing nothing; an unknown
peer, or one off the approved networks, answered AR with a security alert.  One real-socket
exchange on a free port; the rest calls the listener's answer directly."""

from __future__ import annotations

import socket

import pytest
from django.core.management import CommandError, call_command

from radgov.core import machines
from radgov.core.models import AuditEntry
from radgov.gateway import mllp
from radgov.gateway.mllp_listener import MllpListener
from radgov.gateway.models import Hl7Message
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


def test_a_message_sent_again_is_acknowledged_without_undoing_a_later_correction(ris) -> None:
    listener = MllpListener(port=0)
    first = oru("ACC-1", "No acute bleed.", control="C1")
    listener.answer(first, "127.0.0.1")
    listener.answer(oru("ACC-1", "Small subdural bleed.", status="C", control="C2"), "127.0.0.1")
    answer, keep_open = listener.answer(first, "127.0.0.1")  # its AA was lost; sent again
    assert msa(answer)[1:4] == ["AA", "C1", "already stored: this message was received before"]
    assert keep_open
    assert report_text("ACC-1") == "Small subdural bleed."  # not taken back to the first text
    assert Hl7Message.objects.count() == 2


def test_another_message_reusing_a_control_id_is_refused_naming_msh_10(ris) -> None:
    listener = MllpListener(port=0)
    listener.answer(oru("ACC-1", "No acute bleed.", control="C1"), "127.0.0.1")
    answer, _ = listener.answer(oru("ACC-2", "Normal.", control="C1"), "127.0.0.1")
    assert msa(answer)[1:3] == ["AE", "C1"]
    assert msa(answer)[3].startswith("MSH-10: this control id came before with other reports")
    assert "205^Duplicate key identifier" in answer.decode()
    assert report_text("ACC-2") is None
    # the same control id from another sender is another message
    other = oru("ACC-3", "Normal.", control="C1").replace(b"|RIS|MAIN|", b"|RIS2|MAIN|")
    machines.register(
        None, kind="mllp_peer", name="mllp:RIS2", address="127.0.0.2",
        application="RIS2^MAIN", grants=["gateway.report"],
    )  # fmt: skip
    answer, _ = listener.answer(other, "127.0.0.2")
    assert msa(answer)[1:4] == ["AA", "C1", "1 report(s) created"]


def test_a_message_twice_in_one_group_is_stored_once(ris) -> None:
    twice = oru("ACC-1", "No acute bleed.", control="C1")
    answers = MllpListener(port=0).answer_all([twice, twice], "127.0.0.1")
    assert [msa(answer)[1] for answer, _ in answers] == ["AA", "AA"]
    assert msa(answers[0][0])[3] == "1 report(s) created"
    assert msa(answers[1][0])[3].startswith("already stored")
    assert Report.objects.count() == 1
    assert list(Hl7Message.objects.values_list("application", "control_id")) == [("RIS^MAIN", "C1")]


@pytest.mark.parametrize(
    ("raw", "names"),
    [
        (oru("ACC-1", "Draft.", status="P"), "OBR-25"),
        (oru("ACC-1", "").replace(b"OBX|1|TX|", b"OBX|1|NM|"), "OBX-5"),  # no OBX text
        (oru("ACC-1", "x").rsplit(b"\r", 1)[0], "OBX-5"),  # no OBX at all
        (oru("ACC-1", "x" * 100_001), "text: is longer than 100,000 characters"),
        (oru("ACC-1", "x").replace(b"|^~\\&|", b"|^~\\#|"), "MSH-1, MSH-2"),
        (oru("ACC-1", "x").replace(b"\rPID", b"\x08PID"), "MSH (segment 1): holds control"),
        (oru("ACC-1", "x").replace(b"\rPID", b"PID"), "MSH-12"),  # a lost segment break
    ],
)
def test_an_unusable_message_is_answered_ae_naming_the_field_and_changes_nothing(
    ris, raw, names
) -> None:
    answer, keep_open = MllpListener(port=0).answer(raw, "127.0.0.1")
    assert msa(answer)[1] == "AE"
    assert names in msa(answer)[3]
    assert "ACC-1" not in answer.decode() and "MRN-1" not in answer.decode()
    assert keep_open
    assert not Report.objects.exists()


def test_messages_received_together_are_answered_in_order_each_all_or_none(ris) -> None:
    listener = MllpListener(port=0)
    answers = listener.answer_all(
        [
            oru("ACC-1", "No acute bleed.", control="C1"),
            oru("ACC-2", "Draft.", status="P", control="C2"),
            oru("ACC-1", "Small subdural bleed.", status="C", control="C3"),
            oru("ACC-3", "Normal.", control="C4"),
        ],
        "127.0.0.1",
    )
    assert [msa(answer)[1:4] for answer, _ in answers] == [
        ["AA", "C1", "1 report(s) created"],
        [
            "AE",
            "C2",
            "OBR-25: result status is not taken: only final (F) and corrected (C) reports",
        ],
        ["AA", "C3", "1 report(s) amended"],  # after the first, as sent
        ["AA", "C4", "1 report(s) created"],
    ]
    assert report_text("ACC-1") == "Small subdural bleed."
    assert report_text("ACC-2") is None
    batch = AuditEntry.objects.filter(object_type="monitoring.report").get()
    assert batch.detail["messages"] == ["C1", "C3", "C4"]  # control ids, never a value


def test_a_report_for_an_unknown_accession_is_kept_and_shown_until_its_exam_comes(ris) -> None:
    from radgov.monitoring import selectors

    answer, _ = MllpListener(port=0).answer(oru("ACC-NEW", "No acute bleed."), "127.0.0.1")
    assert msa(answer)[1:4] == ["AA", "CTRL-1", "1 report(s) created"]
    assert Report.objects.get().exam is None
    assert selectors.reports_waiting_for_exam() == 1


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
        # pipelined: three frames in one send, then bytes that are not a frame
        sent = [oru(f"ACC-P{n}", "Normal.", control=f"P{n}") for n in range(3)]
        with socket.create_connection(("127.0.0.1", listener.port), timeout=10) as sock:
            sock.sendall(b"".join(map(mllp.frame, sent)) + b"GET / HTTP/1.1\r\n")
            reader, answers = mllp.FrameReader(), []
            while data := sock.recv(65536):
                answers += reader.feed(data)
        assert [msa(a)[1:3] for a in answers[:3]] == [["AA", f"P{n}"] for n in range(3)]
        assert msa(answers[3])[1] == "AE" and "outside an MLLP frame" in answers[3].decode()
        assert len(answers) == 4
        assert report_text("ACC-P2") == "Normal."
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
