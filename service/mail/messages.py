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


# Each kind's words, with {fields} filled from the message's context (`hours` is its
# minutes in words, `hours_capitalised` the same with a capital).
WORDINGS: Mapping[str, Wording] = {
    "exchange_proposed": Wording(
        subject="{other_name} has suggested an exchange",
        paragraphs=(
            "{other_name} has suggested an exchange of {hours}: {description}",
            (
                "The date they gave is {service_date}. Please have a look, and accept it if it "
                "suits you."
            ),
        ),
        action_label="See the exchange",
        action_path="/exchanges/{exchange_id}",
    ),
    "exchange_accepted": Wording(
        subject="{other_name} has accepted your exchange",
        paragraphs=(
            "{other_name} has accepted the exchange of {hours}: {description}",
            "It is planned for {service_date}.",
        ),
        action_label="See the exchange",
        action_path="/exchanges/{exchange_id}",
    ),
    "exchange_confirm_reminder": Wording(
        subject="Please confirm the help you received",
        paragraphs=(
            "{other_name} was due to help you on {service_date} ({hours}: {description}).",
            "If it happened, please confirm it, so that they receive their hours.",
        ),
        action_label="Confirm the help happened",
        action_path="/exchanges/{exchange_id}",
    ),
    "hold_expiring": Wording(
        subject="Your hours go back in 48 hours",
        paragraphs=(
            (
                "The {hours} on hold for your exchange with {other_name} ({description}) go "
                "back to your balance in 48 hours."
            ),
            "If the help happened, please confirm it now, so that they receive their hours.",
        ),
        action_label="Confirm the help happened",
        action_path="/exchanges/{exchange_id}",
    ),
    "exchange_completed": Wording(
        subject="You have received {hours}",
        paragraphs=(
            "{other_name} has confirmed your exchange: {description}.",
            "{hours_capitalised} have been added to your balance. Thank you for helping.",
        ),
        action_label="See your account",
        action_path="/dashboard",
    ),
    "exchange_marked_done": Wording(
        subject="{other_name} says the help is done: please confirm",
        paragraphs=(
            "{other_name} has marked your exchange as done ({hours}: {description}).",
            (
                "If the help happened, please confirm it, so that they receive their hours. "
                "If it did not happen, you can call the exchange off. If we hear nothing, "
                "it will be confirmed for you on {confirm_by}."
            ),
        ),
        action_label="Confirm the help happened",
        action_path="/exchanges/{exchange_id}",
    ),
    "exchange_autoconfirmed": Wording(
        subject="Your exchange has been confirmed for you",
        paragraphs=(
            (
                "{other_name} marked your exchange as done ({hours}: {description}), and we "
                "did not hear from you in time, so it has now been confirmed and the hours "
                "have moved."
            ),
            "If something was not right, you can still open a dispute about it.",
        ),
        action_label="See the exchange",
        action_path="/exchanges/{exchange_id}",
    ),
    "exchange_completed_by_itself": Wording(
        subject="You have received {hours}",
        paragraphs=(
            (
                "Your exchange ({description}) has been confirmed, as nobody answered in "
                "time after you marked it done."
            ),
            "{hours_capitalised} have been added to your balance. Thank you for helping.",
        ),
        action_label="See the exchange",
        action_path="/exchanges/{exchange_id}",
    ),
    "exchange_cancelled_closure": Wording(
        subject="An exchange has been called off",
        paragraphs=(
            (
                "A member taking part in your exchange has left the time bank, so the "
                "exchange has been called off ({hours}: {description})."
            ),
            "Any hours that were on hold for it have gone back.",
        ),
        action_label="See the exchange",
        action_path="/exchanges/{exchange_id}",
    ),
    "exchange_declined": Wording(
        subject="{other_name} has declined an exchange",
        paragraphs=(
            # The reason in the first paragraph: the in-app notice shows that one.
            (
                "{other_name} has declined the exchange you suggested ({hours}: "
                "{description}). {reason_words}"
            ),
            "No hours have moved. You can suggest another exchange at any time.",
        ),
        action_label="See the exchange",
        action_path="/exchanges/{exchange_id}",
    ),
    "dispute_opened": Wording(
        subject="A dispute has been opened about an exchange",
        paragraphs=(
            "{other_name} has opened a dispute about your exchange: {description}.",
            "An admin will decide it. You can add your side of the story.",
        ),
        action_label="See the dispute",
        action_path="/disputes/{dispute_id}",
    ),
    "dispute_decided": Wording(
        subject="The dispute about your exchange has been decided",
        paragraphs=(
            "An admin has decided the dispute about the exchange: {description}.",
            "The outcome: {outcome_words}.",
        ),
        action_label="See the outcome",
        action_path="/disputes/{dispute_id}",
    ),
    "membership_approved": Wording(
        subject="Welcome to {community_name}",
        paragraphs=(
            "A coordinator has approved your membership. You can now offer and ask for help.",
        ),
        action_label="Go to your page",
        action_path="/dashboard",
    ),
    "membership_declined": Wording(
        subject="About your application to {community_name}",
        paragraphs=(
            "A coordinator could not approve your membership this time.",
            "The reason they gave: {reason}",
        ),
        action_label="Read more",
        action_path="/dashboard",
    ),
    "password_reset": Wording(
        subject="Set a new password",
        paragraphs=(
            "Someone (we hope you) asked to set a new password for your account.",
            (
                "The link below works once, for one hour. If you did not ask, you can ignore this "
                "message: your password stays as it is."
            ),
        ),
        action_label="Set a new password",
        action_path="/reset-password?token={token}",
    ),
    "invitation": Wording(
        subject="Sign in to {community_name} yourself",
        paragraphs=(
            (
                "{inviter}, a coordinator of {community_name}, invites you to use "
                "the time bank's website yourself."
            ),
            (
                "The link below lets you choose a password. It works once, for 7 days. "
                "If you would rather not, ignore this message: your coordinator can still "
                "help you as before."
            ),
        ),
        action_label="Choose a password",
        action_path="/reset-password?token={token}",
    ),
    "password_changed": Wording(
        subject="Your password has been changed",
        paragraphs=(
            (
                "The password of your account has just been changed, and every other device has "
                "been signed out."
            ),
            "If this was not you, please set a new password at once, and tell your coordinator.",
        ),
        action_label="Set a new password",
        action_path="/forgot-password",
    ),
    "email_change_confirm": Wording(
        subject="Please confirm your new email address",
        paragraphs=(
            "You asked to use this address for your time bank account.",
            (
                "Follow the link below within one hour to confirm it. If you did not ask, you can "
                "ignore this message."
            ),
        ),
        action_label="Confirm this address",
        action_path="/account/email/confirm?token={token}",
    ),
    "email_change_notice": Wording(
        subject="Your email address is being changed",
        paragraphs=(
            (
                "Someone signed in to your account asked to use {new_email_hint} instead of this "
                "address. It changes once that address is confirmed."
            ),
            "If this was not you, please set a new password at once, and tell your coordinator.",
        ),
        action_label="Set a new password",
        action_path="/forgot-password",
    ),
    "message_received": Wording(
        subject="{other_name} has sent you a message",
        paragraphs=(
            "{other_name} has sent you a message in your time bank.",
            "You can read it and reply on the site.",
        ),
        action_label="Read the message",
        action_path="/messages/{conversation_id}",
    ),
    "concern_raised": Wording(
        subject="A member has reported a concern",
        paragraphs=(
            "A member of {community_name} has reported a concern. Please read it soon.",
            "The concern is in your queue; what it says stays on the site.",
        ),
        action_label="Read the concern",
        action_path="/coordinator/concerns/{concern_id}",
    ),
    "concern_closed": Wording(
        subject="The concern you reported has been looked at",
        paragraphs=(
            "A coordinator has looked into the concern you reported and closed it: {outcome}",
            "Thank you for telling us. If you are still worried, you can report it again.",
        ),
        action_label="See your concerns",
        action_path="/concerns",
    ),
    "register_taken": Wording(
        subject="Someone tried to join with your email address",
        paragraphs=(
            (
                "Someone tried to create a new account with this email address, but you already "
                "have one. Nothing has changed."
            ),
            "If it was you, you can sign in, or set a new password if you have forgotten it.",
        ),
        action_label="Set a new password",
        action_path="/forgot-password",
    ),
    "check_required": Wording(
        subject="A safeguarding check is needed for {member_name}",
        paragraphs=(
            (
                "{member_name} tried to take on help in someone's home, but their "
                "safeguarding check is missing or out of date, so it was refused."
            ),
            "Please record a check for them if they have one.",
        ),
        action_label="Open their member file",
        action_path="/coordinator/members/{about_member_id}",
    ),
    "check_expiring": Wording(
        subject="A safeguarding check ends soon: {member_name}",
        paragraphs=(
            "The {check_name} of {member_name} runs out on {expires_on}.",
            "Please arrange a new one, so they can go on helping in people's homes.",
        ),
        action_label="Open their member file",
        action_path="/coordinator/members/{about_member_id}",
    ),
    "listing_renew": Wording(
        subject="Your listing ends soon: {title}",
        paragraphs=(
            'Your listing "{title}" comes down on {expires_on}.',
            "If it still stands, renew it and it stays up for another {listing_days} days.",
        ),
        action_label="See your listings",
        action_path="/my-listings",
    ),
    "event_place_free": Wording(
        subject="A place is yours: {event_title}",
        paragraphs=(
            (
                "A place came free at {event_title} on {starts_words}, and you were first on "
                "the waiting list, so it is yours."
            ),
            (
                "It is at {place}. If you cannot come after all, please say so on the event's "
                "page, so the next person can go."
            ),
        ),
        action_label="See the event",
        action_path="/events/{event_id}",
    ),
    "event_reminder": Wording(
        subject="Tomorrow: {event_title}",
        paragraphs=(
            "A reminder that you are going to {event_title} on {starts_words}, at {place}.",
            (
                "If you cannot come, please say so on the event's page, so someone waiting "
                "can have your place."
            ),
        ),
        action_label="See the event",
        action_path="/events/{event_id}",
    ),
    "event_cancelled": Wording(
        subject="Cancelled: {event_title} on {starts_words}",
        paragraphs=(
            (
                "{event_title} on {starts_words}, at {place}, has been cancelled by the "
                "coordinators. Other meetings of it go ahead as planned."
            ),
        ),
        action_label="See upcoming events",
        action_path="/events",
    ),
    "thanks_received": Wording(
        subject="{author_name} has thanked you",
        paragraphs=("{author_name} left you a thank-you note: {text}",),
        action_label="See your profile",
        action_path="/members/{receiver_id}",
    ),
}


