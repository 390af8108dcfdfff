"""Admin console tests reuse the members' `town` (areas, communities, a member of each role).

After every test the ledger verifies clean and every unit's balances sum to zero.
"""

from tests.ledger_guard import ledger_stays_clean, reader
from tests.members.conftest import admin_client, town

__all__ = ["admin_client", "ledger_stays_clean", "reader", "town"]
