"""Shared by the alert tests: a real webhook receiver on loopback that checks signatures as docs/monitoring.md
tells receivers to, a real SMTP server in-process (aiosmtpd, STARTTLS or implicit TLS, with authentication), a
self-signed certificate for it, and an AWS account whose analyses make findings appear and disappear."""

from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
import ipaddress
import json
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import Engine

from analysis_support import export
from permscope.workflows.collection import import_aws_files

SMTP_USER = "alerts@example.com"
SMTP_PASSWORD = "s3cret-smtp-pass"


def load_account(engine: Engine, folder: Path, *, bob_admin: bool) -> None:
    """Import the analysis tests' account (bob an administrator or read-only)."""
    path = folder / f"export-{bob_admin}.json"
    path.write_text(json.dumps(export(bob_admin=bob_admin)))
    import_aws_files(engine, [path])


class Clock:
    """A clock the test moves by hand (no sleeping), from a little after the real time (alerts are queued at
    the real time of the analysis)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC) + timedelta(seconds=1)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


# ------------------------------------------------------------------------------------------------ webhook


def verify_signature(secret: str, headers: Any, body: bytes, now: float, tolerance: float = 300) -> bool:
    """What docs/monitoring.md asks a receiver to do: recompute v1=HMAC-SHA256(secret, ts + "." + body) over the
    raw body, compare in constant time, refuse a timestamp more than `tolerance` seconds away."""
    timestamp = headers.get("X-Permscope-Timestamp", "")
    signature = headers.get("X-Permscope-Signature", "")
    if not timestamp.isdigit() or abs(now - int(timestamp)) > tolerance:
        return False
    expected = "v1=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


@dataclass
class Received:
    """One request the receiver got."""

    body: dict[str, Any]
    raw: bytes
    headers: dict[str, str]
    verified: bool


class WebhookReceiver:
    """An HTTP server on loopback in a thread: records every POST and whether its signature verifies; answers
    `status`."""

    def __init__(self, secret: str = "") -> None:
        self.secret = secret
        self.status = 200
        self.received: list[Received] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {name: value for name, value in self.headers.items()}
                verified = verify_signature(receiver.secret, self.headers, raw, time.time())
                receiver.received.append(Received(json.loads(raw), raw, headers, verified))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/services/T0/B0/secret-path-part"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


# --------------------------------------------------------------------------------------------------- SMTP


def self_signed(folder: Path) -> tuple[Path, Path]:
    """(certificate, key) PEM files for 127.0.0.1 and localhost, valid for a day."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "permscope test SMTP")])
    now = datetime.now(UTC)

    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Mailbox:
    """What the SMTP server received: (envelope sender, recipients, the parsed message)."""

    messages: list[tuple[str, list[str], EmailMessage]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 OK"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login.decode(), data.password.decode()) == (
            SMTP_USER,
            SMTP_PASSWORD,
        )
        if ok:
            self.logins.append(data.login.decode())
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself


class SmtpServerThread:
    """aiosmtpd on loopback: STARTTLS required (`implicit_tls` False) or TLS from the first byte; AUTH required."""

    def __init__(self, folder: Path, *, implicit_tls: bool = False) -> None:
        self.cert, key = self_signed(folder)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, key)
        self.mailbox = Mailbox()
        self.port = free_port()
        options: dict[str, Any] = {"authenticator": self.mailbox.authenticate, "auth_required": True}
        if (
            implicit_tls
        ):  # aiosmtpd counts only STARTTLS as TLS for AUTH; this connection is TLS from its start
            options.update(ssl_context=context, auth_require_tls=False)
        else:
            options.update(tls_context=context, require_starttls=True)
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port, **options)

    def __enter__(self) -> SmtpServerThread:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()
