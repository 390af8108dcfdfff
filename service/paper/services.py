"""Paper (issue 16 item 5): what a member who does not read screens can be handed.

- A printable statement for a period: the member's name, the period, the
  opening and closing balance, each change in words and in figures.
- The same lines as a plain-language CSV: dates as dates, hours as hours and
  minutes (the machine CSV, /api/v1/accounts/me/statement.csv, stays as it is).
- A printable list of a community's open offers and requests, grouped by
  category: titles, descriptions (never a sensitive one), availability, the
  owner's display name and ward, and nothing else personal.

Who may have them: the member themselves, a coordinator of the member's (or the
listing's) community, an admin; anyone else is told the member was not found
(no existence leaks, ADR 0006). Reads only: nothing is written or audited.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from ledger import Ledger
from service import clock
from service.errors import invalid_field
from service.formatting import MINUTES_PER_HOUR, minutes_text
from service.i18n import N_, _
from service.listings.tables import Listing
from service.members.tables import Community, Member
from service.principal import Principal, not_found
from service.transfers.statement_view import entry_of

# A printed period is at most this long, and by default the last quarter.
PRINT_PERIOD_DAYS_MAX = 2 * 366
PRINT_PERIOD_DAYS_DEFAULT = 91
# Ledger lines read a page at a time while looking back to the period's start.
STATEMENT_READ_PAGE = 500
# At most this many listings on one printed list (a community's open ones).
PRINT_LISTINGS_MAX = 500


def hours_figures(minutes: int) -> str:
    """Minutes as hours and minutes in figures: 90 -> "1:30", -45 -> "-0:45"."""
    hours, rest = divmod(abs(minutes), MINUTES_PER_HOUR)
    return f"{'-' if minutes < 0 else ''}{hours}:{rest:02d}"


@dataclass(frozen=True, slots=True)
class Period:
    first_day: date
    last_day: date  # inclusive

    @property
    def starts_at(self) -> datetime:
        return clock.day_starts_at(self.first_day)

    @property
    def ends_at(self) -> datetime:
        return clock.day_starts_at(self.last_day + timedelta(days=1))


def period_of(first_day: date | None, last_day: date | None, *, today: date) -> Period:
    """The period asked for (422 if back to front or too long); by default the last quarter."""
    last = last_day or today
    first = first_day or (last - timedelta(days=PRINT_PERIOD_DAYS_DEFAULT))
    if first > last:
        raise invalid_field("from", _("must be on or before the end date"), source="query")
    if (last - first).days > PRINT_PERIOD_DAYS_MAX:
        raise invalid_field(
            "from",
            _("a period is at most %(days)s days") % {"days": PRINT_PERIOD_DAYS_MAX},
            source="query",
        )
    return Period(first, last)


@dataclass(frozen=True, slots=True)
class PaperLine:
    recorded_day: date
    help_day: date | None  # the day the help happened, for help between members
    what: str
    with_whom: str
    note: str
    minutes: int  # signed: + received, - given
    balance_after_minutes: int


@dataclass(frozen=True, slots=True)
class PaperStatement:
    member_id: uuid.UUID
    display_name: str
    community_name: str
    period: Period
    opening_minutes: int
    closing_minutes: int
    lines: tuple[PaperLine, ...]  # oldest first, as a paper statement reads


async def member_for_paper(actor: Principal, member_id: uuid.UUID) -> Member:
    """The member, if the caller is them, coordinates their community, or is an admin."""
    member = await Member.objects().where(Member.id == member_id).first().run()
    if member is None or not (
        actor.member_id == member_id or actor.is_admin or actor.coordinates(member.community)
    ):
        raise not_found(_("That member"))
    return member


async def paper_statement(
    *, ledger: Ledger, actor: Principal, member_id: uuid.UUID, period: Period
) -> PaperStatement:
    member = await member_for_paper(actor, member_id)
    community = await Community.objects().where(Community.id == member.community).first().run()
    account_id = member.hour_account_id
    opening = await ledger.balance_at(account_id=account_id, at=period.starts_at)
    closing = await ledger.balance_at(account_id=account_id, at=period.ends_at)
    return PaperStatement(
        member_id=member.id,
        display_name=member.display_name,
        community_name=community.name if community else "",
        period=period,
        opening_minutes=opening,
        closing_minutes=closing,
        lines=tuple(reversed(await _lines_in(ledger, account_id, period))),
    )


async def _lines_in(ledger: Ledger, account_id: uuid.UUID, period: Period) -> list[PaperLine]:
    """Movements recorded in the period, newest first, in the statement's words (holds
    move nothing, so they are no lines: service/transfers/statement_view.py)."""
    found: list[PaperLine] = []
    names: dict[uuid.UUID, str] = {}
    cursor: str | None = None
    while True:
        page = await ledger.statement(
            account_id=account_id, limit=STATEMENT_READ_PAGE, cursor=cursor
        )
        for line in page.lines:
            if line.recorded_at < period.starts_at:
                return found
            if line.recorded_at >= period.ends_at or line.change_minor == 0:
                continue
            entry = await entry_of(ledger, line, names)
            found.append(
                PaperLine(
                    recorded_day=clock.local_day(entry.recorded_at),
                    help_day=clock.local_day(entry.help_on) if entry.help_on else None,
                    what=entry.what,
                    with_whom=entry.with_whom,
                    note=entry.note,
                    minutes=entry.minutes,
                    balance_after_minutes=entry.balance_after_minutes,
                )
            )
        cursor = page.next_cursor
        if cursor is None:
            return found


PLAIN_CSV_COLUMNS = (
    N_("Recorded on"),
    N_("The help happened on"),
    N_("What"),
    N_("With"),
    N_("Note"),
    N_("Hours in"),
    N_("Hours out"),
    N_("Balance after"),
    N_("In words"),
)


def plain_csv(statement: PaperStatement) -> str:
    """The statement as a spreadsheet a person reads: dates as dates, hours as h:mm."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([_(heading) for heading in PLAIN_CSV_COLUMNS])
    writer.writerow(
        [statement.period.first_day.isoformat(), "", _("Opening balance"), "", "", "", "",
         hours_figures(statement.opening_minutes), minutes_text(statement.opening_minutes)]
    )  # fmt: skip
    for line in statement.lines:
        writer.writerow(
            [
                line.recorded_day.isoformat(),
                line.help_day.isoformat() if line.help_day else "",
                line.what,
                _csv_safe(line.with_whom),
                _csv_safe(line.note),
                hours_figures(line.minutes) if line.minutes > 0 else "",
                hours_figures(-line.minutes) if line.minutes < 0 else "",
                hours_figures(line.balance_after_minutes),
                _change_words(line.minutes),
            ]
        )
    writer.writerow(
        [statement.period.last_day.isoformat(), "", _("Closing balance"), "", "", "", "",
         hours_figures(statement.closing_minutes), minutes_text(statement.closing_minutes)]
    )  # fmt: skip
    return buffer.getvalue()