# A message whose length depends on its context: built, not filled in.
def _listing_digest(c: Context) -> Wording:
    items = list(c.get("items", []))
    kinds = {"offer": "Offered", "request": "Asked for"}
    lines = tuple(
        f"{kinds.get(item['kind'], 'Listed')} by {item['owner_name']}: {item['title']} "
        f"({item['category']})"
        for item in items
    )
    subject = (
        "A new offer or request that may suit you"
        if len(items) == 1
        else f"{len(items)} new offers and requests that may suit you"
    )
    intro = (
        "This week in your time bank, these match what you can help with "
        "or what you have asked for before:"
    )
    return Wording(
        subject=subject,
        paragraphs=(intro, *lines),
        action_label="See all offers and requests",
        action_path="/listings",
    )


BUILT_WORDINGS: Mapping[str, Callable[[Context], Wording]] = {"listing_digest": _listing_digest}
# Every kind of message there is.
MESSAGE_KINDS = frozenset(WORDINGS) | frozenset(BUILT_WORDINGS)


def wording_of(kind: str, context: Context) -> Wording:
    """The words of one message; KeyError for an unknown kind or a missing context field."""
    if kind in BUILT_WORDINGS:
        return BUILT_WORDINGS[kind](context)
    template = WORDINGS[kind]
    hours = minutes_text(int(context.get("minutes", 0)))
    # Links name their exchange or dispute when the context has one.
    fields = {
        "exchange_id": "",
        "dispute_id": "",
        **context,
        "hours": hours,
        "hours_capitalised": hours.capitalize(),
    }
    return Wording(
        subject=template.subject.format_map(fields),
        paragraphs=tuple(paragraph.format_map(fields) for paragraph in template.paragraphs),
        action_label=template.action_label.format_map(fields),
        action_path=template.action_path.format_map(fields),
    )
