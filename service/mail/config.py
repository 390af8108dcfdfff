"""Mail settings from the environment: SMTP_URL and MAIL_FROM (read once, at start-up)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import msgspec

MAIL_FROM_DEFAULT = "timebank@localhost"
SMTP_PORT_DEFAULT = 25
SMTPS_PORT_DEFAULT = 465


class MailSettingsError(ValueError):
    """SMTP_URL or MAIL_FROM cannot be used."""


@dataclass(frozen=True, slots=True)
class SmtpServer:
    hostname: str
    port: int
    use_tls: bool  # smtps://: TLS from the first byte
    username: str | None
    password: str | None

    def __repr__(self) -> str:
        # The password must never reach a log line.
        return f"SmtpServer({self.hostname}:{self.port}, tls={self.use_tls})"


class MailSettings(msgspec.Struct, frozen=True, kw_only=True):
    # smtp://[user:password@]host[:port] (STARTTLS when offered) or smtps://...
    # Without it, messages are written as .eml files under the data folder.
    smtp_url: str | None = None
    mail_from: str = MAIL_FROM_DEFAULT
    # False only in tests that drive the worker by hand.
    worker_enabled: bool = True

    def __repr__(self) -> str:
        return f"MailSettings(smtp={'set' if self.smtp_url else 'files'}, from={self.mail_from!r})"

    def __post_init__(self) -> None:
        if self.smtp_url is not None:
            smtp_server_of(self.smtp_url)
        if "@" not in self.mail_from or "\n" in self.mail_from:
            raise MailSettingsError(f"MAIL_FROM must be an email address, not {self.mail_from!r}")

    @property
    def smtp_server(self) -> SmtpServer | None:
        return smtp_server_of(self.smtp_url) if self.smtp_url else None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> MailSettings:
        return cls(
            smtp_url=env.get("SMTP_URL") or None,
            mail_from=env.get("MAIL_FROM") or MAIL_FROM_DEFAULT,
        )


def smtp_server_of(url: str) -> SmtpServer:
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise MailSettingsError("SMTP_URL must look like smtp://host:port or smtps://host:port")
    use_tls = parts.scheme == "smtps"
    try:
        port = parts.port or (SMTPS_PORT_DEFAULT if use_tls else SMTP_PORT_DEFAULT)
    except ValueError as error:
        raise MailSettingsError("SMTP_URL has a port that is not a number") from error
    return SmtpServer(
        hostname=parts.hostname,
        port=port,
        use_tls=use_tls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )
