"""Request and response shapes of the donations API."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from service.limits import (
    DONATION_PENCE_MAX,
    DONATION_PENCE_MIN,
    GIFT_AID_ADDRESS_CHARS_MAX,
    GIFT_AID_NAME_CHARS_MAX,
    POSTCODE_CHARS_MAX,
)
from service.members.schemas import NAME_PATTERN, Slug

# A UK postcode, with or without its space ("SW1A 1AA", "m11ae"); stored upper case.
POSTCODE_PATTERN = r"^\s*[A-Za-z]{1,2}[0-9][A-Za-z0-9]? ?[0-9][A-Za-z]{2}\s*$"

AmountPence = Annotated[int, Meta(ge=DONATION_PENCE_MIN, le=DONATION_PENCE_MAX)]
FullName = Annotated[
    str, Meta(min_length=1, max_length=GIFT_AID_NAME_CHARS_MAX, pattern=NAME_PATTERN)
]
# One line ("12 Mill Lane, Riverside"): HMRC needs the house and the postcode.
HomeAddress = Annotated[
    str, Meta(min_length=1, max_length=GIFT_AID_ADDRESS_CHARS_MAX, pattern=NAME_PATTERN)
]
Postcode = Annotated[
    str, Meta(min_length=5, max_length=POSTCODE_CHARS_MAX + 2, pattern=POSTCODE_PATTERN)
]


class GiftAidIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Sending this is the donor's Gift Aid declaration: a UK taxpayer, giving their own money."""

    full_name: FullName
    home_address: HomeAddress
    postcode: Postcode


class CheckoutIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    amount_pence: AmountPence
    community: Slug
    recurring: bool = False
    gift_aid: GiftAidIn | None = None


class CheckoutOut(msgspec.Struct, kw_only=True):
    checkout_url: str


class WebhookOut(msgspec.Struct, kw_only=True):
    received: bool
    duplicate: bool
    outcome: str


class ReprocessOut(msgspec.Struct, kw_only=True):
    """What reprocessing a Stripe event did; `resolved` false means it is kept to try again."""

    event_id: str
    outcome: str
    detail: str
    resolved: bool
