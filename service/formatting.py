"""One way to say each quantity people read: hours, money, months, days.

Every page, message and problem detail uses these, so "0 hours" and "£3" read
the same everywhere (the page kit also registers them as Jinja filters).
"""

from __future__ import annotations

import contextlib
import re
from datetime import date, datetime

MINUTES_PER_HOUR = 60
PENCE_PER_POUND = 100
HOURS_PER_HALF_DAY = 12


def minutes_text(minutes: int) -> str:
    """Whole minutes as people say them: "3 hours 30 minutes", "1 hour", "minus 45 minutes"."""
    hours, rest = divmod(abs(minutes), MINUTES_PER_HOUR)
    parts = []
    if hours or not rest:
        parts.append(f"{hours} hour{'' if hours == 1 else 's'}")
    if rest:
        parts.append(f"{rest} minute{'' if rest == 1 else 's'}")
    return ("minus " if minutes < 0 else "") + " ".join(parts)


def money_text(pence: int) -> str:
    """Pence as people write pounds: "£12.50", "£3", "minus £1.20"."""
    pounds, rest = divmod(abs(pence), PENCE_PER_POUND)
    text = f"£{pounds:,}" + (f".{rest:02d}" if rest else "")
    return ("minus " if pence < 0 else "") + text


def month_text(month: str) -> str:
    """ "2026-11" -> "November 2026"."""
    year, number = month.split("-")
    return date(int(year), int(number), 1).strftime("%B %Y")


def signed_minutes_text(minutes: int) -> str:
    """A change to a balance, with its sign: "+1 hour", "-30 minutes"."""
    return ("-" if minutes < 0 else "+") + minutes_text(abs(minutes))


def date_words(instant: datetime | date) -> str:
    """A day as people say it: "Friday 4 December 2026", never an ISO string."""
    return f"{instant:%A} {instant.day} {instant:%B %Y}"


def time_words(instant: datetime) -> str:
    """A time of day as people say it: "2:30 pm", "9 am"."""
    hour = instant.hour % HOURS_PER_HALF_DAY or HOURS_PER_HALF_DAY
    minutes = f":{instant.minute:02d}" if instant.minute else ""
    return f"{hour}{minutes} {'am' if instant.hour < HOURS_PER_HALF_DAY else 'pm'}"


def moment_words(instant: datetime) -> str:
    """A day with its time, where the time matters: "Friday 4 December 2026 at 2:30 pm"."""
    return f"{date_words(instant)} at {time_words(instant)}"


def room_words(floor_minutes: int | None, *, subject: str = "You") -> str:
    """How far a balance may go down, in one sentence (docs/words.md: the lowest you can go).

    `subject` is "You" on a member's own pages, "They" on a coordinator's view of them.
    """
    if floor_minutes is None:
        return f"There is no lowest limit on {'your' if subject == 'You' else 'their'} balance."
    if floor_minutes == 0:
        return f"{subject} cannot go below 0 hours."
    return f"{subject} can go down to {minutes_text(floor_minutes)}."


def balance_words(balance_minutes: int, floor_minutes: int | None) -> str:
    """A balance with its room: "You have 2 hours. You can go down to minus 10 hours." """
    if balance_minutes < 0:
        have = f"Your balance is {minutes_text(balance_minutes)}."
    else:
        have = f"You have {minutes_text(balance_minutes)}."
    return f"{have} {room_words(floor_minutes)}"


_HELD_UNTIL = re.compile(r"^hours held until (?P<at>\S+)$")
_SERVICE_DATE = re.compile(r"^service date (?P<at>\d{4}-\d{2}-\d{2})$")
_WAITING_FOR = re.compile(r"^waiting for (?P<count>\d+) more$")


def history_note_words(note: str) -> str:
    """An exchange history note in plain words.

    Notes were written as short machine phrases ("hours held until 2026-12-22T00:00+00:00",
    "service date 2026-12-01") and stay so in the database; a page shows them as people
    say them ("the hours are on hold until Tuesday 22 December 2026").
    """
    if match := _HELD_UNTIL.match(note):
        with contextlib.suppress(ValueError):
            until = datetime.fromisoformat(match["at"])
            return f"the hours are on hold until {date_words(until)}"
    if match := _SERVICE_DATE.match(note):
        with contextlib.suppress(ValueError):
            return f"the help happened on {date_words(date.fromisoformat(match['at']))}"
    if match := _WAITING_FOR.match(note):
        count = int(match["count"])
        return f"waiting for {count} more {'person' if count == 1 else 'people'} to accept"
    if note == "dispute opened":
        return "a dispute was opened"
    return note
