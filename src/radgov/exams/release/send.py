"""Sending a built release to its destination, and reading the peer's answer into words
(issue 16): C-STORE of the SR to the PACS (pynetdicom), the ORU over MLLP to the RIS (its
ACK read with hl7apy), the bundle POSTed to the EMR's FHIR endpoint (an OperationOutcome
read with ``fhir.resources``).  ``probe`` is each destination's "test connection": C-ECHO,
an MLLP round trip (a query the RIS must at least acknowledge), the FHIR ``metadata``.

Each function returns an ``Answer``: delivered or not, and what the peer said, in words
that never repeat the message (a garbled answer is described, not echoed)."""

from __future__ import annotations

import base64
import datetime as dt
import json
import ssl
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from io import BytesIO
from typing import Any

from radgov.exams.release.hl7 import build_test_message
from radgov.gateway import mllp

TIMEOUT = 30.0
MAX_ANSWER = 300


@dataclass(frozen=True)
class Answer:
    delivered: bool
    words: str


def _tls() -> ssl.SSLContext:
    return ssl.create_default_context()


# -- DICOM ------------------------------------------------------------------------------


def _association(destination: Any, contexts: list[str]) -> Any:
    from pynetdicom import AE

    ae = AE(ae_title=destination.calling_ae or "RADGOV")
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = TIMEOUT
    for uid in contexts:
        ae.add_requested_context(uid)
    tls_args = (_tls(), destination.host) if destination.tls else None
    return ae.associate(
        destination.host, int(destination.port), ae_title=destination.called_ae, tls_args=tls_args
    )


def store_sr(destination: Any, message: str) -> Answer:
    from pydicom import dcmread

    dataset = dcmread(BytesIO(base64.b64decode(message)))
    assoc = _association(destination, [str(dataset.SOPClassUID)])
    if not assoc.is_established:
        return Answer(
            False, f"the PACS {destination.called_ae} refused or did not answer the association"
        )
    try:
        status = assoc.send_c_store(dataset)
    finally:
        assoc.release()
    code = getattr(status, "Status", None)
    if code is None:
        return Answer(False, "the PACS did not answer the C-STORE")
    if code in (0x0000, 0xB000, 0xB007, 0xB006):  # success, or stored with a warning
        return Answer(True, f"stored by {destination.called_ae} (status 0x{code:04X})")
    return Answer(False, f"the PACS refused the SR (C-STORE status 0x{code:04X})")


def echo(destination: Any) -> Answer:
    assoc = _association(destination, ["1.2.840.10008.1.1"])
    if not assoc.is_established:
        return Answer(
            False, f"the PACS {destination.called_ae} refused or did not answer the association"
        )
    try:
        status = assoc.send_c_echo()
    finally:
        assoc.release()
    code = getattr(status, "Status", None)
    return Answer(code == 0, "C-ECHO answered" if code == 0 else "C-ECHO not answered")


# -- HL7 --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ack:
    code: str  # MSA-1: AA, AE, AR (or CA, CE, CR)
    said: str  # MSA-3, the RIS's words


def _ack(raw: bytes, control_id: str) -> Ack | Answer:
    """The acknowledgement of ``control_id`` in ``raw``, or why it is none (as an Answer)."""
    from hl7apy.parser import parse_message

    try:
        ack = parse_message(raw.decode("utf-8", "replace").replace("\n", "\r"), find_groups=False)
        code = ack.msa.msa_1.value
        acked = ack.msa.msa_2.value
    except Exception:  # noqa: BLE001 - any garbled answer is reported in words
        return Answer(False, "the RIS answered with something that is not an HL7 acknowledgement")
    if acked != control_id:
        return Answer(False, "the RIS acknowledged another message (MSA-2 does not match)")
    try:
        said = ack.msa.msa_3.value or ""
    except Exception:  # noqa: BLE001 - MSA-3 is optional
        said = ""
    return Ack(code, said[:200])


