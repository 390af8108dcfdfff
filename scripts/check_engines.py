#!/usr/bin/env python3
"""Fail unless the database tests really ran on both SQLite and PostgreSQL.

A PostgreSQL run that silently skipped would let engine-specific bugs land, so
CI reads pytest's JUnit report and counts, per engine, the tests that passed.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from collections import Counter

ENGINES = ("sqlite", "postgres")


def _mentions_engine(test_name: str, engine: str) -> bool:
    """Pytest ids put the engine between brackets, possibly beside other params."""
    return any(marker in test_name for marker in (f"[{engine}", f"-{engine}]", f"-{engine}-"))


def main(report_path: str) -> int:
    ran: Counter[str] = Counter()
    skipped: list[str] = []
    for case in ET.parse(report_path).getroot().iter("testcase"):  # noqa: S314 - our own file
        name = case.get("name", "")
        engine = next((e for e in ENGINES if _mentions_engine(name, e)), None)
        if engine is None:
            continue
        if case.find("skipped") is not None:
            skipped.append(f"{case.get('classname')}::{name}")
        else:
            ran[engine] += 1
    print("database tests run per engine: " + ", ".join(f"{e}={ran[e]}" for e in ENGINES))
    problems = [f"no database test ran on {e}" for e in ENGINES if ran[e] == 0]
    problems += [f"skipped database test: {name}" for name in skipped]
    for problem in problems:
        print(f"check_engines: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
