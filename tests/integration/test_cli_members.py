"""`timebank create-admin` and `timebank demo` run as real processes on both engines.

The commands write through their own engine in another process; the checks
read the database afterwards through the test's engine.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ledger import Ledger, TransferKind, Unit
from ledger.transactions import read_connection
from service import cli, database
from service.demo.disputes import DEMO_DISPUTES
from service.demo.market_data import DEMO_EXCHANGES, DEMO_GRANTS, DEMO_LISTINGS, DEMO_RECORDS
from service.demo.people import DEMO_PEOPLE
from service.demo.wellbeing import ANSWERS as DEMO_CHECKINS
from service.disputes.tables import Dispute, DisputeCorrection, DisputeStatement
from service.events.ids import host_credit_id
from service.events.tables import EventAttendance, EventHost, EventOccurrence, EventSeries
from service.exchanges.tables import Exchange, ExchangeRecipient
from service.limits import EVENT_SERIES_OCCURRENCES_MAX
from service.listings.tables import Category, Listing
from service.members import roles as members_roles
from service.members.registration import member_register
from service.members.schemas import RegisterIn
from service.members.sessions import authenticate, principal_from_token, token_create
from service.members.tables import Area, Community, Member, RoleGrant
from service.wellbeing.report import wellbeing_change
from tests.conftest import TestDatabase
from tests.support.server import run_timebank

DEMO_WELLBEING_K = 5  # the reports' default threshold

ADMIN_PASSWORD = "admin-password-for-tests"
DEMO_PASSWORD = "timebank-demo"
# Each command hashes passwords at the production argon2 cost.
COUNTED_TABLES = (
    "member_area",
    "member_community",
    "member_member",
    "member_role_grant",
    "member_audit",
    "ledger_account",
    "ledger_transfer",
    "ledger_entry",
    "market_listing",
    "market_exchange",
    "market_exchange_recipient",
    "market_exchange_event",
    "dispute_dispute",
    "dispute_statement",
    "dispute_correction",
)


async def row_counts(db: TestDatabase) -> dict[str, int]:
    counts = {}
    for table in COUNTED_TABLES:
        rows = await db.engine.run_ddl(f"SELECT COUNT(*) AS n FROM {table}")
        counts[table] = int(rows[0]["n"])
    return counts


async def admin_grants(email: str) -> list[RoleGrant]:
    member = await Member.objects().where(Member.email == email).first().run()
    assert member is not None
    return (
        await RoleGrant.objects()
        .where(
            (RoleGrant.member == member.id)
            & (RoleGrant.role == "admin")
            & RoleGrant.revoked_at.is_null()
        )
        .run()
    )


# create-admin ---------------------------------------------------------------------


async def test_create_admin_makes_an_admin_who_can_sign_in_and_is_safe_to_repeat(
    db: TestDatabase, tmp_path: Path
) -> None:
    args = ("create-admin", "--email", "Ada@Example.org", "--name", "Ada Admin")
    first = run_timebank(db, tmp_path, *args, admin_password=ADMIN_PASSWORD)
    assert first.returncode == 0, first.stderr
    assert "created admin ada@example.org" in first.stdout
    assert len(await admin_grants("ada@example.org")) == 1
    # A first admin on an empty database gets a home community to belong to.
    assert [c.slug for c in await Community.objects().run()] == ["home"]

    member = await authenticate(email="ada@example.org", password=ADMIN_PASSWORD)
    assert member.status == "active"
    token = await token_create(member=member)
    principal = await principal_from_token(token=token.token)
    assert principal is not None
    assert principal.is_admin

    counts = await row_counts(db)
    second = run_timebank(db, tmp_path, *args, admin_password="a-different-password")
    assert second.returncode == 0, second.stderr
    assert "already an admin; nothing changed" in second.stdout
    assert len(await admin_grants("ada@example.org")) == 1
    assert await row_counts(db) == counts
    # The second run did not replace the password.
    await authenticate(email="ada@example.org", password=ADMIN_PASSWORD)


async def test_create_admin_promotes_an_existing_member_without_asking_a_password(
    db: TestDatabase, tmp_path: Path
) -> None:
    await members_roles.admin_bootstrap(
        engine=db.engine,
        ledger=Ledger(db.engine),
        email="first@example.org",
        password=ADMIN_PASSWORD,
        display_name="First Admin",
    )
    await member_register(
        engine=db.engine,
        ledger=Ledger(db.engine),
        data=RegisterIn(
            email="bob@example.org",
            password="bobs-own-password",
            display_name="Bob",
            community="home",
        ),
    )
    result = run_timebank(db, tmp_path, "create-admin", "--email", "bob@example.org", "--name", "B")
    assert result.returncode == 0, result.stderr
    assert "promoted existing member bob@example.org to admin" in result.stdout
    assert len(await admin_grants("bob@example.org")) == 1
    member = await authenticate(email="bob@example.org", password="bobs-own-password")
    assert member.display_name == "Bob"


def test_create_admin_refuses_a_bad_email_or_name_before_touching_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # In-process: these are refused before any database is opened (there is none here).
    monkeypatch.setenv("TIMEBANK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'absent' / 'db.sqlite3'}")
    monkeypatch.setenv("TIMEBANK_ADMIN_PASSWORD", ADMIN_PASSWORD)
    cases = [
        (("--email", "not-an-email", "--name", "Ada"), "--email is not a valid email address"),
        (("--email", "ada@example.org", "--name", "   "), "--name must be 1 to 80 characters"),
        (("--email", "ada@example.org", "--name", "x" * 81), "--name must be 1 to 80 characters"),
    ]
    for args, message in cases:
        assert cli.main(["create-admin", *args]) == 2
        captured = capsys.readouterr()
        assert captured.err == f"timebank create-admin: error: {message}\n"
        assert captured.out == ""
    assert not (tmp_path / "absent").exists()


async def test_create_admin_refuses_a_bad_or_missing_password_and_changes_nothing(
    db: TestDatabase, tmp_path: Path
) -> None:
    args = ("create-admin", "--email", "ada@example.org", "--name", "Ada")
    cases = [
        ("short", "TIMEBANK_ADMIN_PASSWORD must be 10 to 200 characters"),
        # No password in the environment and no terminal to ask on.
        (None, "no terminal to ask for the password: set TIMEBANK_ADMIN_PASSWORD"),
    ]
    for password, message in cases:
        result = run_timebank(db, tmp_path, *args, admin_password=password)
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith("timebank create-admin: error: "), result.stderr
        assert message in result.stderr
        assert result.stderr.count("\n") == 1, result.stderr
    assert await Member.count().run() == 0
    assert await Community.count().run() == 0


# demo -----------------------------------------------------------------------------


async def test_demo_loads_once_and_a_second_run_changes_nothing(
    db: TestDatabase, tmp_path: Path
) -> None:
    first = run_timebank(db, tmp_path, "demo")
    assert first.returncode == 0, first.stderr
    assert "local trial only" in first.stdout
    for person in DEMO_PEOPLE:
        assert person.email in first.stdout
    counts = await row_counts(db)
    assert counts["member_member"] == len(DEMO_PEOPLE)

    second = run_timebank(db, tmp_path, "demo")
    assert second.returncode == 0, second.stderr
    assert "nothing changed" in second.stdout
    assert await row_counts(db) == counts

    verify = run_timebank(db, tmp_path, "ledger", "verify")
    assert verify.returncode == 0, verify.stderr
    assert "no discrepancy" in verify.stdout

    await _check_demo_contents(db)
    await _check_demo_market(db)
    await _check_demo_disputes(db)
    await _check_demo_club(db)
    await _check_demo_wellbeing()


async def _check_demo_wellbeing() -> None:
    """Enough members answered twice for the impact page to show a change (k = 5)."""
    communities = [row["id"] for row in await Community.select(Community.id).run()]
    async with read_connection(database.active_engine()) as connection:
        change = await wellbeing_change(
            connection,
            communities,
            ends_before=datetime.now(UTC) + timedelta(days=1),
            k=DEMO_WELLBEING_K,
        )
    assert change.members == len(DEMO_CHECKINS)
    assert change.mean_change is not None and change.mean_change["loneliness"] < 0
    assert change.loneliness_improved_share is not None


async def _check_demo_club(db: TestDatabase) -> None:
    """A year of a weekly club, its past meetings registered, the host credited once each."""
    [series] = await EventSeries.objects().run()
    meetings = await EventOccurrence.count().where(EventOccurrence.series == series.id).run()
    registered = (
        await EventOccurrence.count()
        .where((EventOccurrence.series == series.id) & EventOccurrence.credited_at.is_not_null())
        .run()
    )
    assert meetings == EVENT_SERIES_OCCURRENCES_MAX
    assert EVENT_SERIES_OCCURRENCES_MAX - 2 <= registered < meetings
    assert await EventAttendance.count().run() > registered * 3
    ledger = Ledger(db.engine)
    [first] = await EventOccurrence.objects().where(EventOccurrence.position == 1).run()
    [host] = await EventHost.objects().run()
    credit = await ledger.get_transfer(transfer_id=host_credit_id(first.id, host.member))
    assert credit.amount_minor == series.host_minutes


async def _check_demo_disputes(db: TestDatabase) -> None:
    """One dispute waits in the admin queue; one was decided with 30 minutes given back."""
    disputes = await Dispute.objects().order_by(Dispute.opened_at).run()
    assert [d.status for d in disputes] == ["open", "resolved"]
    assert await DisputeStatement.count().run() == len(DEMO_DISPUTES)
    corrections = await DisputeCorrection.objects().run()
    assert [(c.outcome, c.minutes) for c in corrections] == [("adjusted", 30)]
    ledger = Ledger(db.engine)
    reversal = await ledger.get_transfer(transfer_id=corrections[0].reversal_transfer_id)
    assert reversal.reverses_id == corrections[0].original_transfer_id
    assert reversal.amount_minor == 30


async def _check_demo_contents(db: TestDatabase) -> None:
    ledger = Ledger(db.engine)
    hours = await ledger.trial_balance(unit=Unit.HOUR)
    assert sum(row.balance_minor for row in hours.rows) == 0
    assert hours.balanced
    assert {row.owner.rsplit(":", 1)[-1] for row in hours.rows if row.balance_minor} >= {
        "issuance",
        "pool",
    }

    area = await Area.objects().where(Area.slug == "riverside-borough").first().run()
    assert area is not None
    assert area.name == "Riverside Borough"
    communities = {c.slug: c for c in await Community.objects().run()}
    assert set(communities) == {"riverside", "oakfield"}
    assert communities["riverside"].name == "Riverside Time Bank"
    assert communities["riverside"].welcome_credit_minutes == 120
    assert not communities["riverside"].requires_approval
    assert communities["oakfield"].requires_approval
    assert {c.area for c in communities.values()} == {area.id}

    members = {m.email: m for m in await Member.objects().run()}
    assert members["ravi@demo.example"].status == "pending"
    assert all(m.status == "active" for email, m in members.items() if email != "ravi@demo.example")
    this_year = datetime.now(UTC).year
    ages = [this_year - m.birth_year for m in members.values() if m.birth_year is not None]
    assert len(ages) == len(members)
    assert min(ages) <= 25
    assert max(ages) >= 85
    assert len({m.ward for m in members.values()}) >= 4

    for member in members.values():
        page = await ledger.statement(account_id=member.hour_account_id, limit=200)
        welcomes = [line for line in page.lines if line.transfer.code == "welcome"]
        expected = 1 if member.status == "active" else 0
        assert len(welcomes) == expected, member.email
        assert all(line.transfer.amount_minor == 120 for line in welcomes)

    pool = await ledger.balance(account_id=communities["riverside"].pool_account_id)
    assert pool.balance_minor > 0

    by_id = {m.id: email for email, m in members.items()}
    grants = await RoleGrant.objects().where(RoleGrant.revoked_at.is_null()).run()
    assert {(g.role, by_id[g.member], g.community, g.area) for g in grants} == {
        ("admin", "admin@demo.example", None, None),
        ("coordinator", "coordinator@demo.example", communities["riverside"].id, None),
        ("council", "council@demo.example", None, area.id),
    }


async def _check_demo_market(db: TestDatabase) -> None:
    members = {m.id: m for m in await Member.objects().run()}
    listings = await Listing.objects().run()
    assert len(listings) == len(DEMO_LISTINGS)
    assert {listing.kind for listing in listings} == {"offer", "request"}
    assert all(listing.status == "open" for listing in listings)
    assert len({listing.member for listing in listings}) >= 8
    assert len({listing.ward for listing in listings}) >= 4
    assert len({listing.community for listing in listings}) == 2
    slugs = {c.id: c.slug for c in await Category.objects().run()}
    assert len({slugs[listing.category] for listing in listings}) >= 10

    exchanges = await Exchange.objects().run()
    assert len(exchanges) == len(DEMO_EXCHANGES) + len(DEMO_RECORDS)
    by_status: dict[str, list[Exchange]] = {}
    for exchange in exchanges:
        by_status.setdefault(exchange.status, []).append(exchange)
    assert {status: len(found) for status, found in by_status.items()} == {
        "completed": 12,
        "accepted": 1,
        "proposed": 1,
        "cancelled": 1,
    }
    now = datetime.now(UTC)
    completed_dates = sorted(e.service_date for e in by_status["completed"])
    assert now - completed_dates[0] > timedelta(days=150)  # about six months of history
    assert now - completed_dates[-1] < timedelta(days=14)
    assert len({(now - d).days // 30 for d in completed_dates}) >= 5  # spread out, month by month
    assert sum(e.listing is not None for e in exchanges) >= 8
    assert len([e for e in exchanges if e.recorded_by is not None]) == 1
    assert by_status["accepted"][0].hold_expires_at > now + timedelta(days=13)

    recipients = await ExchangeRecipient.objects().run()
    per_exchange: dict[object, int] = {}
    for row in recipients:
        per_exchange[row.exchange] = per_exchange.get(row.exchange, 0) + 1
    assert max(per_exchange.values()) == 3  # the group cooking class

    ledger = Ledger(db.engine)
    for exchange in by_status["completed"]:
        for row in (r for r in recipients if r.exchange == exchange.id):
            posted = await ledger.get_transfer(transfer_id=row.transfer_id)
            assert posted.effective_at == exchange.service_date
            assert posted.credit_account_id == members[exchange.provider].hour_account_id
    held = next(r for r in recipients if r.exchange == by_status["accepted"][0].id)
    hold = await ledger.get_transfer(transfer_id=held.pending_transfer_id)
    assert hold.kind == TransferKind.PENDING
    assert hold.expires_at == by_status["accepted"][0].hold_expires_at

    codes = []
    for member in members.values():
        page = await ledger.statement(account_id=member.hour_account_id, limit=200)
        # The weekly club's hosting credits are grants too (checked in _check_demo_club).
        codes += [
            line.transfer.code
            for line in page.lines
            if not line.transfer.memo.startswith("Hosting ")
        ]
    assert {"exchange", "gift", "donation", "grant", "welcome"} <= set(codes)
    assert codes.count("grant") == len(DEMO_GRANTS)
