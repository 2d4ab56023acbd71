"""E-mail over SMTP (the standard library's `smtplib`): implicit TLS, STARTTLS or plain, with or without
authentication. The password is given when sending and never logged; SMTP errors come back as
`NotificationError`s that name the server, never the password."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from enum import StrEnum

from permscope.workflows.notifications import NotificationError


class SmtpSecurity(StrEnum):
    """How the connection is protected: `tls` (implicit TLS, port 465), `starttls` (upgraded, port 587), or
    `none` (only for a relay on the same host or network)."""

    TLS = "tls"
    STARTTLS = "starttls"
    NONE = "none"


DEFAULT_PORTS = {SmtpSecurity.TLS: 465, SmtpSecurity.STARTTLS: 587, SmtpSecurity.NONE: 25}


@dataclass(frozen=True, slots=True)
class SmtpServer:
    """Where and how to send mail. `ca_file` trusts a private certificate authority besides the system's."""

    host: str
    port: int
    security: SmtpSecurity = SmtpSecurity.STARTTLS
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: str | None = None
    timeout: float = 10.0

    def tls_context(self) -> ssl.SSLContext:
        """A verifying TLS context (the host name is checked), trusting `ca_file` too when given."""
        context = ssl.create_default_context()
        if self.ca_file:
            context.load_verify_locations(cafile=self.ca_file)
        return context


@dataclass(frozen=True, slots=True)
class EmailSender:
    """Sends e-mail messages through one SMTP server."""

    server: SmtpServer

    def __call__(self, message: EmailMessage) -> list[str]:
        """Send one message to its `To` recipients: the recipients the server refused when it took the message
        for others (not an error: sending again would repeat it to those who got it); NotificationError naming
        the server when it took it for no one or failed."""
        server = self.server
        where = f"SMTP server {server.host}:{server.port}"
        try:
            if server.security is SmtpSecurity.TLS:
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    server.host, server.port, timeout=server.timeout, context=server.tls_context()
                )
            else:
                client = smtplib.SMTP(server.host, server.port, timeout=server.timeout)
            with client:
                if server.security is SmtpSecurity.STARTTLS:
                    client.starttls(context=server.tls_context())
                if server.username:
                    client.login(server.username, server.password or "")
                refused = client.send_message(message)
        except smtplib.SMTPAuthenticationError as exc:
            raise NotificationError(
                f"{where} refused the login of {server.username!r} ({exc.smtp_code})"
            ) from None
        except smtplib.SMTPNotSupportedError as exc:
            raise NotificationError(f"{where} does not support what was asked: {exc}") from None
        except smtplib.SMTPResponseException as exc:
            raise NotificationError(f"{where} answered {exc.smtp_code}: {_text(exc.smtp_error)}") from None
        except smtplib.SMTPRecipientsRefused as exc:
            raise NotificationError(
                f"{where} refused every recipient: {', '.join(sorted(exc.recipients))}"
            ) from None
        except (smtplib.SMTPException, ssl.SSLError, OSError) as exc:
            raise NotificationError(
                f"{where} could not be reached or failed: {type(exc).__name__}: {exc}"
            ) from None
        return sorted(refused)


def _text(raw: bytes | str) -> str:
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
