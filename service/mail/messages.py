"""What each kind of message says, in plain words: a subject, a few sentences, one link.

The templates in service/templates/mail/ lay these out as plain text and HTML;
the wording lives here, in one place, so every message reads alike. Hours are
always written in words ("1 hour 30 minutes"), never as minutes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from service.formatting import date_words, minutes_text, moment_words
from service.i18n import N_, _, ngettext


@dataclass(frozen=True, slots=True)
class Wording:
    subject: str
    paragraphs: tuple[str, ...]
    action_label: str
    action_path: str  # the one page where the member acts (joined to the base URL)


Context = Mapping[str, Any]


# Each kind's words, with %(fields)s filled from the message's context (`hours` is its
# minutes in words, `hours_capitalised` the same with a capital). Marked for translation
# here and translated when a message is written (wording_of), in the reader's language.
WORDINGS: Mapping[str, Wording] = {
    "exchange_proposed": Wording(
        subject=N_("%(other_name)s has suggested an exchange"),
        paragraphs=(
            N_("%(other_name)s has suggested an exchange of %(hours)s: %(description)s"),
            N_(
                "The date they gave is %(service_date)s. Please have a look, and accept it if it "
                "suits you."
            ),
        ),
        action_label=N_("See the exchange"),
        action_path="/exchanges/{exchange_id}",
    ),
    "exchange_accepted": Wording(
        subject=N_("%(other_name)s has accepted your exchange"),
        paragraphs=(
            N_("%(other_name)s has accepted the exchange of %(hours)s: %(description)s"),
            N_("It is planned for %(service_date)s."),
        ),
        action_label=N_("See the exchange"),
        action_path="/exchanges/{exchange_id}",
    ),
    "exchange_confirm_reminder": Wording(
        subject=N_("Please confirm the help you received"),
        paragraphs=(
            N_(
                "%(other_name)s was due to help you on %(service_date)s "
                "(%(hours)s: %(description)s)."
            ),
            N_("If it happened, please confirm it, so that they receive their hours."),
        ),
        action_label=N_("Confirm the help happened"),
        action_path="/exchanges/{exchange_id}",
    ),
    "hold_expiring": Wording(
        subject=N_("Your hours go back in 48 hours"),
        paragraphs=(
            N_(
                "The %(hours)s on hold for your exchange with %(other_name)s (%(description)s) go "
                "back to your balance in 48 hours."
            ),
            N_("If the help happened, please confirm it now, so that they receive their hours."),
        ),
        action_label=N_("Confirm the help happened"),
        action_path="/exchanges/{exchange_id}",
    ),
    "exchange_completed": Wording(
        subject=N_("You have received %(hours)s"),
        paragraphs=(
            N_("%(other_name)s has confirmed your exchange: %(description)s."),
            N_("%(hours_capitalised)s have been added to your balance. Thank you for helping."),
        ),
        action_label=N_("See your account"),
        action_path="/dashboard",
    ),
    "exchange_marked_done": Wording(
        subject=N_("%(other_name)s says the help is done: please confirm"),
        paragraphs=(
            N_("%(other_name)s has marked your exchange as done (%(hours)s: %(description)s)."),
            N_(
                "If the help happened, please confirm it, so that they receive their hours. "
                "If it did not happen, you can call the exchange off. If we hear nothing, "
                "it will be confirmed for you on %(confirm_by)s."
            ),
        ),
        action_label=N_("Confirm the help happened"),
        action_path="/exchanges/{exchange_id}",
    ),
    "exchange_autoconfirmed": Wording(
        subject=N_("Your exchange has been confirmed for you"),
        paragraphs=(
            N_(
                "%(other_name)s marked your exchange as done (%(hours)s: %(description)s), and we "
                "did not hear from you in time, so it has now been confirmed and the hours "
                "have moved."
            ),
            N_("If something was not right, you can still open a dispute about it."),
        ),
        action_label=N_("See the exchange"),
        action_path="/exchanges/{exchange_id}",
    ),
    "exchange_completed_by_itself": Wording(
        subject=N_("You have received %(hours)s"),
        paragraphs=(
            N_(
                "Your exchange (%(description)s) has been confirmed, as nobody answered in "
                "time after you marked it done."
            ),
            N_("%(hours_capitalised)s have been added to your balance. Thank you for helping."),
        ),
        action_label=N_("See the exchange"),
        action_path="/exchanges/{exchange_id}",
    ),
    "exchange_cancelled_closure": Wording(
        subject=N_("An exchange has been called off"),
        paragraphs=(
            N_(
                "A member taking part in your exchange has left the time bank, so the "
                "exchange has been called off (%(hours)s: %(description)s)."
            ),
            N_("Any hours that were on hold for it have gone back."),
        ),
        action_label=N_("See the exchange"),
        action_path="/exchanges/{exchange_id}",
    ),
    "exchange_declined": Wording(
        subject=N_("%(other_name)s has declined an exchange"),
        paragraphs=(
            # The reason in the first paragraph: the in-app notice shows that one.
            N_(
                "%(other_name)s has declined the exchange you suggested (%(hours)s: "
                "%(description)s). %(reason_words)s"
            ),
            N_("No hours have moved. You can suggest another exchange at any time."),
        ),
        action_label=N_("See the exchange"),
        action_path="/exchanges/{exchange_id}",
    ),
    "dispute_opened": Wording(
        subject=N_("A dispute has been opened about an exchange"),
        paragraphs=(
            N_("%(other_name)s has opened a dispute about your exchange: %(description)s."),
            N_("An admin will decide it. You can add your side of the story."),
        ),
        action_label=N_("See the dispute"),
        action_path="/disputes/{dispute_id}",
    ),
    "dispute_decided": Wording(
        subject=N_("The dispute about your exchange has been decided"),
        paragraphs=(
            N_("An admin has decided the dispute about the exchange: %(description)s."),
            N_("The outcome: %(outcome_words)s."),
        ),
        action_label=N_("See the outcome"),
        action_path="/disputes/{dispute_id}",
    ),
    "membership_approved": Wording(
        subject=N_("Welcome to %(community_name)s"),
        paragraphs=(
            N_("A coordinator has approved your membership. You can now offer and ask for help."),
        ),
        action_label=N_("Go to your page"),
        action_path="/dashboard",
    ),
    "membership_declined": Wording(
        subject=N_("About your application to %(community_name)s"),
        paragraphs=(
            N_("A coordinator could not approve your membership this time."),
            N_("The reason they gave: %(reason)s"),
        ),
        action_label=N_("Read more"),
        action_path="/dashboard",
    ),
    "password_reset": Wording(
        subject=N_("Set a new password"),
        paragraphs=(
            N_("Someone (we hope you) asked to set a new password for your account."),
            N_(
                "The link below works once, for one hour. If you did not ask, you can ignore this "
                "message: your password stays as it is."
            ),
        ),
        action_label=N_("Set a new password"),
        action_path="/reset-password?token={token}",
    ),
    "invitation": Wording(
        subject=N_("Sign in to %(community_name)s yourself"),
        paragraphs=(
            N_(
                "%(inviter)s, a coordinator of %(community_name)s, invites you to use "
                "the time bank's website yourself."
            ),
            N_(
                "The link below lets you choose a password. It works once, for 7 days. "
                "If you would rather not, ignore this message: your coordinator can still "
                "help you as before."
            ),
        ),
        action_label=N_("Choose a password"),
        action_path="/reset-password?token={token}",
    ),
    "password_changed": Wording(
        subject=N_("Your password has been changed"),
        paragraphs=(
            N_(
                "The password of your account has just been changed, and every other device has "
                "been signed out."
            ),
            N_(
                "If this was not you, please set a new password at once, and tell your coordinator."
            ),
        ),
        action_label=N_("Set a new password"),
        action_path="/forgot-password",
    ),
    "email_change_confirm": Wording(
        subject=N_("Please confirm your new email address"),
        paragraphs=(
            N_("You asked to use this address for your time bank account."),
            N_(
                "Follow the link below within one hour to confirm it. If you did not ask, you can "
                "ignore this message."
            ),
        ),
        action_label=N_("Confirm this address"),
        action_path="/account/email/confirm?token={token}",
    ),
    "email_change_notice": Wording(
        subject=N_("Your email address is being changed"),
        paragraphs=(
            N_(
                "Someone signed in to your account asked to use %(new_email_hint)s instead of this "
                "address. It changes once that address is confirmed."
            ),
            N_(
                "If this was not you, please set a new password at once, and tell your coordinator."
            ),
        ),
        action_label=N_("Set a new password"),
        action_path="/forgot-password",
    ),
    "message_received": Wording(
        subject=N_("%(other_name)s has sent you a message"),
        paragraphs=(
            N_("%(other_name)s has sent you a message in your time bank."),
            N_("You can read it and reply on the site."),
        ),
        action_label=N_("Read the message"),
        action_path="/messages/{conversation_id}",
    ),
    "concern_raised": Wording(
        subject=N_("A member has reported a concern"),
        paragraphs=(
            N_("A member of %(community_name)s has reported a concern. Please read it soon."),
            N_("The concern is in your queue; what it says stays on the site."),
        ),
        action_label=N_("Read the concern"),
        action_path="/coordinator/concerns/{concern_id}",
    ),
    "concern_closed": Wording(
        subject=N_("The concern you reported has been looked at"),
        paragraphs=(
            N_("A coordinator has looked into the concern you reported and closed it: %(outcome)s"),
            N_("Thank you for telling us. If you are still worried, you can report it again."),
        ),
        action_label=N_("See your concerns"),
        action_path="/concerns",
    ),
    "register_taken": Wording(
        subject=N_("Someone tried to join with your email address"),
        paragraphs=(
            N_(
                "Someone tried to create a new account with this email address, but you already "
                "have one. Nothing has changed."
            ),
            N_("If it was you, you can sign in, or set a new password if you have forgotten it."),
        ),
        action_label=N_("Set a new password"),
        action_path="/forgot-password",
    ),
    "check_required": Wording(
        subject=N_("A safeguarding check is needed for %(member_name)s"),
        paragraphs=(
            N_(
                "%(member_name)s tried to take on help in someone's home, but their "
                "safeguarding check is missing or out of date, so it was refused."
            ),
            N_("Please record a check for them if they have one."),
        ),
        action_label=N_("Open their member file"),
        action_path="/coordinator/members/{about_member_id}",
    ),
    "check_expiring": Wording(
        subject=N_("A safeguarding check ends soon: %(member_name)s"),
        paragraphs=(
            N_("The %(check_name)s of %(member_name)s runs out on %(expires_on)s."),
            N_("Please arrange a new one, so they can go on helping in people's homes."),
        ),
        action_label=N_("Open their member file"),
        action_path="/coordinator/members/{about_member_id}",
    ),
    "listing_renew": Wording(
        subject=N_("Your listing ends soon: %(title)s"),
        paragraphs=(
            N_('Your listing "%(title)s" comes down on %(expires_on)s.'),
            N_("If it still stands, renew it and it stays up for another %(listing_days)s days."),
        ),
        action_label=N_("See your listings"),
        action_path="/my-listings",
    ),
    "event_place_free": Wording(
        subject=N_("A place is yours: %(event_title)s"),
        paragraphs=(
            N_(
                "A place came free at %(event_title)s on %(starts_words)s, and you were first on "
                "the waiting list, so it is yours."
            ),
            N_(
                "It is at %(place)s. If you cannot come after all, please say so on the event's "
                "page, so the next person can go."
            ),
        ),
        action_label=N_("See the event"),
        action_path="/events/{event_id}",
    ),
    "event_reminder": Wording(
        subject=N_("Tomorrow: %(event_title)s"),
        paragraphs=(
            N_(
                "A reminder that you are going to %(event_title)s on %(starts_words)s, "
                "at %(place)s."
            ),
            N_(
                "If you cannot come, please say so on the event's page, so someone waiting "
                "can have your place."
            ),
        ),
        action_label=N_("See the event"),
        action_path="/events/{event_id}",
    ),
    "event_cancelled": Wording(
        subject=N_("Cancelled: %(event_title)s on %(starts_words)s"),
        paragraphs=(
            N_(
                "%(event_title)s on %(starts_words)s, at %(place)s, has been cancelled by the "
                "coordinators. Other meetings of it go ahead as planned."
            ),
        ),
        action_label=N_("See upcoming events"),
        action_path="/events",
    ),
    "thanks_received": Wording(
        subject=N_("%(author_name)s has thanked you"),
        paragraphs=(N_("%(author_name)s left you a thank-you note: %(text)s"),),
        action_label=N_("See your profile"),
        action_path="/members/{receiver_id}",
    ),
}


# A message whose length depends on its context: built, not filled in.
DIGEST_LINES = {
    "offer": N_("Offered by %(owner_name)s: %(title)s (%(category)s)"),
    "request": N_("Asked for by %(owner_name)s: %(title)s (%(category)s)"),
}
DIGEST_LINE_OTHER = N_("Listed by %(owner_name)s: %(title)s (%(category)s)")


def _listing_digest(c: Context) -> Wording:
    items = list(c.get("items", []))
    lines = tuple(
        _(DIGEST_LINES.get(item["kind"], DIGEST_LINE_OTHER))
        % {
            "owner_name": item["owner_name"],
            "title": item["title"],
            "category": _(item["category"]),
        }
        for item in items
    )
    subject = ngettext(
        "A new offer or request that may suit you",
        "%(count)s new offers and requests that may suit you",
        len(items),
    ) % {"count": len(items)}
    intro = _(
        "This week in your time bank, these match what you can help with "
        "or what you have asked for before:"
    )
    return Wording(
        subject=subject,
        paragraphs=(intro, *lines),
        action_label=_("See all offers and requests"),
        action_path="/listings",
    )


BUILT_WORDINGS: Mapping[str, Callable[[Context], Wording]] = {"listing_digest": _listing_digest}
# Every kind of message there is.
MESSAGE_KINDS = frozenset(WORDINGS) | frozenset(BUILT_WORDINGS)
# Context fields that hold one of a fixed set of English phrases (never a member's words):
# the caller stores the English text and the message translates it when written.
PHRASE_FIELDS = ("outcome_words", "check_name")
# Moments worded again in the reader's language where the context keeps the moment itself
# (words field -> ISO moment field); older messages keep the words they were queued with.
MOMENT_FIELDS = {"starts_words": "starts_at"}
# Days likewise (words field -> ISO day or moment field).
DAY_FIELDS = {
    "service_date": "service_on",
    "expires_on": "expires_day",
    "confirm_by": "confirm_day",
}


def _reader_words(context: Context) -> dict[str, str]:
    """Fields queued as facts (a day, a reason, no name) worded in the reader's language."""
    fields = {
        words: date_words(datetime.fromisoformat(str(context[day])))
        for words, day in DAY_FIELDS.items()
        if context.get(day)
    }
    if context.get("other_unnamed"):
        fields["other_name"] = _("A coordinator")
    if "reason" in context:
        reason = str(context["reason"] or "")
        fields["reason_words"] = (
            _("They said: %(reason)s") % {"reason": reason}
            if reason
            else _("They did not give a reason.")
        )
    return fields


def wording_of(kind: str, context: Context) -> Wording:
    """The words of one message, in the current language (see service.i18n.use_language).

    KeyError for an unknown kind or a missing context field.
    """
    if kind in BUILT_WORDINGS:
        return BUILT_WORDINGS[kind](context)
    template = WORDINGS[kind]
    hours = minutes_text(int(context.get("minutes", 0)))
    # Links name their exchange or dispute when the context has one.
    fields = {
        "exchange_id": "",
        "dispute_id": "",
        **context,
        **{name: _(str(context[name])) for name in PHRASE_FIELDS if context.get(name)},
        **{
            words: moment_words(datetime.fromisoformat(str(context[moment])))
            for words, moment in MOMENT_FIELDS.items()
            if context.get(moment)
        },
        **_reader_words(context),
        "hours": hours,
        "hours_capitalised": hours.capitalize(),
    }
    return Wording(
        subject=_(template.subject) % fields,
        paragraphs=tuple(_(paragraph) % fields for paragraph in template.paragraphs),
        action_label=_(template.action_label) % fields,
        action_path=template.action_path.format_map(fields),
    )
