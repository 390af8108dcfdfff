"""What an exchange's steps and states are called on pages (docs/words.md).

Pages of other features that show an exchange's history (the admin's dispute page)
use these, so an admin reads "Proposed by Bert Price", never "propose by".
"""

from __future__ import annotations

from service.i18n import N_, _

ACTION_WORDS = {
    "propose": N_("Proposed"),
    "agree": N_("Agreed"),
    "accept": N_("Accepted"),
    "complete": N_("Confirmed the help happened"),
    "cancel": N_("Called off"),
    "expire": N_("The hours went back: not confirmed in time"),
    "record": N_("Recorded by a coordinator"),
    "dispute": N_("Disputed"),
    "dispute_resolved": N_("Dispute decided"),
    "mark_done": N_("Marked as done"),
    "autoconfirm": N_("Confirmed by itself"),
}
# The one set of words for an exchange's state, on every page that shows one
# (docs/words.md: "call off", never "cancel"; "the hours go back", never "expired").
STATUS_WORDS = {
    "proposed": N_("Waiting for acceptance"),
    "accepted": N_("Agreed, waiting for confirmation"),
    "completed": N_("Completed"),
    "cancelled": N_("Called off"),
    "expired": N_("Not confirmed in time"),
}


def action_words(action: str) -> str:
    """The step in the current language ("Proposed", "Cynigiwyd")."""
    word = ACTION_WORDS.get(action)
    return _(word) if word else action.replace("_", " ").capitalize()


def status_words(status: str) -> str:
    """The state in the current language."""
    word = STATUS_WORDS.get(status)
    return _(word) if word else status.capitalize()
