"""Issue 11 item 2: production behind a real TLS reverse proxy.

nginx (Debian's package) is started by the test on a free port with its own configuration,
folders and a certificate made for the test, in front of a real ``radgov serve`` with
``RADGOV_PRODUCTION=1 RADGOV_TRUSTED_PROXY_COUNT=1``.  Clients connect from different
loopback addresses (127.0.0.5, 127.0.0.6), so the proxy forwards distinct client addresses:
through the proxy every page answers over https with HSTS (no redirect loop), /healthz answers
through the proxy and directly, the login limit counts each client on its own, the audit trail
records the client, not the proxy, and ``radgov check --deploy`` reports a request that went
around the proxy.  A body over a route's limit is refused before it is read."""

from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.integration.serving import free_port, migrated_copy

RADGOV = [sys.executable, "-m", "radgov.cli"]


def make_certificate(folder: Path) -> tuple[Path, Path]:
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


NGINX_CONF = """
daemon off;
master_process off;
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log {root}/access.log;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    client_max_body_size 400m;
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        location / {{
            proxy_pass http://127.0.0.1:{upstream};
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $http_host;
            proxy_request_buffering off;
        }}
    }}
}}
"""


def _env(tmp_path: Path) -> dict[str, str]:
    inherited = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("RADGOV_", "DJANGO_", "DATABASE_URL"))
    }
    return inherited | {
        "RADGOV_PRODUCTION": "1",
        "RADGOV_TRUSTED_PROXY_COUNT": "1",
        "RADGOV_DATA_DIR": str(tmp_path / "data"),
        "RADGOV_SECRET_KEY": "proxy-test-" + "k" * 50,
        "RADGOV_KEY_FILE": str(tmp_path / "keys.json"),
        "RADGOV_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "RADGOV_LOGIN_FAILURES_PER_CLIENT": "3",
        "RADGOV_LOGIN_FAILURES_PER_ACCOUNT": "50",
    }


def _wait(port: int, proc: subprocess.Popen[str], what: str) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{what} exited: {proc.stdout.read() if proc.stdout else ''}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"{what} did not listen on {port}")


