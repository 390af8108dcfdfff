"""What a member's state is called on pages: the admin's and the coordinator's lists
and member files say the same words."""

from __future__ import annotations

MEMBER_STATUS_WORDS = {
    "active": "Active",
    "pending": "Waiting for approval",
    "suspended": "Suspended",
    "closed": "Closed",
    "declined": "Application declined",
}


def member_status_words(status: str) -> str:
    return MEMBER_STATUS_WORDS.get(status, status.capitalize())
