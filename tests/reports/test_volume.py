"""The volume generator on both engines: real ledger postings, consistent rollups, safe twice."""

from __future__ import annotations

import uuid

from ledger import Ledger, Unit
from ledger.transactions import read_connection
from service.demo import volume
from service.exchanges.tables import Exchange, ExchangeRecipient
from service.members import passwords
from service.members import roles as members_roles
from service.members.communities import community_create
from service.members.schemas import CommunityIn
from service.members.tables import Community
from service.principal import Grant, Principal
from service.reports.figures import report_build
from service.reports.period import period_parse
from service.rollups import services as rollups
from service.rollups.services import _exchange_flow, _stored_flow
from service.rollups.verify import rollups_verify
from tests.conftest import TestDatabase

EXCHANGES = 1_200  # three chunks: two full, one short


async def test_volume_posts_exchanges_and_rollups_that_agree(db: TestDatabase) -> None:
    passwords.configure(time_cost=1, memory_kib=1024)
    ledger = Ledger(db.engine, group_commit=False)
    admin = await members_roles.admin_bootstrap(
        engine=db.engine,
        ledger=ledger,
        email="admin@example.org",
        password="correct horse battery",
        display_name="Ada Admin",
    )
    await community_create(
        engine=db.engine,
        ledger=ledger,
        actor=None,
        data=CommunityIn(name="Second", slug="second", area="home"),
    )
    communities = await Community.objects().order_by(Community.slug).run()

    async def load() -> volume.VolumeReport:
        return await volume.load_volume(
            engine=db.engine,
            ledger=ledger,
            exchanges=EXCHANGES,
            communities=communities,
            recorder_id=admin.id,
            password_hash="not-a-real-hash",
        )

    first = await load()
    assert first.members_added == volume.MEMBERS_MIN
    assert (first.exchanges_added, first.exchanges_skipped) == (EXCHANGES, 0)
    again = await load()
    assert (again.members_added, again.exchanges_added, again.exchanges_skipped) == (
        0,
        0,
        EXCHANGES,
    )

    report = await ledger.verify()
    assert report.ok, report.summary()
    assert (await ledger.trial_balance(unit=Unit.HOUR)).balanced
    async with read_connection(db.engine) as connection:
        assert await rollups_verify(connection) == []
        # The bulk path records the same flow the one-by-one path would.
        for index in range(0, EXCHANGES, 97):
            exchange_id = volume.exchange_id_of("demo", index)
            exchange = await Exchange.objects().where(Exchange.id == exchange_id).first().run()
            assert exchange is not None
            recipient = (
                await ExchangeRecipient.select(ExchangeRecipient.member)
                .where(ExchangeRecipient.exchange == exchange_id)
                .first()
                .run()
            )
            assert recipient is not None
            recipient_id = recipient["member"]
            stored = await _stored_flow(
                connection, rollups.exchange_flow_id(exchange_id, recipient_id)
            )
            assert stored is not None
            recomputed = await _exchange_flow(
                connection, exchange_id, recipient_id, exchange.service_date
            )
            assert stored == (recomputed, exchange.minutes)

    viewer = Principal(
        member_id=admin.id,
        display_name=admin.display_name,
        community_id=admin.community,
        status="active",
        grants=(Grant("admin", None, None),),
        via="session",
        credential_id=uuid.uuid4(),
    )
    figures = await report_build(
        engine=db.engine,
        viewer=viewer,
        period=period_parse("2000-01", "2000-12", now=admin.created_at),
        community_slugs=[],
        breakdowns=["month"],
    )
    assert figures.total.minutes == 0  # nothing then
    whole = await report_build(
        engine=db.engine,
        viewer=viewer,
        period=period_parse(f"{admin.created_at.year - 2}-01", None, now=admin.created_at),
        community_slugs=[],
        breakdowns=["month", "age_band"],
    )
    assert whole.total.exchanges == EXCHANGES
    assert not whole.total.suppressed
    assert whole.active_members.value is not None and whole.active_members.value > 5
