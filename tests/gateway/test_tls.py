"""TLS proven on real sockets (issue 14; DICOM TLS, PS3.15 B.1): a certificate authority and
server certificates are made here, and that CA is trusted explicitly.

* The DICOM listener with a certificate speaks TLS 1.2 or later: a peer trusting the CA gets
  a TLS 1.2 association (C-ECHO answered); a plain association, a peer that does not trust
  the certificate, and a TLS 1.1 handshake are refused.
* A TLS model endpoint: a study is sent over DICOM TLS to a node whose certificate is checked
  against ``RADGOV_GATEWAY_CA_FILE``; without that CA the gateway refuses the node.
* A STOW-RS endpoint over HTTPS (a real Orthanc with its DICOMweb plugin behind nginx's TLS):
  the study is stored when the CA is trusted, refused naming the certificate when it is not."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import socket
import ssl
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.utils import timezone
from pynetdicom import AE, evt
from pynetdicom.presentation import AllStoragePresentationContexts
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

from radgov.exams.models import Inference
from radgov.gateway import delivery, polling, stow
from radgov.gateway.listener import Listener
from tests.exams.peers import DICOMWEB_PLUGIN, get, running_orthanc, wait_for_port
from tests.gateway.conftest import SITE, dicom_peers, free_port, set_endpoint
from tests.integration.test_proxy import NGINX_CONF

pytestmark = pytest.mark.django_db(transaction=True)


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_ca(folder: Path, common: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common))
        .issuer_name(_name(common))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    (folder / f"{common}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key, cert


def make_server(
    folder: Path, ca: tuple[ec.EllipticCurvePrivateKey, x509.Certificate]
) -> tuple[Path, Path]:
    """A certificate for localhost and 127.0.0.1 signed by ``ca``: (cert file, key file)."""
    ca_key, ca_cert = ca
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    cert_file, key_file = folder / "server.pem", folder / "server.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@pytest.fixture
def pki(tmp_path: Path) -> dict[str, Path]:
    """The practice's CA (trusted), a stranger's CA (not), and a server certificate that the
    practice's CA signed."""
    folder = tmp_path / "pki"
    folder.mkdir()
    ca = make_ca(folder, "radgov-test-ca")
    make_ca(folder, "stranger-ca")
    cert, key = make_server(folder, ca)
    return {
        "ca": folder / "radgov-test-ca.pem",
        "stranger": folder / "stranger-ca.pem",
        "cert": cert,
        "key": key,
    }


def client(ca: Path, *, highest: ssl.TLSVersion | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(ca))
    if highest is not None:
        context.maximum_version = highest
    return context


def echo(port: int, tls: tuple[ssl.SSLContext, str] | None) -> tuple[bool, str]:
    """C-ECHO the listener as the registered CT_MAIN: (established, TLS version)."""
    ae = AE(ae_title="CT_MAIN")
    ae.add_requested_context(Verification)
    ae.acse_timeout = ae.network_timeout = 5
    assoc = ae.associate("127.0.0.1", port, ae_title="RADGOV", tls_args=tls)
    if not assoc.is_established:
        return False, ""
    try:
        version = assoc.dul.socket.socket.version()
        assert assoc.send_c_echo().Status == 0x0000
    finally:
        assoc.release()
    return True, version


def test_the_listener_speaks_tls_12_or_later_only(pki, tmp_path) -> None:
    dicom_peers("CT_MAIN")
    listener = Listener(
        port=free_port(),
        site=SITE,
        base=tmp_path / "spool",
        tls_cert=str(pki["cert"]),
        tls_key=str(pki["key"]),
    )
    listener.start()
    try:
        assert echo(listener.port, (client(pki["ca"]), "localhost"))[0]
        tls12 = client(pki["ca"], highest=ssl.TLSVersion.TLSv1_2)
        assert echo(listener.port, (tls12, "localhost")) == (True, "TLSv1.2")
        assert echo(listener.port, None) == (False, "")  # plain DICOM
        assert echo(listener.port, (client(pki["stranger"]), "localhost")) == (False, "")
        old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        old.load_verify_locations(pki["ca"])
        old.set_ciphers("DEFAULT:@SECLEVEL=0")
        with pytest.warns(DeprecationWarning, match="TLSv1_1"):
            old.minimum_version = old.maximum_version = ssl.TLSVersion.TLSv1_1
        with (
            socket.create_connection(("127.0.0.1", listener.port), timeout=5) as raw,
            pytest.raises(ssl.SSLError, match="ALERT_PROTOCOL_VERSION"),  # the listener's alert
        ):
            old.wrap_socket(raw, server_hostname="localhost")
        assert echo(listener.port, (client(pki["ca"]), "localhost"))[0]  # still serving
    finally:
        listener.stop()


