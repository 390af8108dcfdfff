"""One frozen settings object, read from the environment once, at start-up.

Nothing in the project reads the environment at import time: the command line
and the ASGI factory call `Settings.from_env()` and pass the result down.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from service.clock import TIME_ZONE_DEFAULT
from service.limits import (
    EXCHANGE_AUTOCONFIRM_DAYS_DEFAULT,
    EXCHANGE_AUTOCONFIRM_DAYS_MAX,
    EXCHANGE_AUTOCONFIRM_DAYS_MIN,
    EXCHANGE_EXPIRY_SWEEP_SECONDS,
    EXCHANGE_HOLD_DAYS_DEFAULT,
    EXCHANGE_HOLD_DAYS_MAX,
    EXCHANGE_HOLD_DAYS_MIN,
    REPLICA_LAG_SECONDS_MAX,
    SWEEPS_INTERVAL_SECONDS_MAX,
    SWEEPS_INTERVAL_SECONDS_MIN,
)

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
Mode = Literal["development", "production"]

DATA_DIR_DEFAULT = "data"
SECRET_KEY_FILE_NAME = "secret_key"  # noqa: S105 - a file name, not a secret
SECRET_KEY_LENGTH_MIN = 32
SECRET_KEY_GENERATED_BYTES = 48
PUBLIC_BASE_URL_DEFAULT = "http://127.0.0.1:8000"
ARGON2_TIME_COST_DEFAULT = 3
ARGON2_MEMORY_KIB_DEFAULT = 65_536
SECONDS_PER_DAY = 24 * 3600
POSTGRES_SCHEMES = ("postgresql://", "postgres://")
# Midwinter and midsummer: a zone's two offsets, whichever hemisphere it is in.
_OFFSET_PROBES = (datetime(2026, 1, 15, 12), datetime(2026, 7, 15, 12))  # noqa: DTZ001 - wall times
REPLICA_LAG_SECONDS_BOUND = 24 * 3600  # the most REPLICA_LAG_SECONDS_MAX may say


class SettingsError(ValueError):
    """The environment does not describe a runnable service."""


# Stripe (donations) ------------------------------------------------------------

STRIPE_SECRET_KEY_VAR = "STRIPE_SECRET_KEY"  # noqa: S105 - the variable's name
STRIPE_WEBHOOK_SECRET_VAR = "STRIPE_WEBHOOK_SECRET"  # noqa: S105 - the variable's name
STRIPE_API_BASE_VAR = "STRIPE_API_BASE"
DONATION_SUCCESS_URL_VAR = "DONATION_SUCCESS_URL"
DONATION_CANCEL_URL_VAR = "DONATION_CANCEL_URL"

# Where Stripe Checkout's pages live: the donate form is answered with a redirect there,
# so its page's Content-Security-Policy must allow it as a form target.
STRIPE_CHECKOUT_ORIGIN = "https://checkout.stripe.com"
SUCCESS_PATH = "/donate/thanks"
CANCEL_PATH = "/donate/cancelled"
URL_SCHEMES = ("https://", "http://")


class StripeSettings(msgspec.Struct, frozen=True, kw_only=True):
    """How to reach Stripe. Empty keys mean donations are switched off."""

    secret_key: str = ""
    webhook_secret: str = ""
    # Only for tests and local fakes: the address the SDK sends its API calls to.
    api_base: str | None = None
    # Where Stripe Checkout sends the donor back; empty means the site's own pages.
    success_url: str = ""
    cancel_url: str = ""

    def __repr__(self) -> str:
        # Keys must never reach a log line or a traceback.
        return f"StripeSettings(enabled={self.enabled}, api_base={self.api_base!r})"

    @property
    def enabled(self) -> bool:
        return bool(self.secret_key and self.webhook_secret)

    @property
    def checkout_origin(self) -> str:
        """Stripe Checkout's origin; a fake Stripe (STRIPE_API_BASE) serves its own."""
        if not self.api_base:
            return STRIPE_CHECKOUT_ORIGIN
        parts = urlsplit(self.api_base)
        return f"{parts.scheme}://{parts.netloc}"

    def success_url_for(self, public_base_url: str) -> str:
        return self.success_url or public_base_url + SUCCESS_PATH

    def cancel_url_for(self, public_base_url: str) -> str:
        return self.cancel_url or public_base_url + CANCEL_PATH

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> StripeSettings:
        secret_key = env.get(STRIPE_SECRET_KEY_VAR, "").strip()
        webhook_secret = env.get(STRIPE_WEBHOOK_SECRET_VAR, "").strip()
        if bool(secret_key) != bool(webhook_secret):
            _refuse(
                f"{STRIPE_SECRET_KEY_VAR} and {STRIPE_WEBHOOK_SECRET_VAR} go together: "
                "set both to take donations, or neither"
            )
        return cls(
            secret_key=secret_key,
            webhook_secret=webhook_secret,
            api_base=_url(env, STRIPE_API_BASE_VAR) or None,
            success_url=_url(env, DONATION_SUCCESS_URL_VAR),
            cancel_url=_url(env, DONATION_CANCEL_URL_VAR),
        )


