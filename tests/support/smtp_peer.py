"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives.

Waiting for mail uses an asyncio.Event set from the server's thread, never a sleep.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

RECEIVE_TIMEOUT_SECONDS = 20


@dataclass
class Received:
    envelope_from: str
    recipients: list[str]
    message: EmailMessage
    raw: bytes

    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        assert part is not None
        return str(part.get_content())

    def html(self) -> str:
        part = self.message.get_body(preferencelist=("html",))
        assert part is not None
        return str(part.get_content())


@dataclass
class MailCatcher:
    """aiosmtpd handler: `refuse` answers DATA with a temporary failure."""

    refuse: bool = False
    received: list[Received] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event, int]] = field(
        default_factory=list
    )

    async def handle_DATA(  # noqa: N802 - aiosmtpd's name for the hook
        self, _server: SMTP, _session: Session, envelope: Envelope
    ) -> str:
        if self.refuse:
            return "451 4.3.0 try again later"
        assert isinstance(envelope.content, bytes)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self.received.append(
                Received(
                    str(envelope.mail_from), list(envelope.rcpt_tos), message, envelope.content
                )
            )
            count = len(self.received)
            for loop, event, wanted in self._waiters:
                if count >= wanted:
                    loop.call_soon_threadsafe(event.set)
        return "250 OK"

    async def wait_for(self, count: int) -> list[Received]:
        """Wait until at least `count` messages have arrived (bounded by a timeout)."""
        event = asyncio.Event()
        with self._lock:
            if len(self.received) >= count:
                return list(self.received)
            self._waiters.append((asyncio.get_running_loop(), event, count))
        await asyncio.wait_for(event.wait(), RECEIVE_TIMEOUT_SECONDS)
        with self._lock:
            return list(self.received)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SmtpPeer:
    def __init__(self, catcher: MailCatcher) -> None:
        self.catcher = catcher
        self.port = free_port()
        self._controller = Controller(catcher, hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()


class DroppingServer:
    """Accepts a TCP connection and closes it at once: a server that drops the line."""

    def __init__(self) -> None:
        self.port = free_port()
        self.connections = 0
        self._server: asyncio.base_events.Server | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._drop, "127.0.0.1", self.port)

    async def _drop(self, _reader: Any, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        writer.close()
        await writer.wait_closed()

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()
