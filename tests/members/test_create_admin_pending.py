"""Promoting a pending member with create-admin approves them, welcome credit included."""

from __future__ import annotations

from ledger import Ledger
from service.members import passwords
from service.members import roles as members_roles
from service.members.communities import community_create
from service.members.registration import member_register
from service.members.schemas import CommunityIn, RegisterIn
from tests.conftest import TestDatabase

PASSWORD = "correct horse battery"


async def test_create_admin_on_a_pending_member_pays_the_welcome_credit(db: TestDatabase) -> None:
    passwords.configure(time_cost=1, memory_kib=1024)
    ledger = Ledger(db.engine)
    await members_roles.admin_bootstrap(
        engine=db.engine,
        ledger=ledger,
        email="first@example.org",
        password=PASSWORD,
        display_name="First Admin",
    )
    await community_create(
        engine=db.engine,
        ledger=ledger,
        actor=None,
        data=CommunityIn(name="Oakfield", slug="oakfield", area="home", requires_approval=True),
    )
    member = await member_register(
        engine=db.engine,
        ledger=ledger,
        data=RegisterIn(
            email="pat@example.org", password=PASSWORD, display_name="Pat", community="oakfield"
        ),
    )
    assert member.status == "pending"
    assert (await ledger.balance(account_id=member.hour_account_id)).balance_minor == 0
    promoted = await members_roles.admin_bootstrap(
        engine=db.engine,
        ledger=ledger,
        email="pat@example.org",
        password=PASSWORD,
        display_name="Pat",
    )
    assert promoted.status == "active"
    assert (await ledger.balance(account_id=member.hour_account_id)).balance_minor == 120
    assert (await ledger.verify()).ok
