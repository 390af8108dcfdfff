"""Every limit the ledger enforces, in one place (ledger.md guarantee 12).

Requests beyond these limits are refused with a typed error before any
database work, so no request can make a write unboundedly large or slow.
"""

from __future__ import annotations

from typing import Final

# The largest single movement: 100 million minor units. For HOUR that is
# about 190 years of minutes; for GBP one million pounds. Far above any real
# exchange, far below 2**63 so sums of many transfers can never overflow.
AMOUNT_MINOR_MAX: Final = 100_000_000

# Account limits (floor and ceiling) are bounded the same way, both signs.
ACCOUNT_LIMIT_MINOR_ABS_MAX: Final = 1_000_000_000_000

# Transfers that commit or fail together in one chain (a group exchange).
CHAIN_TRANSFERS_MAX: Final = 64

# Operations (single transfers or whole chains) in one batch call.
BATCH_ITEMS_MAX: Final = 1_000

# Transfers written by one batch call, counting every member of every chain.
BATCH_TRANSFERS_MAX: Final = 4_000

# Free text attached to a transfer, in characters.
MEMO_CHARS_MAX: Final = 500

# Who caused a transfer ("member:…", "coordinator:…", "system:…"), in characters.
ACTOR_CHARS_MAX: Final = 200

# Owner label of an account, in characters.
OWNER_CHARS_MAX: Final = 200

# A transfer's code says why it happened ("exchange", "welcome", …): lowercase
# letters, digits and underscores, starting with a letter.
CODE_CHARS_MAX: Final = 40

# Statement pages, newest first.
STATEMENT_PAGE_SIZE_DEFAULT: Final = 50
STATEMENT_PAGE_SIZE_MAX: Final = 500

# A pending transfer must expire within this many seconds (one year): holds
# that never end would freeze a member's hours forever.
PENDING_TIMEOUT_SECONDS_MAX: Final = 366 * 24 * 3600

# Pending transfers expired by one call of expire_due().
EXPIRE_BATCH_MAX: Final = 500

# Attempts of one write when the database reports a deadlock, a serialization
# failure, a busy SQLite file, or a racing insert of the same transfer id.
WRITE_ATTEMPTS_MAX: Final = 6
WRITE_RETRY_BACKOFF_SECONDS_BASE: Final = 0.002

# Group-committed write transactions in flight at once from one process. SQLite has
# one writer; on PostgreSQL one too (ADR 0056): measured through HTTP with two
# workers and 32 gift clients, one flusher each gave 1,500-1,860 gifts/s against
# 1,140-1,250 with four, p99 40-55 ms against 80-95, because the batches grow (6.3
# gifts a commit against 2.3: fewer statements per gift) and two workers' batches
# wait less on each other's row locks. The ledger alone did not change (16 writers:
# 6,400 transfers/s with one, 6,700 with four). More processes, not more flushers,
# use more cores.
GROUP_COMMIT_FLUSHERS: Final = 1

# The most items of a group-committed batch PostgreSQL writes in one call when all are
# plain transfers (ADR 0070): its function finds each account by a linear search of
# the batch's accounts, so a larger batch (2,000 writers queued at once) is planned
# in Python instead. Batches under load hold 10-20 gifts.
PLAIN_BATCH_ITEMS_MAX: Final = 256

# How long a batch of plain transfers on PostgreSQL waits, at most, for the writers a
# process has said are coming (`GroupCommitter.expecting`, ADR 0072) before it is
# taken. A gift's own work before it queues is about half a millisecond of a worker,
# so sixteen begun together have all queued within about 10 ms; a writer held up
# longer (a slow read) must not hold every other writer's batch with it.
GROUP_COMMIT_SETTLE_SECONDS_MAX: Final = 0.02

# Attempts at a batch of plain transfers in its own statement before it is planned in
# Python (ADR 0072): its instant is taken before its statement waits for the turn, so
# another process's batch that took the turn first with a later instant makes the call
# decline ("an account is newer"); the next attempt takes a new instant.
PLAIN_BATCH_ATTEMPTS_MAX: Final = 2

# How many account rows verify() reads per query, to bound its memory.
VERIFY_ACCOUNTS_PER_PAGE: Final = 1_000

# The checkpoint key (TIMEBANK_CHECKPOINT_KEY), in characters: an HMAC key
# shorter than its hash's 32 bytes would be the weak link.
CHECKPOINT_KEY_CHARS_MIN: Final = 32

# A checkpoint file read by `verify --checkpoint`, in bytes (about 150 bytes
# per account: room for well over a hundred thousand accounts).
CHECKPOINT_FILE_BYTES_MAX: Final = 64 * 1024 * 1024
