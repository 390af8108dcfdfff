"""What an exchange's steps and states are called on pages (docs/words.md).

Pages of other features that show an exchange's history (the admin's dispute page)
use these, so an admin reads "Proposed by Bert Price", never "propose by".
"""

from __future__ import annotations

ACTION_WORDS = {
    "propose": "Proposed",
    "agree": "Agreed",
    "accept": "Accepted",
    "complete": "Confirmed the help happened",
    "cancel": "Called off",
    "expire": "The hours went back: not confirmed in time",
    "record": "Recorded by a coordinator",
    "dispute": "Disputed",
    "dispute_resolved": "Dispute decided",
    "mark_done": "Marked as done",
    "autoconfirm": "Confirmed by itself",
}
# The one set of words for an exchange's state, on every page that shows one
# (docs/words.md: "call off", never "cancel"; "the hours go back", never "expired").
STATUS_WORDS = {
    "proposed": "Waiting for acceptance",
    "accepted": "Agreed, waiting for confirmation",
    "completed": "Completed",
    "cancelled": "Called off",
    "expired": "Not confirmed in time",
}


def action_words(action: str) -> str:
    return ACTION_WORDS.get(action, action.replace("_", " ").capitalize())


def status_words(status: str) -> str:
    return STATUS_WORDS.get(status, status.capitalize())
