"""timebank's double-entry ledger of hours and money (see ../shared/spec/ledger.md).

Framework-free: it uses Piccolo's engines for connections and nothing of the
service. It is the only code that writes ledger tables.
"""

from ledger.api import LEDGER_NAMESPACE, Ledger
from ledger.errors import LedgerError
from ledger.model import (
    Account,
    Balance,
    BatchResult,
    Chain,
    ExpirePending,
    NewPending,
    NewTransfer,
    PostPending,
    Reverse,
    StatementLine,
    StatementPage,
    Transfer,
    TransferKind,
    TrialBalance,
    Unit,
    VoidPending,
)
from ledger.transactions import run_write, write_transaction
from ledger.verify import Discrepancy, VerifyReport

__all__ = [
    "LEDGER_NAMESPACE",
    "Account",
    "Balance",
    "BatchResult",
    "Chain",
    "Discrepancy",
    "ExpirePending",
    "Ledger",
    "LedgerError",
    "NewPending",
    "NewTransfer",
    "PostPending",
    "Reverse",
    "StatementLine",
    "StatementPage",
    "Transfer",
    "TransferKind",
    "TrialBalance",
    "Unit",
    "VerifyReport",
    "VoidPending",
    "run_write",
    "write_transaction",
]