def _change_words(minutes: int) -> str:
    words = _("received %(hours)s") if minutes > 0 else _("given %(hours)s")
    return words % {"hours": minutes_text(abs(minutes))}


def _csv_safe(text: str) -> str:
    # Spreadsheets run cells starting with these as formulas (CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


# The printed list of offers and requests -----------------------------------------


@dataclass(frozen=True, slots=True)
class PaperListing:
    kind: str  # offer or request
    title: str
    description: str  # empty for a sensitive listing
    availability: str
    owner_name: str
    ward: str


@dataclass(frozen=True, slots=True)
class PaperCategory:
    name: str
    offers: tuple[PaperListing, ...]
    requests: tuple[PaperListing, ...]


async def community_for_paper(actor: Principal, slug: str | None) -> Community:
    """The community (the caller's own by default), if they belong to it or coordinate it."""
    query = Community.objects()
    query = query.where(Community.slug == slug if slug else Community.id == actor.community_id)
    community = await query.first().run()
    allowed = community is not None and (
        community.id == actor.community_id or actor.is_admin or actor.coordinates(community.id)
    )
    if community is None or not allowed:
        raise not_found(_("That time bank"))
    return community


async def paper_listings(
    *, actor: Principal, slug: str | None
) -> tuple[Community, list[PaperCategory]]:
    community = await community_for_paper(actor, slug)
    rows = (
        await Listing.select(
            Listing.kind,
            Listing.title,
            Listing.description,
            Listing.availability,
            Listing.sensitive,
            Listing.ward,
            Listing.member.display_name.as_alias("owner_name"),
            Listing.category.name.as_alias("category_name"),
            Listing.category.position.as_alias("category_position"),
        )
        .where(
            (Listing.community == community.id)
            & (Listing.status == "open")
            & (Listing.member.status == "active")
        )
        .order_by(Listing.created_at)
        .limit(PRINT_LISTINGS_MAX)
        .run()
    )
    return community, _grouped(rows)


def _grouped(rows: Iterable[dict[str, object]]) -> list[PaperCategory]:
    by_category: dict[tuple[int, str], list[PaperListing]] = {}
    for row in rows:
        key = (int(str(row["category_position"])), str(row["category_name"]))
        by_category.setdefault(key, []).append(
            PaperListing(
                kind=str(row["kind"]),
                title=str(row["title"]),
                description="" if row["sensitive"] else str(row["description"]),
                availability=str(row["availability"]),
                owner_name=str(row["owner_name"]),
                ward=str(row["ward"]),
            )
        )
    return [
        PaperCategory(
            name=name,
            offers=tuple(item for item in items if item.kind == "offer"),
            requests=tuple(item for item in items if item.kind == "request"),
        )
        for (_, name), items in sorted(by_category.items())
    ]
