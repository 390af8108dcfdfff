"""Admin console tests use the shared `town` (tests/support/fixtures.py).

After every test the ledger verifies clean and every unit's balances sum to zero.
"""

from tests.ledger_guard import ledger_stays_clean, reader

__all__ = ["ledger_stays_clean", "reader"]
