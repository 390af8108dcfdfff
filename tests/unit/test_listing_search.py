"""Search text -> FTS5 query: whatever a member types, SQLite never sees query syntax."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.limits import SEARCH_TERMS_MAX
from service.listings.services import fts5_query, search_terms


@pytest.fixture(scope="module")
def fts() -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(":memory:")
    connection.execute(
        "CREATE VIRTUAL TABLE t USING fts5(title, description, tokenize='porter unicode61')"
    )
    connection.executemany(
        "INSERT INTO t (title, description) VALUES (?, ?)",
        [("Gardening help", "Weeding and mowing"), ("NEAR the OR", 'AND NOT * ^ : " ( )')],
    )
    yield connection
    connection.close()


def matches(connection: sqlite3.Connection, text: str) -> list[int]:
    terms = search_terms(text)
    if not terms:
        return []
    rows = connection.execute(
        "SELECT rowid FROM t WHERE t MATCH ? ORDER BY bm25(t, 10.0, 1.0)", (fts5_query(terms),)
    ).fetchall()
    return [row[0] for row in rows]


def test_stop_words_and_repeats_are_dropped_and_case_folded() -> None:
    assert search_terms("A lift to THE hospital, the Hospital!") == ["lift", "hospital"]
    assert search_terms("the and of") == []
    assert search_terms('"*" NEAR( OR') == ["near"]
    assert len(search_terms(" ".join(f"w{n}" for n in range(50)))) == SEARCH_TERMS_MAX


def test_query_is_only_quoted_words() -> None:
    assert fts5_query(["garden", "tools"]) == '"garden" "tools"'
    assert fts5_query(['say"what']) == '"say""what"'


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("gardens", [1]),
        ("garden*", [1]),
        ("NEAR(garden, 2)", []),  # "near" and "garden" are not in one listing
        ("NEAR", [2]),
        ("title:garden", []),
        ("mowing OR piano", []),  # OR is a stop word, not an operator: both other words needed
    ],
)
def test_operators_are_plain_words(fts: sqlite3.Connection, text: str, found: list[int]) -> None:
    assert matches(fts, text) == found


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_text_is_a_valid_fts5_query(text: str) -> None:
    connection = sqlite3.connect(":memory:")
    try:
        connection.execute("CREATE VIRTUAL TABLE t USING fts5(title, description)")
        connection.execute("INSERT INTO t VALUES ('a garden', 'near or and not')")
        matches(connection, text)  # raises sqlite3.OperationalError on a syntax error
    finally:
        connection.close()
