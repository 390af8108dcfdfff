"""One way to say each quantity people read: hours, money, months, days.

Every page, message and problem detail uses these, so "0 hours" and "£3" read
the same everywhere (the page kit also registers them as Jinja filters).
"""

from __future__ import annotations

import contextlib
import re
from datetime import date, datetime

from babel.dates import format_date

from service import clock
from service.i18n import ENGLISH, _, current_language, ngettext

MINUTES_PER_HOUR = 60
PENCE_PER_POUND = 100
HOURS_PER_HALF_DAY = 12
# Welsh writes the morning and the afternoon as "yb" (y bore) and "yh" (yr hwyr).
WELSH_DAY_HALVES = ("yb", "yh")


def _minus(text: str) -> str:
    return _("minus %(amount)s") % {"amount": text}


def minutes_text(minutes: int) -> str:
    """Whole minutes as people say them: "3 hours 30 minutes", "1 hour", "minus 45 minutes".

    In Welsh "3 awr 30 munud": after a written number the noun stays singular, and the
    catalog's six plural forms say so (ADR 0048).
    """
    hours, rest = divmod(abs(minutes), MINUTES_PER_HOUR)
    parts = []
    if hours or not rest:
        parts.append(ngettext("%(n)s hour", "%(n)s hours", hours) % {"n": hours})
    if rest:
        parts.append(ngettext("%(n)s minute", "%(n)s minutes", rest) % {"n": rest})
    text = " ".join(parts)
    return _minus(text) if minutes < 0 else text


def money_text(pence: int) -> str:
    """Pence as people write pounds: "£12.50", "£3", "minus £1.20"."""
    pounds, rest = divmod(abs(pence), PENCE_PER_POUND)
    text = f"£{pounds:,}" + (f".{rest:02d}" if rest else "")
    return _minus(text) if pence < 0 else text


def month_text(month: str) -> str:
    """ "2026-11" -> "November 2026" ("Tachwedd 2026" in Welsh)."""
    year, number = month.split("-")
    first = date(int(year), int(number), 1)
    if current_language() == ENGLISH:
        return first.strftime("%B %Y")
    return format_date(first, "LLLL y", locale=current_language())


def signed_minutes_text(minutes: int) -> str:
    """A change to a balance, with its sign: "+1 hour", "-30 minutes"."""
    return ("-" if minutes < 0 else "+") + minutes_text(abs(minutes))


def _wall(instant: datetime | date) -> datetime | date:
    """An instant as the time bank's clock shows it; a plain day as it is."""
    return clock.local(instant) if isinstance(instant, datetime) else instant


def date_words(instant: datetime | date) -> str:
    """A day as people say it: "Friday 4 December 2026", never an ISO string.

    An instant is said as the day the time bank's clock shows (ADR 0064)."""
    instant = _wall(instant)
    if current_language() == ENGLISH:
        return f"{instant:%A} {instant.day} {instant:%B %Y}"
    return format_date(instant, "EEEE d MMMM y", locale=current_language())


def day_month_words(instant: datetime | date) -> str:
    """A day of this year, short: "4 December" ("4 Rhagfyr")."""
    instant = _wall(instant)
    if current_language() == ENGLISH:
        return f"{instant.day} {instant:%B}"
    return format_date(instant, "d MMMM", locale=current_language())


def time_words(instant: datetime) -> str:
    """A time of day as people say it: "2:30 pm", "9 am" ("2:30 yh", "9 yb"), on the
    time bank's clock."""
    instant = clock.local(instant)
    hour = instant.hour % HOURS_PER_HALF_DAY or HOURS_PER_HALF_DAY
    minutes = f":{instant.minute:02d}" if instant.minute else ""
    afternoon = instant.hour >= HOURS_PER_HALF_DAY
    if current_language() == ENGLISH:
        return f"{hour}{minutes} {'pm' if afternoon else 'am'}"
    return f"{hour}{minutes} {WELSH_DAY_HALVES[afternoon]}"


def clock_words(instant: datetime) -> str:
    """A time of day on the time bank's clock, as a form shows it: "14:30"."""
    return f"{clock.local(instant):%H:%M}"


def iso_day(instant: datetime | date) -> str:
    """The day an instant falls on, on the time bank's clock, for `<time datetime>`."""
    day = clock.local_day(instant) if isinstance(instant, datetime) else instant
    return day.isoformat()


def moment_words(instant: datetime) -> str:
    """A day with its time, where the time matters: "Friday 4 December 2026 at 2:30 pm"."""
    return _("%(day)s at %(time)s") % {"day": date_words(instant), "time": time_words(instant)}


def room_words(floor_minutes: int | None, *, subject: str = "You") -> str:
    """How far a balance may go down, in one sentence (docs/words.md: the lowest you can go).

    `subject` is "You" on a member's own pages, "They" on a coordinator's view of them.
    """
    own = subject == "You"
    if floor_minutes is None:
        if own:
            return _("There is no lowest limit on your balance.")
        return _("There is no lowest limit on their balance.")
    if floor_minutes == 0:
        return _("You cannot go below 0 hours.") if own else _("They cannot go below 0 hours.")
    figures = {"hours": minutes_text(floor_minutes)}
    if own:
        return _("You can go down to %(hours)s.") % figures
    return _("They can go down to %(hours)s.") % figures


def balance_words(balance_minutes: int, floor_minutes: int | None) -> str:
    """A balance with its room: "You have 2 hours. You can go down to minus 10 hours." """
    figures = {"hours": minutes_text(balance_minutes)}
    if balance_minutes < 0:
        have = _("Your balance is %(hours)s.") % figures
    else:
        have = _("You have %(hours)s.") % figures
    return f"{have} {room_words(floor_minutes)}"


_HELD_UNTIL = re.compile(r"^hours held until (?P<at>\S+)$")
_SERVICE_DATE = re.compile(r"^service date (?P<at>\d{4}-\d{2}-\d{2})$")
_WAITING_FOR = re.compile(r"^waiting for (?P<count>\d+) more$")
_CONFIRMS_BY_ITSELF = re.compile(r"^confirms by itself on (?P<day>.+) unless answered$")


def history_note_words(note: str) -> str:
    """An exchange history note in plain words.

    Notes were written as short machine phrases ("hours held until 2026-12-22T00:00+00:00",
    "service date 2026-12-01") and stay so in the database; a page shows them as people
    say them ("the hours are on hold until Tuesday 22 December 2026").
    """
    if match := _HELD_UNTIL.match(note):
        with contextlib.suppress(ValueError):
            until = datetime.fromisoformat(match["at"])
            return _("the hours are on hold until %(day)s") % {"day": date_words(until)}
    if match := _SERVICE_DATE.match(note):
        with contextlib.suppress(ValueError):
            day = date_words(date.fromisoformat(match["at"]))
            return _("the help happened on %(day)s") % {"day": day}
    if match := _WAITING_FOR.match(note):
        count = int(match["count"])
        return ngettext(
            "waiting for %(n)s more person to accept",
            "waiting for %(n)s more people to accept",
            count,
        ) % {"n": count}
    if match := _CONFIRMS_BY_ITSELF.match(note):
        with contextlib.suppress(ValueError):
            deadline = datetime.strptime(match["day"], "%A %d %B %Y")  # noqa: DTZ007 - a day
            words = date_words(deadline)
            return _("confirms by itself on %(day)s unless answered") % {"day": words}
    if note == "dispute opened":
        return _("a dispute was opened")
    return note