@pytest.fixture
def tls_node(pki):  # type: ignore[no-untyped-def]
    """A model's DICOM node that speaks TLS only, with the practice CA's certificate."""
    got: list[str] = []
    ae = AE(ae_title="VENDOR_TLS")
    for context in AllStoragePresentationContexts:
        ae.add_supported_context(context.abstract_syntax)
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.minimum_version = ssl.TLSVersion.TLSv1_2
    server_context.load_cert_chain(pki["cert"], pki["key"])
    port = free_port()
    handlers = [(evt.EVT_C_STORE, lambda e: got.append(str(e.dataset.SOPInstanceUID)) or 0)]
    server = ae.start_server(
        ("127.0.0.1", port), block=False, evt_handlers=handlers, ssl_context=server_context
    )
    yield port, got
    server.shutdown()


def test_a_study_goes_to_a_tls_model_node_only_when_its_ca_is_trusted(
    queued, spool, pki, tls_node, monkeypatch
) -> None:
    port, got = tls_node
    set_endpoint(queued, ae_title="VENDOR_TLS", host="localhost", port=port, tls=True)
    monkeypatch.setenv("RADGOV_GATEWAY_CA_FILE", str(pki["stranger"]))
    [refused] = delivery.send_queued(base=spool)
    assert (refused.attempts, got, Inference.objects.get().status) == (1, [], "queued")
    monkeypatch.setenv("RADGOV_GATEWAY_CA_FILE", str(pki["ca"]))
    [route] = delivery.send_queued(base=spool)
    assert route.sent_at is not None and len(got) == 2
    assert Inference.objects.get().status == "sent"


@contextmanager
def tls_proxy(folder: Path, upstream: int, cert: Path, key: Path) -> Iterator[int]:
    """nginx terminating TLS in front of ``upstream`` on a free port (Orthanc 1.10's own
    HTTPS server stops at the first request with this system's OpenSSL, so TLS is
    terminated in front of it, as many sites do)."""
    folder.mkdir()
    port = free_port()
    conf = folder / "nginx.conf"
    conf.write_text(
        NGINX_CONF.format(root=folder, port=port, upstream=upstream, cert=cert, key=key)
    )
    nginx = subprocess.Popen(  # noqa: S603 - nginx, our configuration
        ["nginx", "-c", str(conf), "-p", str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for_port(port, nginx)
        yield port
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)


@pytest.mark.peer("orthanc", "orthanc-dicomweb", "nginx")
def test_stow_rs_over_https_checks_the_services_certificate(
    queued, spool, pki, tmp_path, monkeypatch
) -> None:
    with (
        running_orthanc(
            tmp_path, Plugins=[DICOMWEB_PLUGIN], DicomWeb={"Enable": True, "Root": "/dicom-web/"}
        ) as (base, _),
        tls_proxy(tmp_path / "nginx", int(base.rsplit(":", 1)[1]), pki["cert"], pki["key"]) as port,
    ):
        url = f"https://localhost:{port}/dicom-web/studies"
        set_endpoint(queued, kind="stow", url=url)
        monkeypatch.setenv("RADGOV_GATEWAY_CA_FILE", str(pki["stranger"]))
        assert stow.reach(url, timeout=5) == (
            "the model's STOW-RS service at localhost has a certificate this gateway does not trust"
        )
        [refused] = delivery.send_queued(base=spool)
        assert refused.attempts == 1 and Inference.objects.get().status == "queued"
        monkeypatch.setenv("RADGOV_GATEWAY_CA_FILE", str(pki["ca"]))
        assert stow.reach(url, timeout=5) is None
        [route] = delivery.send_queued(base=spool)
        stored = json.loads(get(f"{base}/statistics"))
        # asking it for results goes over the same TLS, its certificate checked the same way
        monkeypatch.setenv("RADGOV_GATEWAY_CA_FILE", str(pki["stranger"]))
        [untrusted] = polling.poll_results(base=spool)
        monkeypatch.setenv("RADGOV_GATEWAY_CA_FILE", str(pki["ca"]))
        [trusted] = polling.poll_results(now=timezone.now() + dt.timedelta(minutes=2), base=spool)
    assert untrusted.problem == (
        "the model's STOW-RS service at localhost has a certificate this gateway does not trust"
    )
    assert (trusted.problem, trusted.retrieved) == (None, 0)
    assert route.sent_at is not None and Inference.objects.get().status == "sent"
    assert (stored["CountStudies"], stored["CountInstances"]) == (1, 2)
