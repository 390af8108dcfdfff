"""`timebank reports rebuild`: mirror postings made before the reports existed (rebuild.py).

service/cli.py appends `register_commands` to its `EXTRA_COMMANDS`; this module
never imports service/cli.py. Exit 0 when the rollups then agree with the
recorded flows (`rollups_verify`), 3 when they do not, 1 on an unmigrated database.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any, Final

from piccolo.engine.base import Engine

from ledger.transactions import read_connection
from service import database
from service.reports.rebuild import Replayed, rollups_rebuild
from service.rollups.verify import rollups_verify
from service.settings import Settings

REBUILD_MISMATCH_EXIT: Final = 3  # like `ledger verify`: distinct from 1 (crash), 2 (usage)
PROBLEMS_PRINTED_MAX: Final = 20


class NotMigratedError(Exception):
    pass


def _say(line: str, *, error: bool = False) -> None:
    (sys.stderr if error else sys.stdout).write(line + "\n")


async def _rebuild(engine: Engine[Any]) -> tuple[Replayed, list[str]]:
    if await database.pending_migrations(engine):
        raise NotMigratedError
    replayed = await rollups_rebuild(engine)
    async with read_connection(engine) as connection:
        return replayed, await rollups_verify(connection)


async def _run_rebuild(settings: Settings) -> tuple[Replayed, list[str]]:
    engine = database.engine_from_url(settings.database_url)
    await database.prepare(engine)
    try:
        database.activate(engine)
        return await _rebuild(engine)
    finally:
        await database.release(engine)


def _rebuild_command(_args: argparse.Namespace, settings: Settings) -> int:
    try:
        replayed, problems = asyncio.run(_run_rebuild(settings))
    except NotMigratedError:
        _say(
            "timebank reports rebuild: the database is not fully migrated: "
            "run `timebank migrate` first",
            error=True,
        )
        return 1
    _say(
        f"looked at {replayed.exchanges} exchange postings, {replayed.corrections} "
        f"corrections and {replayed.pool} pool donations and grants; "
        "those not yet in the reports were added"
    )
    if problems:
        for problem in problems[:PROBLEMS_PRINTED_MAX]:
            _say(problem, error=True)
        return REBUILD_MISMATCH_EXIT
    _say("rollups agree with the recorded flows")
    return 0


def register_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    reports = commands.add_parser("reports", help="council reports maintenance")
    reports_commands = reports.add_subparsers(dest="reports_command", required=True)
    rebuild = reports_commands.add_parser(
        "rebuild",
        help="add to the reports every exchange and pool flow posted before they existed "
        "(safe to run twice)",
    )
    rebuild.set_defaults(handler=_rebuild_command)
