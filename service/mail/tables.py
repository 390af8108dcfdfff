"""The outbox and members' mail preferences. The DDL, with its CHECKs, is in migrations/mail/."""

from __future__ import annotations

from piccolo.columns import UUID, Boolean, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class MailMessage(Table, tablename="mail_message"):
    """One message to send: queued -> sent, or queued -> dead after MAIL_ATTEMPTS_MAX."""

    id = UUID(primary_key=True)
    member = UUID(null=True, default=None)  # the recipient, when a member
    to_address = Varchar(length=254)
    kind = Varchar(length=40)
    context_json = Text(default="{}")  # rendered by the worker when it sends
    # Holds a secret (a reset link): the context is wiped once sent, hidden from admins.
    sensitive = Boolean(default=False)
    # Event mail honours the member's preference (unsubscribe link, digests);
    # account mail (password reset, email change) always goes, at once.
    is_event = Boolean(default=True)
    # Waits for the member's daily or weekly digest and goes out inside it.
    digest = Boolean(default=False)
    status = Varchar(length=10, default="queued")
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz()
    last_error = Text(null=True, default=None)
    created_at = Timestamptz()
    sent_at = Timestamptz(null=True, default=None)


class MailPreference(Table, tablename="mail_preference"):
    member = UUID(primary_key=True)
    email = Varchar(length=10, default="immediate")  # immediate, daily, weekly, off
    updated_at = Timestamptz()


class MailReminder(Table, tablename="mail_reminder"):
    """One row per reminder sent about an exchange: the sweep never sends one twice."""

    exchange = UUID(primary_key=True)  # with kind: the key is (exchange, kind)
    kind = Varchar(length=20)  # confirm, hold_expiring
    sent_at = Timestamptz()


class MailNotice(Table, tablename="mail_notice"):
    """An in-app notice of a mailed event: written with the event, whether mail goes or not."""

    id = UUID(primary_key=True)
    member = UUID()
    kind = Varchar(length=40)  # one of service/mail/messages.py MESSAGE_KINDS
    context_json = Text(default="{}")
    created_at = Timestamptz()


class MailListingDigest(Table, tablename="mail_listing_digest"):
    """When a member was last sent the weekly digest of matching offers and requests."""

    member = UUID(primary_key=True)
    sent_at = Timestamptz()