@pytest.fixture
def stack(tmp_path: Path):  # type: ignore[no-untyped-def]
    env = _env(tmp_path)
    dev = {k: v for k, v in env.items() if k != "RADGOV_PRODUCTION"}
    subprocess.run([*RADGOV, "keys", "init"], env=dev, check=True, capture_output=True)
    migrated_copy(tmp_path / "data")  # as `radgov migrate` leaves it
    made = subprocess.run(
        [*RADGOV, "createuser", "proxied", "--role", "physician"],
        env=dev, capture_output=True, text=True,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    upstream, port = free_port(), free_port()
    radgov = subprocess.Popen(  # noqa: S603
        [*RADGOV, "serve", "--no-worker", "--host", "127.0.0.1", "--port", str(upstream)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    root = tmp_path / "nginx"
    root.mkdir()
    cert, key = make_certificate(root)
    conf = root / "nginx.conf"
    conf.write_text(NGINX_CONF.format(root=root, port=port, upstream=upstream, cert=cert, key=key))
    nginx = subprocess.Popen(  # noqa: S603
        ["nginx", "-c", str(conf), "-p", str(root)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        _wait(upstream, radgov, "radgov serve")
        _wait(port, nginx, "nginx")
        context = ssl.create_default_context(cafile=str(cert))
        yield {"port": port, "upstream": upstream, "tls": context, "env": env}
    finally:
        for proc in (nginx, radgov):
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


class Browser:
    """An HTTPS client of the proxy from one loopback address, keeping its cookies."""

    def __init__(self, stack: dict, source: str) -> None:  # type: ignore[type-arg]
        self.stack, self.source, self.cookies = stack, source, {}  # type: ignore[var-annotated]

    def request(
        self, method: str, path: str, body: bytes | None = None, headers=None, *, cut_ok=False
    ):  # type: ignore[no-untyped-def]
        """``cut_ok``: the server may close while the body of its answer is under way (a
        refused upload); the status line is the answer then."""
        conn = http.client.HTTPSConnection(
            "127.0.0.1", self.stack["port"], context=self.stack["tls"],
            source_address=(self.source, 0), timeout=30,
        )  # fmt: skip
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        conn.request(method, path, body=body, headers=sent)
        response = conn.getresponse()
        try:
            data = response.read()
        except http.client.IncompleteRead as cut:
            if not cut_ok:
                raise
            data = cut.partial
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        conn.close()
        return response, data

    def login(self, username: str, password: str):  # type: ignore[no-untyped-def]
        _, page = self.request("GET", "/accounts/login/")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert token, page[:500]
        body = urlencode(
            {"login": username, "password": password, "csrfmiddlewaretoken": token[1].decode()}
        ).encode()
        origin = f"https://127.0.0.1:{self.stack['port']}"
        return self.request(
            "POST", "/accounts/login/", body,
            {"Content-Type": "application/x-www-form-urlencoded", "Origin": origin,
             "Referer": origin + "/accounts/login/"},
        )  # fmt: skip


def direct(stack: dict, method: str, path: str, body: bytes | None = None, headers=None):  # type: ignore[no-untyped-def,type-arg]
    conn = http.client.HTTPConnection("127.0.0.1", stack["upstream"], timeout=30)
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response, data


@pytest.mark.peer("nginx")
def test_production_behind_a_tls_proxy(stack, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    alice, mallory = Browser(stack, "127.0.0.5"), Browser(stack, "127.0.0.6")

    response, body = alice.request("GET", "/healthz")
    assert response.status == 200, body
    assert json.loads(body)["status"] == "ok"
    assert "max-age=31536000" in (response.getheader("Strict-Transport-Security") or "")
    response, _ = direct(stack, "GET", "/healthz")  # a monitor asking radgov itself
    assert response.status == 200

    response, page = alice.request("GET", "/accounts/login/")
    assert response.status == 200, page[:300]  # not a redirect to https: it is https
    assert response.getheader("Strict-Transport-Security")
    response, _ = direct(stack, "GET", "/accounts/login/")  # around the proxy: to https
    assert response.status == 301 and response.getheader("Location", "").startswith("https://")

    # the per-client limit (3 here) counts each client, not the proxy
    for _ in range(3):
        response, page = mallory.login("nobody", "guess")
        assert response.status == 200 and b"Too many" not in page
    response, page = mallory.login("proxied", "guess")
    assert b"Too many failed login attempts" in page
    response, page = alice.login("nobody", "guess")
    assert response.status == 200 and b"Too many" not in page, "another client is not locked"

    exported = subprocess.run(
        [*RADGOV, "audit", "export", "--format", "fhir", "--since", "2000-01-01"],
        env=stack["env"], capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    events = [json.loads(line) for line in exported.stdout.splitlines() if line.strip()]
    addresses = {
        agent["network"]["address"]
        for event in events
        for agent in event.get("agent", [])
        if "network" in agent
    }
    assert {"127.0.0.5", "127.0.0.6"} <= addresses, addresses
    assert "127.0.0.1" not in addresses, "the proxy's address reached the audit trail"

    # a 300 MB POST to the login page is refused from its headers, before a byte is read
    response, _ = direct(
        stack, "POST", "/accounts/login/", b"", {"Content-Length": str(300 * 1024 * 1024)}
    )
    assert response.status == 413
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    announced = form | {"Content-Length": str(2 * 1024 * 1024)}
    response, _ = direct(stack, "POST", "/accounts/login/", b"", announced)
    assert response.status == 413  # over the 1 MB limit of a form, from its headers
    # through the proxy, which streams the body, the refusal arrives as 413 or, when radgov
    # closes the connection before nginx has sent it all, as nginx's 502: refused either way
    response, _ = alice.request(
        "POST", "/accounts/login/", b"x" * (2 * 1024 * 1024), form, cut_ok=True
    )
    assert response.status in (413, 502)

    check = subprocess.run(
        [*RADGOV, "check", "--deploy"], env=stack["env"], capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert "radgov.proxy.W006" in check.stdout + check.stderr, check.stdout + check.stderr
