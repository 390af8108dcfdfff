"""Limits of the mail outbox and its worker, each named once with its unit."""

from __future__ import annotations

from typing import Final

# The worker looks for due messages this often, and claims at most this many a pass.
MAIL_POLL_SECONDS: Final = 2.0
MAIL_BATCH_MAX: Final = 20
# A claimed message is not due again until this lease has passed: a worker killed
# between claiming and sending leaves it to be sent by the next pass after the lease.
MAIL_CLAIM_LEASE_SECONDS: Final = 300
# Retries: the n-th failure waits BASE * 2**(n-1) seconds (capped); after
# MAIL_ATTEMPTS_MAX attempts the message is dead and waits for an admin.
MAIL_ATTEMPTS_MAX: Final = 8
MAIL_RETRY_BASE_SECONDS: Final = 30
MAIL_RETRY_DELAY_SECONDS_MAX: Final = 6 * 3600
# One SMTP conversation may take this long before it counts as failed.
SMTP_TIMEOUT_SECONDS: Final = 30.0
# What the admin page and API list at once, and how much of an SMTP error is kept.
OUTBOX_PAGE_SIZE_MAX: Final = 200
MAIL_ERROR_CHARS_MAX: Final = 500
MAIL_KIND_CHARS_MAX: Final = 40
# Reminders about accepted exchanges (service/exchanges/reminders.py, run by the
# sweep in service/sweeps.py): this many exchanges a pass.
REMINDER_BATCH_MAX: Final = 100
# "Please confirm" goes this long after the service date; "your hours go back"
# this long before the hold expires.
CONFIRM_REMINDER_AFTER_SECONDS: Final = 24 * 3600
HOLD_EXPIRY_WARNING_SECONDS: Final = 48 * 3600
# On shutdown the worker finishes its pass; after this long it is cancelled.
MAIL_SHUTDOWN_SECONDS: Final = SMTP_TIMEOUT_SECONDS + 5
