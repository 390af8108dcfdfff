"""What a member's state is called on pages: the admin's and the coordinator's lists
and member files say the same words."""

from __future__ import annotations

from service.i18n import N_, _

MEMBER_STATUS_WORDS = {
    "active": N_("Active"),
    "pending": N_("Waiting for approval"),
    "suspended": N_("Suspended"),
    "closed": N_("Closed"),
    "declined": N_("Application declined"),
}


def member_status_words(status: str) -> str:
    """The member's status in the current language."""
    word = MEMBER_STATUS_WORDS.get(status)
    return _(word) if word else status.capitalize()
