"""Reading report messages (ORU^R01, MDM^T02) and building their acknowledgements: no
database, no socket."""

from __future__ import annotations

import pytest

from radgov.gateway import hl7_reports
from radgov.gateway.hl7_reports import Unusable, ack, read_header, read_reports, unescape

MSH = "MSH|^~\\&|RIS|MAIN|RADGOV|MAIN|20260301101500||{type}|CTRL-1|P|2.5.1"


def oru(*segments: str, kind: str = "ORU^R01^ORU_R01") -> bytes:
    return "\r".join((MSH.format(type=kind), "PID|1||MRN-1", *segments)).encode()


def obr(accession: str, status: str, placer: str = "", n: int = 1) -> str:
    """An OBR with OBR-2, OBR-3, OBR-4 and OBR-25 set."""
    fields = ["OBR", str(n), placer, accession, "CT HEAD", *[""] * 20, status]
    return "|".join(fields)


def reports_of(raw: bytes) -> list[hl7_reports.ReportIn]:
    return read_reports(*read_header(raw))


def test_an_oru_gives_its_accession_text_of_tx_ft_st_lines_and_status() -> None:
    raw = oru(
        obr("ACC-1^RIS", "F", "PL-9"),
        "OBX|1|TX|REPORT||Findings: no bleed \\T\\ no mass||||||F",
        "OBX|2|NM|SCORE||5||||||F",
        "OBX|3|FT|REPORT||Impression:\\.br\\normal~second line||||||F",
        "OBX|4|ST|REPORT||Signed||||||F",
    )
    [report] = reports_of(raw)
    assert report.accession_number == "ACC-1"
    assert report.text == "Findings: no bleed & no mass\nImpression:\nnormal\nsecond line\nSigned"
    assert report.corrected is False


def test_a_corrected_report_is_an_amendment_and_obr2_stands_in_for_obr3() -> None:
    raw = oru(obr("", "C", "PL-9"), "OBX|1|TX|R||Amended text||||||C")
    [report] = reports_of(raw)
    assert (report.accession_number, report.corrected) == ("PL-9", True)


def test_two_obrs_are_two_reports() -> None:
    raw = oru(
        obr("ACC-1", "F"),
        "OBX|1|TX|R||one||||||F",
        obr("ACC-2", "F", n=2),
        "OBX|1|TX|R||two||||||F",
    )
    assert [(r.accession_number, r.text) for r in reports_of(raw)] == [
        ("ACC-1", "one"),
        ("ACC-2", "two"),
    ]


@pytest.mark.parametrize(
    ("segments", "names"),
    [
        (("OBX|1|TX|R||text||||||F",), "OBR:"),
        ((obr("", "F"), "OBX|1|TX|R||t||||||F"), "OBR-3"),
        ((obr("ACC-1", "P"), "OBX|1|TX|R||t||||||P"), "OBR-25"),
        ((obr("ACC-1", "F"), "OBX|1|NM|R||5||||||F"), "OBX-5"),
        (
            (
                obr("ACC-1", "F"),
                "OBX|1|TX|R||t||||||F",
                obr("", "F", n=2),
            ),
            "OBR-3 (OBR 2)",
        ),
    ],
)
def test_an_unusable_oru_is_refused_naming_the_segment_and_field(segments, names) -> None:
    with pytest.raises(Unusable) as refused:
        reports_of(oru(*segments))
    assert names in str(refused.value)
    assert "ACC-1" not in str(refused.value)  # no value from the message in the reason


@pytest.mark.parametrize(
    ("raw", "names"),
    [
        (b"hello", "MSH"),
        (MSH.format(type="ORU^R01").replace("2.5.1", "9.9").encode(), "MSH-12: the version"),
        (MSH.format(type="ORU^R01").replace("CTRL-1", "").encode(), "MSH-10"),
    ],
)
def test_a_message_without_a_usable_header_is_refused(raw, names) -> None:
    with pytest.raises(Unusable, match=names):
        read_header(raw)


def test_other_message_types_are_not_taken() -> None:
    with pytest.raises(Unusable, match="MSH-9") as refused:
        reports_of(oru(kind="ADT^A01"))
    assert refused.value.code.startswith("200^")


def test_an_mdm_t02_gives_one_authenticated_report() -> None:
    txa = "TXA|1|RAD|TX|||||||||DOC-1||PL-9|ACC-7||{status}"
    raw = oru(txa.format(status="AU"), "OBX|1|TX|R||Final report||||||F", kind="MDM^T02")
    [report] = reports_of(raw)
    assert (report.accession_number, report.text) == ("ACC-7", "Final report")
    with pytest.raises(Unusable, match="TXA-17"):
        reports_of(oru(txa.format(status="DI"), "OBX|1|TX|R||x||||||F", kind="MDM^T02"))


def test_unescape_keeps_an_unpaired_backslash() -> None:
    assert unescape("a\\F\\b\\E\\c\\d") == "a|b\\c\\d"


def test_the_ack_echoes_the_control_id_and_says_why_it_refused() -> None:
    _, header = read_header(oru())
    accepted = ack(header, "AA", "1 report(s) created").decode().split("\r")
    assert accepted[0].startswith("MSH|^~\\&|RADGOV|RADGOV|RIS|MAIN|")
    assert "|ACK^R01^ACK|" in accepted[0]
    assert accepted[1] == "MSA|AA|CTRL-1|1 report(s) created"
    refused = ack(header, "AE", "OBR-25: not | taken", "103^Table value not found").decode()
    assert "MSA|AE|CTRL-1|OBR-25: not \\F\\ taken" in refused
    assert "ERR|||103^Table value not found^HL70357|E||||OBR-25" in refused