def _url(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if value and not value.startswith(URL_SCHEMES):
        _refuse(f"{name} must start with https:// or http://, not {value!r}")
    return value.rstrip("/")


def _refuse(message: str) -> None:
    # Imported here: service.settings imports this module at start-up.

    raise SettingsError(message)


# Mail (ADR 0022) -------------------------------------------------------------------

MAIL_FROM_DEFAULT = "timebank@localhost"
SMTP_PORT_DEFAULT = 25
SMTPS_PORT_DEFAULT = 465


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
            raise SettingsError(f"MAIL_FROM must be an email address, not {self.mail_from!r}")

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
        raise SettingsError("SMTP_URL must look like smtp://host:port or smtps://host:port")
    use_tls = parts.scheme == "smtps"
    try:
        port = parts.port or (SMTPS_PORT_DEFAULT if use_tls else SMTP_PORT_DEFAULT)
    except ValueError as error:
        raise SettingsError("SMTP_URL has a port that is not a number") from error
    return SmtpServer(
        hostname=parts.hostname,
        port=port,
        use_tls=use_tls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    database_url: str
    secret_key: str = msgspec.field(default="")
    mode: Mode = "development"
    log_level: LogLevel = "INFO"
    public_base_url: str = PUBLIC_BASE_URL_DEFAULT
    data_dir: str = DATA_DIR_DEFAULT
    redis_url: str | None = None
    # A streaming replica of the PostgreSQL primary for the flows reports (ADR 0047);
    # used while it is at most replica_lag_seconds_max behind, else the primary is.
    database_replica_url: str | None = None
    replica_lag_seconds_max: int = REPLICA_LAG_SECONDS_MAX
    # How often the sweeps run (one node at a time holds their lease, ADR 0045).
    sweeps_interval_seconds: int = EXCHANGE_EXPIRY_SWEEP_SECONDS
    # argon2id cost. Production keeps argon2-cffi's defaults (about 0.1 s and
    # 64 MiB a hash); tests lower them to keep hundreds of sign-ins fast.
    password_time_cost: int = ARGON2_TIME_COST_DEFAULT
    password_memory_kib: int = ARGON2_MEMORY_KIB_DEFAULT
    # How long an accepted exchange's hours stay on hold (after acceptance or
    # the service date, whichever is later) before they return to the recipient.
    exchange_hold_days: int = EXCHANGE_HOLD_DAYS_DEFAULT
    # Days after the provider marks an exchange done before it confirms by itself,
    # unless the community sets its own (member_community.autoconfirm_days).
    exchange_autoconfirm_days: int = EXCHANGE_AUTOCONFIRM_DAYS_DEFAULT
    # Donations through Stripe; switched off unless both keys are set.
    stripe: StripeSettings = msgspec.field(default_factory=StripeSettings)
    # Mail by SMTP (SMTP_URL, MAIL_FROM), or as .eml files under data_dir without it.
    mail: MailSettings = msgspec.field(default_factory=MailSettings)
    # The wall clock members read and write times in (an IANA name, ADR 0064).
    time_zone: str = TIME_ZONE_DEFAULT

    def __post_init__(self) -> None:
        # Settings made in code (tests, scripts) keep to the same bounds as the environment.
        if not EXCHANGE_HOLD_DAYS_MIN <= self.exchange_hold_days <= EXCHANGE_HOLD_DAYS_MAX:
            raise SettingsError(
                f"exchange_hold_days must be from {EXCHANGE_HOLD_DAYS_MIN} to "
                f"{EXCHANGE_HOLD_DAYS_MAX}, not {self.exchange_hold_days}"
            )
        days = self.exchange_autoconfirm_days
        if not EXCHANGE_AUTOCONFIRM_DAYS_MIN <= days <= EXCHANGE_AUTOCONFIRM_DAYS_MAX:
            raise SettingsError(
                f"exchange_autoconfirm_days must be from {EXCHANGE_AUTOCONFIRM_DAYS_MIN} to "
                f"{EXCHANGE_AUTOCONFIRM_DAYS_MAX}, not {days}"
            )
        interval = self.sweeps_interval_seconds
        if not SWEEPS_INTERVAL_SECONDS_MIN <= interval <= SWEEPS_INTERVAL_SECONDS_MAX:
            raise SettingsError(
                f"sweeps_interval_seconds must be from {SWEEPS_INTERVAL_SECONDS_MIN} to "
                f"{SWEEPS_INTERVAL_SECONDS_MAX}, not {interval}"
            )
        self._replica_valid()
        self._time_zone_valid()

    def _time_zone_valid(self) -> None:
        try:
            zone = ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise SettingsError(
                f"TIMEBANK_TIME_ZONE must name a time zone such as {TIME_ZONE_DEFAULT}, "
                f"not {self.time_zone!r}"
            ) from error
        # Dates of the help stored before ADR 0064 are their UTC midnight; a zone ever
        # behind UTC would show each of them as the day before.
        if any(
            (zone.utcoffset(moment) or timedelta(0)) < timedelta(0) for moment in _OFFSET_PROBES
        ):
            raise SettingsError(
                f"TIMEBANK_TIME_ZONE {self.time_zone!r} is behind UTC for part of the year: "
                "only zones at or ahead of UTC are supported"
            )

    def _replica_valid(self) -> None:
        if self.replica_lag_seconds_max < 0:
            raise SettingsError("replica_lag_seconds_max must not be negative")
        if self.database_replica_url is None:
            return
        if not self.is_postgres or not self.database_replica_url.startswith(POSTGRES_SCHEMES):
            raise SettingsError(
                "DATABASE_REPLICA_URL needs PostgreSQL: both it and DATABASE_URL must start "
                "with postgresql://"
            )

    def __repr__(self) -> str:
        # The secret key must never reach a log line or a traceback.
        return f"Settings(database_url={_redact_url(self.database_url)!r}, mode={self.mode!r})"

    @property
    def is_production(self) -> bool:
        return self.mode == "production"

    @property
    def is_https(self) -> bool:
        return self.public_base_url.startswith("https://")

    @property
    def exchange_hold_seconds(self) -> int:
        return self.exchange_hold_days * SECONDS_PER_DAY

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith(POSTGRES_SCHEMES)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        mode = _parse_mode(env.get("TIMEBANK_ENV", "development"))
        data_dir = env.get("TIMEBANK_DATA_DIR", DATA_DIR_DEFAULT)
        database_url = env.get("DATABASE_URL") or f"sqlite:///{Path(data_dir) / 'timebank.sqlite3'}"
        return cls(
            database_url=database_url,
            secret_key=_secret_key(env, mode=mode, data_dir=data_dir),
            mode=mode,
            log_level=_parse_log_level(env.get("LOG_LEVEL", "INFO")),
            public_base_url=env.get("PUBLIC_BASE_URL", PUBLIC_BASE_URL_DEFAULT).rstrip("/"),
            data_dir=data_dir,
            redis_url=env.get("REDIS_URL") or None,
            time_zone=env.get("TIMEBANK_TIME_ZONE") or TIME_ZONE_DEFAULT,
            database_replica_url=env.get("DATABASE_REPLICA_URL") or None,
            replica_lag_seconds_max=_bounded_int(
                env,
                "REPLICA_LAG_SECONDS_MAX",
                REPLICA_LAG_SECONDS_MAX,
                minimum=0,
                maximum=REPLICA_LAG_SECONDS_BOUND,
            ),
            sweeps_interval_seconds=_bounded_int(
                env,
                "SWEEPS_INTERVAL_SECONDS",
                EXCHANGE_EXPIRY_SWEEP_SECONDS,
                minimum=SWEEPS_INTERVAL_SECONDS_MIN,
                maximum=SWEEPS_INTERVAL_SECONDS_MAX,
            ),
            password_time_cost=_positive_int(env, "ARGON2_TIME_COST", ARGON2_TIME_COST_DEFAULT),
            password_memory_kib=_positive_int(env, "ARGON2_MEMORY_KIB", ARGON2_MEMORY_KIB_DEFAULT),
            exchange_hold_days=_bounded_int(
                env,
                "EXCHANGE_HOLD_DAYS",
                EXCHANGE_HOLD_DAYS_DEFAULT,
                minimum=EXCHANGE_HOLD_DAYS_MIN,
                maximum=EXCHANGE_HOLD_DAYS_MAX,
            ),
            exchange_autoconfirm_days=_bounded_int(
                env,
                "EXCHANGE_AUTOCONFIRM_DAYS",
                EXCHANGE_AUTOCONFIRM_DAYS_DEFAULT,
                minimum=EXCHANGE_AUTOCONFIRM_DAYS_MIN,
                maximum=EXCHANGE_AUTOCONFIRM_DAYS_MAX,
            ),
            stripe=StripeSettings.from_env(env),
            mail=MailSettings.from_env(env),
        )


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise SettingsError(f"{name} must be a positive whole number, not {raw!r}")
    return int(raw)


def _bounded_int(
    env: Mapping[str, str], name: str, default: int, *, minimum: int, maximum: int
) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip()
    # isascii: str.isdigit() also accepts other scripts' digits and superscripts.
    # The length check keeps a thousand-digit value away from int().
    if value.isascii() and value.isdigit() and len(value) <= len(str(maximum)):
        number = int(value)
        if minimum <= number <= maximum:
            return number
    raise SettingsError(f"{name} must be a whole number from {minimum} to {maximum}, not {raw!r}")


def _parse_mode(value: str) -> Mode:
    if value == "production":
        return "production"
    if value == "development":
        return "development"
    raise SettingsError(f"TIMEBANK_ENV must be 'development' or 'production', not {value!r}")


def _parse_log_level(value: str) -> LogLevel:
    upper = value.upper()
    if upper in ("DEBUG", "INFO", "WARNING", "ERROR"):
        return upper  # type: ignore[return-value]
    raise SettingsError(f"LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, not {value!r}")


def _secret_key(env: Mapping[str, str], *, mode: Mode, data_dir: str) -> str:
    key = env.get("SECRET_KEY", "")
    if key:
        if len(key) < SECRET_KEY_LENGTH_MIN:
            raise SettingsError(f"SECRET_KEY must be at least {SECRET_KEY_LENGTH_MIN} characters")
        return key
    if mode == "production":
        raise SettingsError("SECRET_KEY is required when TIMEBANK_ENV=production")
    return _development_secret_key(Path(data_dir))


def _development_secret_key(data_dir: Path) -> str:
    # In development the key is generated once and kept beside the database,
    # so sessions survive a restart without anyone having to invent a secret.
    path = data_dir / SECRET_KEY_FILE_NAME
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(SECRET_KEY_GENERATED_BYTES)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key)
    return key


def _redact_url(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}{sep}{user}:***@{host}"
