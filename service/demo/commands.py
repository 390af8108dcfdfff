"""`timebank create-admin` and `timebank demo`: members from the command line.

service/cli.py imports this module and appends `register_commands` to its
`EXTRA_COMMANDS`; this module never imports service/cli.py, so there is no cycle.
Both commands are safe to run twice: they look before they write, and every
ledger transfer they make has an id derived from what it is (UUIDv5), so a
repeat finds it instead of moving hours again. The demo's listings and
exchanges come from service/demo/market.py, which works the same way.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import secrets
import sys
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import msgspec
from piccolo.engine.base import Engine

from ledger import LEDGER_NAMESPACE, Ledger, Unit, write_transaction
from service import clock, database
from service.demo.disputes import load_dispute_demo
from service.demo.events import load_events_demo
from service.demo.market import load_market_demo, transfer_exists
from service.demo.people import (
    DEMO_AREA,
    DEMO_COMMUNITIES,
    DEMO_GIFTS,
    DEMO_PEOPLE,
    DemoGift,
    DemoPerson,
    DemoRole,
)
from service.demo.volume import VOLUME_EXCHANGES_MAX, demo_volume
from service.demo.wellbeing import load_wellbeing_demo
from service.errors import DomainError
from service.i18n import LANGUAGES, _, use_language
from service.limits import DISPLAY_NAME_CHARS_MAX, PASSWORD_CHARS_MAX, PASSWORD_CHARS_MIN
from service.members import passwords, services
from service.members import roles as members_roles
from service.members.audit import audit_record
from service.members.communities import community_by_id, community_create
from service.members.registration import member_approve, member_register
from service.members.schemas import (
    CommunityIn,
    DisplayName,
    Email,
    Password,
    RegisterIn,
    RoleChangeIn,
)
from service.members.tables import Area, Community, Member
from service.principal import Grant, Principal
from service.rollups.services import record_pool_flow
from service.settings import Settings

USAGE_ERROR_EXIT = 2  # argparse's code for bad input; 1 stays for crashes
ADMIN_PASSWORD_ENV = "TIMEBANK_ADMIN_PASSWORD"  # noqa: S105 - a variable name, not a secret
DEMO_PASSWORD_ENV = "TIMEBANK_DEMO_PASSWORD"  # noqa: S105 - a variable name, not a secret
DEMO_PASSWORD_DEFAULT = "timebank-demo"  # noqa: S105 - published on purpose: local trial only
CLI_ACTOR_LABEL = "system:cli"

T = TypeVar("T")


class CommandError(Exception):
    """Bad input or state the person at the terminal can fix; printed as one line, exit 2."""


def _say(line: str = "") -> None:
    sys.stdout.write(line + "\n")


def _fail(command: str, message: str) -> int:
    sys.stderr.write(f"timebank {command}: error: {message}\n")
    return USAGE_ERROR_EXIT


def _problem_message(problem: DomainError) -> str:
    """One line from a service DomainError: its detail, then any field errors."""
    errors = problem.extra_fields.get("errors") or []
    fields = "; ".join(f"{error.get('field')} {error.get('message')}" for error in errors)
    return f"{problem.detail} ({fields})" if fields else str(problem.detail)


def _run(command: str, work: Callable[[], Coroutine[Any, Any, int]]) -> int:
    try:
        return asyncio.run(work())
    except CommandError as error:
        return _fail(command, str(error))
    except DomainError as problem:
        return _fail(command, _problem_message(problem))


async def _with_services(
    settings: Settings, work: Callable[[Engine[Any], Ledger], Awaitable[T]]
) -> T:
    """Run `work` with the database ready for service calls, and release it after."""
    engine = database.engine_from_url(settings.database_url)
    await database.prepare(engine)
    try:
        database.activate(engine)
        if await database.pending_migrations(engine):
            raise CommandError("the database is not fully migrated: run `timebank migrate` first")
        passwords.configure(
            time_cost=settings.password_time_cost, memory_kib=settings.password_memory_kib
        )
        return await work(engine, Ledger(engine))
    finally:
        await database.release(engine)


async def _has_grant(member_id: uuid.UUID, wanted: Grant) -> bool:
    return wanted in await services.live_grants(member_id)


async def _member_by_email(email: str) -> Member | None:
    found: Member | None = (
        await Member.objects().where(Member.email == services.normalise_email(email)).first().run()
    )
    return found


# timebank create-admin ------------------------------------------------------------


class _AdminIdentity(msgspec.Struct, kw_only=True):
    email: Email
    display_name: DisplayName


_ADMIN_FIELD_MESSAGES = {
    "email": "--email is not a valid email address",
    "display_name": f"--name must be 1 to {DISPLAY_NAME_CHARS_MAX} characters",
}


def _admin_identity(email: str, name: str) -> _AdminIdentity:
    try:
        return msgspec.convert(
            {"email": email.strip(), "display_name": name.strip()}, _AdminIdentity
        )
    except msgspec.ValidationError as error:
        field = "email" if "$.email" in str(error) else "display_name"
        raise CommandError(_ADMIN_FIELD_MESSAGES[field]) from None


def _checked_password(password: str, source: str) -> str:
    try:
        return msgspec.convert(password, Password)
    except msgspec.ValidationError:
        raise CommandError(
            f"the password from {source} must be {PASSWORD_CHARS_MIN} to "
            f"{PASSWORD_CHARS_MAX} characters"
        ) from None


def _admin_password() -> str:
    """From TIMEBANK_ADMIN_PASSWORD, else typed twice; never from the command line."""
    from_env = os.environ.get(ADMIN_PASSWORD_ENV)
    if from_env is not None:
        return _checked_password(from_env, ADMIN_PASSWORD_ENV)
    if not sys.stdin.isatty():
        # getpass would fall back to reading the pipe, echoing and warning.
        raise CommandError(f"no terminal to ask for the password: set {ADMIN_PASSWORD_ENV}")
    try:
        first = getpass.getpass("Password for the new admin: ")
        second = getpass.getpass("The same password again: ")
    except EOFError:
        raise CommandError(
            f"no password given: set {ADMIN_PASSWORD_ENV} or run in a terminal"
        ) from None
    if first != second:
        raise CommandError("the two passwords differ; nothing was changed")
    return _checked_password(first, "the prompt")


async def _create_admin(engine: Engine[Any], ledger: Ledger, identity: _AdminIdentity) -> list[str]:
    admin_grant = Grant("admin", None, None)
    existing = await _member_by_email(identity.email)
    if existing is not None and await _has_grant(existing.id, admin_grant):
        return [f"{existing.email} is already an admin; nothing changed."]
    communities_before = await Community.count().run()
    # An existing member keeps their password, so none is asked for. The random
    # one is never used; it only stands in for the argument admin_bootstrap takes.
    password = _admin_password() if existing is None else secrets.token_urlsafe(32)
    member = await members_roles.admin_bootstrap(
        engine=engine,
        ledger=ledger,
        email=identity.email,
        password=password,
        display_name=identity.display_name,
    )
    community = await community_by_id(member.community)
    lines = []
    if communities_before == 0:
        lines.append(f"created community {community.name!r} ({community.slug}) in area 'home'")
    if existing is None:
        lines.append(f"created admin {member.email} ({member.display_name}) in {community.slug}")
    else:
        lines.append(f"promoted existing member {member.email} to admin (password unchanged)")
        if member.status != "active":
            lines.append(f"note: this member's status is {member.status}")
    return lines


def _create_admin_command(args: argparse.Namespace, settings: Settings) -> int:
    async def work() -> int:
        identity = _admin_identity(args.email, args.name)
        lines = await _with_services(
            settings, lambda engine, ledger: _create_admin(engine, ledger, identity)
        )
        for line in lines:
            _say(line)
        return 0

    return _run("create-admin", work)


# timebank demo --------------------------------------------------------------------


class _DemoRun:
    """One run of the demo: looks before each write and notes what it changed."""

    def __init__(
        self, engine: Engine[Any], ledger: Ledger, password: str, *, hold_seconds: int
    ) -> None:
        self.engine = engine
        self.ledger = ledger
        self.password = password
        self.hold_seconds = hold_seconds
        self.changes: list[str] = []
        self.members: dict[str, Member] = {}
        self.communities: dict[str, Community] = {}

    async def load(self) -> None:
        area = await self.area()
        for data in DEMO_COMMUNITIES:
            self.communities[data.slug] = await self.community(data)
        for person in DEMO_PEOPLE:
            self.members[person.email] = await self.member(person)
        admin = self.members[_email_of_role("admin")]
        await self.grant(admin, RoleChangeIn(action="grant", role="admin", reason="demo data"))
        # The admin is now one, so later steps can act as that admin.
        actor = await _principal_of(self.members[_email_of_role("admin")])
        await self.grant(
            self.members[_email_of_role("coordinator")],
            RoleChangeIn(action="grant", role="coordinator", reason="demo", community="riverside"),
        )
        await self.grant(
            self.members[_email_of_role("council")],
            RoleChangeIn(action="grant", role="council", reason="demo", area=area.slug),
        )
        for person in DEMO_PEOPLE:
            await self.approve(actor, person)
        for gift in DEMO_GIFTS:
            await self.give(gift)
        self.changes += await load_market_demo(
            engine=self.engine,
            ledger=self.ledger,
            people=await self.principals(),
            hold_seconds=self.hold_seconds,
        )
        self.changes += await load_dispute_demo(
            engine=self.engine, ledger=self.ledger, people=await self.principals()
        )
        self.changes += await load_events_demo(
            engine=self.engine, ledger=self.ledger, people=await self.principals()
        )
        self.changes += await load_wellbeing_demo(
            engine=self.engine, people=await self.principals()
        )

    async def principals(self) -> dict[str, Principal]:
        """Every approved demo member as they act now (roles granted, status fresh)."""
        return {
            person.email: await _principal_of(
                await services.member_by_id(self.members[person.email].id)
            )
            for person in DEMO_PEOPLE
            if person.role != "pending"
        }

    async def area(self) -> Area:
        name, slug = _(DEMO_AREA[0]), DEMO_AREA[1]
        found: Area | None = await Area.objects().where(Area.slug == slug).first().run()
        if found is not None:
            return found
        # area_create needs a signed-in admin, and the first admin needs
        # a community in an area: the command line writes the first area itself,
        # as admin_bootstrap does, with the same audit line area_create writes.
        area = Area(id=uuid.uuid4(), name=name, slug=slug, created_at=clock.utc_now())
        async with write_transaction(self.engine):
            await Area.insert(area).run()
            await audit_record(
                actor_id=None,
                actor_label=CLI_ACTOR_LABEL,
                action="area.create",
                target_type="area",
                target_id=str(area.id),
                after={"name": name, "slug": slug},
            )
        self.changes.append(f"area {name}")
        return area

    async def community(self, data: CommunityIn) -> Community:
        found: Community | None = (
            await Community.objects().where(Community.slug == data.slug).first().run()
        )
        if found is not None:
            return found
        # The name in the demo's language (the slug stays as it is).
        named = msgspec.structs.replace(data, name=_(data.name))
        created = await community_create(
            engine=self.engine, ledger=self.ledger, actor=None, data=named
        )
        self.changes.append(f"community {data.name}")
        return created

    async def member(self, person: DemoPerson) -> Member:
        found = await _member_by_email(person.email)
        if found is not None:
            return found
        created = await member_register(
            engine=self.engine,
            ledger=self.ledger,
            data=RegisterIn(
                email=person.email,
                password=self.password,
                display_name=person.name,
                community=person.community,
                ward=person.ward,
                birth_year=datetime.now(UTC).year - person.age_years,
                consent=True,
            ),
        )
        self.changes.append(f"member {person.email}")
        return created

    async def grant(self, member: Member, change: RoleChangeIn) -> None:
        wanted = Grant(
            change.role,
            self.communities[change.community].id if change.community else None,
            (await _area_id(change.area)) if change.area else None,
        )
        if await _has_grant(member.id, wanted):
            return
        await members_roles.role_change(
            engine=self.engine, actor=None, member_id=member.id, change=change
        )
        self.changes.append(f"{change.role} role for {member.email}")

    async def approve(self, actor: Principal, person: DemoPerson) -> None:
        member = await services.member_by_id(self.members[person.email].id)
        if person.role == "pending" or member.status != "pending":
            return
        await member_approve(
            engine=self.engine, ledger=self.ledger, actor=actor, member_id=member.id
        )
        self.changes.append(f"approval of {person.email}")

    async def give(self, gift: DemoGift) -> None:
        giver = self.members[gift.from_email]
        if gift.to_email is None:
            community = await community_by_id(giver.community)
            to_account, code = community.pool_account_id, "donation"
        else:
            to_account, code = self.members[gift.to_email].hour_account_id, "gift"
        transfer_id = uuid.uuid5(
            LEDGER_NAMESPACE, f"demo:{code}:{giver.hour_account_id}:{to_account}:{gift.memo}"
        )
        if await transfer_exists(self.ledger, transfer_id):
            return
        async with write_transaction(self.engine):
            transfer = await self.ledger.transfer(
                id=transfer_id,
                debit_account_id=giver.hour_account_id,
                credit_account_id=to_account,
                amount_minor=gift.minutes,
                unit=Unit.HOUR,
                code=code,
                actor=f"member:{giver.id}",
                memo=_(gift.memo),  # the id above keeps the English memo: any language reruns
            )
            if code == "donation":  # council figures count pool donations (ADR 0011)
                await record_pool_flow(
                    transfer_id=transfer.id,
                    kind="donation",
                    community_id=giver.community,
                    member_id=giver.id,
                    minutes=gift.minutes,
                    at=transfer.effective_at,
                )
        self.changes.append(f"{code} of {gift.minutes} minutes from {gift.from_email}")


def _email_of_role(role: DemoRole) -> str:
    return next(person.email for person in DEMO_PEOPLE if person.role == role)


async def _area_id(slug: str) -> uuid.UUID:
    area: Area | None = await Area.objects().where(Area.slug == slug).first().run()
    if area is None:
        raise CommandError(f"there is no area {slug!r}")
    return area.id


async def _principal_of(member: Member) -> Principal:
    """The demo admin as a principal, so approvals are audited as theirs."""
    return Principal(
        member_id=member.id,
        display_name=member.display_name,
        community_id=member.community,
        status=member.status,
        grants=await services.live_grants(member.id),
        via="session",
        credential_id=uuid.uuid5(LEDGER_NAMESPACE, f"cli:{member.id}"),
    )


def _demo_password() -> str:
    return _checked_password(
        os.environ.get(DEMO_PASSWORD_ENV, DEMO_PASSWORD_DEFAULT), DEMO_PASSWORD_ENV
    )


def _sign_in_table(people: Sequence[DemoPerson], communities: dict[str, Community]) -> list[str]:
    rows = [("email", "role", "community")]
    rows += [
        (
            person.email,
            "member (awaiting approval)" if person.role == "pending" else person.role,
            communities[person.community].name
            + (f", council of {DEMO_AREA[0]}" if person.role == "council" else ""),
        )
        for person in people
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(2)]
    return [f"  {row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]}" for row in rows]


def _demo_report(run: _DemoRun, settings: Settings) -> list[str]:
    custom = DEMO_PASSWORD_ENV in os.environ
    lines = (
        [f"loaded the demo data ({len(run.changes)} changes):", *(f"  {c}" for c in run.changes)]
        if run.changes
        else ["demo data is already loaded; nothing changed."]
    )
    lines += [
        "",
        "DEMO DATA: for a local trial only. Everyone below shares one published password;",
        "never load it into an installation that real people use.",
        "",
        f"Sign in at {settings.public_base_url} as any of these "
        + (f"(password from {DEMO_PASSWORD_ENV}):" if custom else f"(password {run.password}):"),
        *_sign_in_table(DEMO_PEOPLE, run.communities),
        "",
        "API clients: POST /api/v1/auth/token with {email, password} for a token.",
        "Listings, and exchanges in every state: Margaret Hughes has help to confirm,",
        "and Tom Fletcher a proposal to accept.",
    ]
    return lines


def _demo_command(args: argparse.Namespace, settings: Settings) -> int:
    async def work() -> int:
        if settings.is_production:
            raise CommandError(
                "refusing to load demo accounts with a shared password into a production "
                "installation (TIMEBANK_ENV=production)"
            )
        password = _demo_password()

        async def load(engine: Engine[Any], ledger: Ledger) -> _DemoRun:
            run = _DemoRun(engine, ledger, password, hold_seconds=settings.exchange_hold_seconds)
            # The demo's words (listings, exchanges, the club...) in the chosen language.
            with use_language(args.language):
                await run.load()
            if args.exchanges:  # volume for council reports (service/demo/volume.py)
                run.changes += await demo_volume(
                    engine=engine,
                    ledger=ledger,
                    exchanges=args.exchanges,
                    communities=list(run.communities.values()),
                    recorder_id=run.members[_email_of_role("admin")].id,
                    password=password,
                )
            return run

        run = await _with_services(settings, load)
        for line in _demo_report(run, settings):
            _say(line)
        return 0

    return _run("demo", work)


def _volume_count(text: str) -> int:
    try:
        count = int(text)
    except ValueError:
        count = 0
    if not 1 <= count <= VOLUME_EXCHANGES_MAX:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to {VOLUME_EXCHANGES_MAX}")
    return count


# Registration with service/cli.py ------------------------------------------------


def register_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    create_admin = commands.add_parser(
        "create-admin",
        help="create an admin, or promote an existing member (safe to run twice)",
        description=(
            f"Create an admin. The password comes from {ADMIN_PASSWORD_ENV} or is "
            "asked for twice; it is never taken from the command line. An existing "
            "member with this email is promoted and keeps their password."
        ),
    )
    create_admin.add_argument("--email", required=True)
    create_admin.add_argument("--name", required=True, help="display name")
    create_admin.set_defaults(handler=_create_admin_command)

    demo = commands.add_parser(
        "demo",
        help="load demo communities and members for a local trial (safe to run twice)",
        description=(
            "Load a demo area, two communities, an admin, a coordinator, a council "
            "viewer and a dozen members, all with one password from "
            f"{DEMO_PASSWORD_ENV} (default {DEMO_PASSWORD_DEFAULT!r}), with their "
            "listings, gifts and exchanges in every state over the last six months. "
            "Local trial only."
        ),
    )
    demo.add_argument(
        "--exchanges",
        type=_volume_count,
        default=0,
        metavar="N",
        help="also add N recorded exchanges between synthetic members (for council reports)",
    )
    demo.add_argument(
        "--language",
        choices=list(LANGUAGES),
        default="en",
        help="the language of the demo's listings, exchanges and events (default en)",
    )
    demo.set_defaults(handler=_demo_command)
