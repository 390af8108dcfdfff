"""What each kind of message says, in plain words: a subject, a few sentences, one link.

The templates in service/templates/mail/ lay these out as plain text and HTML;
the wording lives here, in one place, so every message reads alike. Hours are
always written in words ("1 hour 30 minutes"), never as minutes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from service.formatting import minutes_text


@dataclass(frozen=True, slots=True)
class Wording:
    subject: str
    paragraphs: tuple[str, ...]
    action_label: str
    action_path: str  # the one page where the member acts (joined to the base URL)


Context = Mapping[str, Any]


def _hours(context: Context) -> str:
    return minutes_text(int(context.get("minutes", 0)))


def _exchange_path(context: Context) -> str:
    return f"/exchanges/{context.get('exchange_id', '')}"


def _exchange_proposed(c: Context) -> Wording:
    return Wording(
        subject=f"{c['other_name']} has suggested an exchange",
        paragraphs=(
            f"{c['other_name']} has suggested an exchange of {_hours(c)}: {c['description']}",
            (
                f"The date they gave is {c['service_date']}. Please have a look, "
                "and accept it if it suits you."
            ),
        ),
        action_label="See the exchange",
        action_path=_exchange_path(c),
    )


def _exchange_accepted(c: Context) -> Wording:
    return Wording(
        subject=f"{c['other_name']} has accepted your exchange",
        paragraphs=(
            f"{c['other_name']} has accepted the exchange of {_hours(c)}: {c['description']}",
            f"It is planned for {c['service_date']}.",
        ),
        action_label="See the exchange",
        action_path=_exchange_path(c),
    )


def _exchange_confirm_reminder(c: Context) -> Wording:
    return Wording(
        subject="Please confirm the help you received",
        paragraphs=(
            (
                f"{c['other_name']} was due to help you on {c['service_date']} "
                f"({_hours(c)}: {c['description']})."
            ),
            "If it happened, please confirm it, so that they receive their hours.",
        ),
        action_label="Confirm the exchange",
        action_path=_exchange_path(c),
    )


def _hold_expiring(c: Context) -> Wording:
    return Wording(
        subject="Your hours go back in 48 hours",
        paragraphs=(
            (
                f"The {_hours(c)} set aside for your exchange with {c['other_name']} "
                f"({c['description']}) go back to your account in 48 hours."
            ),
            "If the help happened, please confirm it now, so that they receive their hours.",
        ),
        action_label="Confirm the exchange",
        action_path=_exchange_path(c),
    )


def _exchange_completed(c: Context) -> Wording:
    return Wording(
        subject=f"You have received {_hours(c)}",
        paragraphs=(
            f"{c['other_name']} has confirmed your exchange: {c['description']}.",
            f"{_hours(c).capitalize()} have been added to your account. Thank you for helping.",
        ),
        action_label="See your account",
        action_path="/dashboard",
    )


def _dispute_opened(c: Context) -> Wording:
    return Wording(
        subject="A question has been raised about an exchange",
        paragraphs=(
            f"{c['other_name']} has raised a question about your exchange: {c['description']}.",
            "An administrator will look at it. You can add your side of the story.",
        ),
        action_label="See the dispute",
        action_path=f"/disputes/{c.get('dispute_id', '')}",
    )


def _dispute_decided(c: Context) -> Wording:
    return Wording(
        subject="The question about your exchange has been decided",
        paragraphs=(
            f"An administrator has decided about the exchange: {c['description']}.",
            f"The outcome: {c['outcome_words']}.",
        ),
        action_label="See the outcome",
        action_path=f"/disputes/{c.get('dispute_id', '')}",
    )


def _membership_approved(c: Context) -> Wording:
    return Wording(
        subject=f"Welcome to {c['community_name']}",
        paragraphs=(
            "A coordinator has approved your membership. You can now offer and ask for help.",
        ),
        action_label="Go to your page",
        action_path="/dashboard",
    )


def _membership_declined(c: Context) -> Wording:
    return Wording(
        subject=f"About your application to {c['community_name']}",
        paragraphs=(
            "A coordinator could not approve your membership this time.",
            f"The reason they gave: {c['reason']}",
        ),
        action_label="Read more",
        action_path="/dashboard",
    )


def _password_reset(c: Context) -> Wording:
    return Wording(
        subject="Set a new password",
        paragraphs=(
            "Someone (we hope you) asked to set a new password for your account.",
            (
                "The link below works once, for one hour. If you did not ask, you can "
                "ignore this message: your password stays as it is."
            ),
        ),
        action_label="Set a new password",
        action_path=f"/reset-password?token={c['token']}",
    )


def _invitation(c: Context) -> Wording:
    return Wording(
        subject=f"Sign in to {c['community_name']} yourself",
        paragraphs=(
            (
                f"{c['inviter']}, a coordinator of {c['community_name']}, invites you to use "
                "the time bank's website yourself."
            ),
            (
                "The link below lets you choose a password. It works once, for 7 days. "
                "If you would rather not, ignore this message: your coordinator can still "
                "help you as before."
            ),
        ),
        action_label="Choose a password",
        action_path=f"/reset-password?token={c['token']}",
    )


def _password_changed(_c: Context) -> Wording:
    return Wording(
        subject="Your password has been changed",
        paragraphs=(
            (
                "The password of your account has just been changed, and every other "
                "device has been signed out."
            ),
            "If this was not you, please set a new password at once, and tell your coordinator.",
        ),
        action_label="Set a new password",
        action_path="/forgot-password",
    )


def _email_change_confirm(c: Context) -> Wording:
    return Wording(
        subject="Please confirm your new email address",
        paragraphs=(
            "You asked to use this address for your time bank account.",
            (
                "Follow the link below within one hour to confirm it. If you did not "
                "ask, you can ignore this message."
            ),
        ),
        action_label="Confirm this address",
        action_path=f"/account/email/confirm?token={c['token']}",
    )


def _email_change_notice(c: Context) -> Wording:
    return Wording(
        subject="Your email address is being changed",
        paragraphs=(
            (
                f"Someone signed in to your account asked to use {c['new_email_hint']} instead "
                "of this address. It changes once that address is confirmed."
            ),
            "If this was not you, please set a new password at once, and tell your coordinator.",
        ),
        action_label="Set a new password",
        action_path="/forgot-password",
    )


def _register_taken(_c: Context) -> Wording:
    return Wording(
        subject="Someone tried to join with your email address",
        paragraphs=(
            (
                "Someone tried to create a new account with this email address, "
                "but you already have one. Nothing has changed."
            ),
            "If it was you, you can sign in, or set a new password if you have forgotten it.",
        ),
        action_label="Set a new password",
        action_path="/forgot-password",
    )


WORDINGS: dict[str, Callable[[Context], Wording]] = {
    "exchange_proposed": _exchange_proposed,
    "exchange_accepted": _exchange_accepted,
    "exchange_confirm_reminder": _exchange_confirm_reminder,
    "hold_expiring": _hold_expiring,
    "exchange_completed": _exchange_completed,
    "dispute_opened": _dispute_opened,
    "dispute_decided": _dispute_decided,
    "membership_approved": _membership_approved,
    "membership_declined": _membership_declined,
    "password_reset": _password_reset,
    "invitation": _invitation,
    "password_changed": _password_changed,
    "email_change_confirm": _email_change_confirm,
    "email_change_notice": _email_change_notice,
    "register_taken": _register_taken,
}


def wording_of(kind: str, context: Context) -> Wording:
    """The words of one message; KeyError for an unknown kind or a missing context field."""
    return WORDINGS[kind](context)
