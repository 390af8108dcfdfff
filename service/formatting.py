"""One way to say each quantity people read: hours, money, months, days.

Every page, message and problem detail uses these, so "0 hours" and "£3" read
the same everywhere (the page kit also registers them as Jinja filters).
"""

from __future__ import annotations

from datetime import date, datetime

MINUTES_PER_HOUR = 60
PENCE_PER_POUND = 100


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
