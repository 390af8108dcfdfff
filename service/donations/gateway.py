"""The few Stripe API calls donations make, through the official SDK's async client.

Calls go through `stripe.StripeClient` with the SDK's httpx client, so they never
block the event loop. `STRIPE_API_BASE` points the SDK elsewhere (the tests run
a small fake Stripe on loopback). Every call that creates something carries an
idempotency key, so the SDK's retries and our own never open two sessions.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import stripe

from service.donations import stripe_objects as so
from service.limits import STRIPE_NETWORK_RETRIES, STRIPE_TIMEOUT_SECONDS
from service.settings import StripeSettings

logger = logging.getLogger("timebank.donations.stripe")

CURRENCY = "gbp"
FEE_EXPANSION = "latest_charge.balance_transaction"


class StripeUnavailableError(Exception):
    """Stripe could not be reached, or refused the call; nothing was recorded here."""


@dataclass(frozen=True, slots=True)
class CheckoutRequest:
    checkout_id: uuid.UUID
    community_id: uuid.UUID
    community_name: str
    amount_pence: int
    recurring: bool
    success_url: str
    cancel_url: str


@dataclass(frozen=True, slots=True)
class OpenedSession:
    session_id: str
    url: str


def checkout_idempotency_key(checkout_id: uuid.UUID) -> str:
    return f"timebank-checkout-{checkout_id}"


def checkout_params(request: CheckoutRequest) -> dict[str, Any]:
    """What Stripe is asked for: one line of the chosen amount, once or every month."""
    price: dict[str, Any] = {
        "currency": CURRENCY,
        "unit_amount": request.amount_pence,
        "product_data": {"name": f"Gift to {request.community_name}"},
    }
    if request.recurring:
        price["recurring"] = {"interval": "month"}
    # Our checkout id travels with the session, its payment and its subscription,
    # so every later event can be matched to it (see services.event_handle).
    metadata = {"checkout_id": str(request.checkout_id), "community_id": str(request.community_id)}
    params: dict[str, Any] = {
        "mode": "subscription" if request.recurring else "payment",
        "line_items": [{"price_data": price, "quantity": 1}],
        "success_url": request.success_url,
        "cancel_url": request.cancel_url,
        "client_reference_id": str(request.checkout_id),
        "metadata": metadata,
    }
    if request.recurring:
        params["subscription_data"] = {"metadata": metadata}
    else:
        params["payment_intent_data"] = {"metadata": metadata}
        params["submit_type"] = "donate"
    return params


class _HTTPXClient(stripe.HTTPXClient):
    """The SDK's httpx client, sending its form body as `content`.

    stripe 16 hands httpx the encoded body as `data=`, which httpx 0.28
    deprecates for raw text (a DeprecationWarning on every call).
    """

    def _get_request_args_kwargs(
        self, method: str, url: str, headers: Mapping[str, str], post_data: Any
    ) -> list[Any]:
        args: list[Any] = super()._get_request_args_kwargs(method, url, headers, post_data)
        kwargs = args[1]
        kwargs["content"] = kwargs.pop("data", None) or None
        return args


class StripeGateway:
    """One per running app: it owns an HTTP connection pool, closed at shutdown."""

    def __init__(self, config: StripeSettings) -> None:
        self._http = _HTTPXClient(timeout=STRIPE_TIMEOUT_SECONDS)
        self._client = stripe.StripeClient(
            config.secret_key,
            base_addresses={"api": config.api_base} if config.api_base else None,
            http_client=self._http,
            max_network_retries=STRIPE_NETWORK_RETRIES,
        )

    async def close(self) -> None:
        await self._http.close_async()  # type: ignore[no-untyped-call]

    async def open_checkout(self, request: CheckoutRequest) -> OpenedSession:
        try:
            session = await self._client.v1.checkout.sessions.create_async(
                params=checkout_params(request),  # type: ignore[arg-type]
                options={"idempotency_key": checkout_idempotency_key(request.checkout_id)},
            )
        except stripe.StripeError as error:
            logger.warning("Stripe refused a checkout session: %s", type(error).__name__)
            raise StripeUnavailableError from error
        data = session.to_dict()
        session_id, url = so.text(data, "id"), so.text(data, "url", limit=so.URL_CHARS_MAX)
        if session_id is None or url is None or not url.startswith(("https://", "http://")):
            logger.warning("Stripe answered a checkout session without an id or address")
            raise StripeUnavailableError
        return OpenedSession(session_id=session_id, url=url)

    async def fee_of_payment_intent(self, payment_intent_id: str) -> int | None:
        """Stripe's fee on a payment, in pence, if Stripe knows it yet."""
        try:
            intent = await self._client.v1.payment_intents.retrieve_async(
                payment_intent_id, params={"expand": [FEE_EXPANSION]}
            )
        except stripe.StripeError as error:
            logger.warning("fee lookup of a payment failed: %s", type(error).__name__)
            return None
        return fee_of_balance_transaction(
            so.child(intent.to_dict(), "latest_charge", "balance_transaction")
        )

    async def fee_of_balance_transaction_id(self, balance_transaction_id: str) -> int | None:
        try:
            found = await self._client.v1.balance_transactions.retrieve_async(
                balance_transaction_id
            )
        except stripe.StripeError as error:
            logger.warning("fee lookup of a balance transaction failed: %s", type(error).__name__)
            return None
        return fee_of_balance_transaction(found.to_dict())


def fee_of_balance_transaction(balance_transaction: Mapping[str, Any] | None) -> int | None:
    """The fee of a balance transaction in GBP; None if not GBP or not told."""
    if balance_transaction is None or so.text(balance_transaction, "currency") != CURRENCY:
        return None
    fee = so.whole(balance_transaction, "fee")
    return fee if fee is not None and fee >= 0 else None