def read_ack(raw: bytes, control_id: str) -> Answer:
    """What an HL7 ACK says: AA/CA delivered; AE/AR/CE/CR refused, with MSA-3."""
    ack = _ack(raw, control_id)
    if isinstance(ack, Answer):
        return ack
    if ack.code in ("AA", "CA"):
        return Answer(True, f"acknowledged by the RIS ({ack.code})")
    return Answer(
        False, f"the RIS refused the message ({ack.code}){': ' + ack.said if ack.said else ''}"
    )


def _exchange(destination: Any, message: str) -> bytes | Answer:
    """One MLLP exchange with the RIS: its answer, or why there is none (as an Answer)."""
    try:
        return mllp.exchange(
            destination.host,
            int(destination.port),
            message.encode("utf-8"),
            timeout=TIMEOUT,
            tls=_tls() if destination.tls else None,
        )
    except mllp.FrameError as exc:
        return Answer(False, f"the RIS's answer is not MLLP: {exc}"[:MAX_ANSWER])
    except OSError as exc:
        return Answer(False, f"the RIS could not be reached ({type(exc).__name__})")


def send_oru(destination: Any, message: str, control_id: str) -> Answer:
    raw = _exchange(destination, message)
    return raw if isinstance(raw, Answer) else read_ack(raw, control_id)


def mllp_round_trip(destination: Any) -> Answer:
    """Send the RIS a test message (an NMQ^N01) and read its acknowledgement: any ACK of
    that message proves the round trip (a RIS may refuse the query type, AE or AR, and
    still be reachable); no answer, a garbled one or another message's ACK does not."""
    control_id = f"T{uuid.uuid4().hex[:19]}"
    message = build_test_message(control_id=control_id, at=dt.datetime.now(dt.UTC))
    raw = _exchange(destination, message)
    if isinstance(raw, Answer):
        return raw
    ack = _ack(raw, control_id)
    if isinstance(ack, Answer):
        return ack
    said = f": {ack.said}" if ack.said else ""
    return Answer(
        True, f"MLLP round trip: the RIS acknowledged the test message ({ack.code}){said}"
    )


# -- FHIR -------------------------------------------------------------------------------


def read_outcome(status: int, body: bytes) -> Answer:
    """An HTTP answer from the FHIR server, in words (an OperationOutcome's diagnostics)."""
    if 200 <= status < 300:
        return Answer(True, f"accepted by the FHIR server (HTTP {status})")
    from fhir.resources.R4B.operationoutcome import OperationOutcome

    try:
        outcome = OperationOutcome.model_validate(json.loads(body))
        said = "; ".join(
            (i.diagnostics or (i.details.text if i.details else "") or i.code)
            for i in outcome.issue
        )
        return Answer(
            False, f"the FHIR server refused the bundle (HTTP {status}): {said}"[:MAX_ANSWER]
        )
    except Exception:  # noqa: BLE001 - not an OperationOutcome: say so
        return Answer(False, f"the FHIR server answered HTTP {status} without an OperationOutcome")


def _http(destination: Any, method: str, path: str, body: bytes | None) -> Answer:
    url = destination.base_url.rstrip("/") + path
    if not url.startswith(("http://", "https://")):
        return Answer(False, "the FHIR base URL must start with http:// or https://")
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        url,
        data=body,
        method=method,
        headers={"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT, context=_tls()) as response:  # noqa: S310
            return read_outcome(response.status, response.read())
    except urllib.error.HTTPError as exc:
        return read_outcome(exc.code, exc.read())
    except OSError as exc:
        return Answer(False, f"the FHIR server could not be reached ({type(exc).__name__})")


def post_bundle(destination: Any, message: str) -> Answer:
    return _http(destination, "POST", "", message.encode("utf-8"))


def metadata(destination: Any) -> Answer:
    return _http(destination, "GET", "/metadata", None)
