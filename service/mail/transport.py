"""Where composed mail goes: an SMTP server (SMTP_URL), or .eml files in development."""

from __future__ import annotations

import asyncio
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

import aiosmtplib

from service.mail.compose import wire_bytes
from service.mail.limits import SMTP_TIMEOUT_SECONDS
from service.settings import SmtpServer

OUTBOX_FOLDER_NAME = "mail"


class MailTransport(Protocol):
    async def deliver(self, message: EmailMessage, *, name: str) -> None:
        """Hand one message over; raise if it was not accepted."""
        ...


class SmtpTransport:
    """One SMTP conversation a message: smtps:// is TLS at once; smtp:// upgrades with
    STARTTLS whenever the server offers it (aiosmtplib's default)."""

    def __init__(self, server: SmtpServer, *, mail_from: str) -> None:
        self._server = server
        self._mail_from = mail_from

    async def deliver(self, message: EmailMessage, *, name: str) -> None:  # noqa: ARG002
        await aiosmtplib.send(
            wire_bytes(message),
            sender=self._mail_from,
            recipients=[str(message["To"])],
            hostname=self._server.hostname,
            port=self._server.port,
            username=self._server.username,
            password=self._server.password,
            use_tls=self._server.use_tls,
            timeout=SMTP_TIMEOUT_SECONDS,
        )


class FileTransport:
    """Development without a mail server: each message is an .eml file any mail program opens."""

    def __init__(self, data_dir: Path) -> None:
        self.folder = data_dir / OUTBOX_FOLDER_NAME

    async def deliver(self, message: EmailMessage, *, name: str) -> None:
        await asyncio.to_thread(self._write, wire_bytes(message), name)

    def _write(self, content: bytes, name: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        final = self.folder / f"{name}.eml"
        partial = final.with_suffix(".eml.part")
        partial.write_bytes(content)
        # Whole files only: a reader never sees half a message.
        partial.replace(final)
