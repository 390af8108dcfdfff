"""Stripe settings for donations, read from the environment with the rest of `Settings`.

Donations are optional: with neither key set the donate pages say donations are
not set up, and the checkout and webhook endpoints answer 503. One key without
the other is refused at start-up: a secret key without the webhook secret would
take money that the ledger could never record.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

import msgspec

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
    from service.settings import SettingsError  # noqa: PLC0415

    raise SettingsError(message)
