"""Limits of the service layer, named in one place (the ledger has its own)."""

from __future__ import annotations

from typing import Final

# Text fields, in characters.
EMAIL_CHARS_MAX: Final = 254
PASSWORD_CHARS_MIN: Final = 10
PASSWORD_CHARS_MAX: Final = 200  # argon2 accepts more; nobody types more
DISPLAY_NAME_CHARS_MAX: Final = 80
WARD_CHARS_MAX: Final = 80
SKILLS_CHARS_MAX: Final = 1000
REASON_CHARS_MAX: Final = 1000
COMMUNITY_NAME_CHARS_MAX: Final = 100
SLUG_CHARS_MAX: Final = 60

BIRTH_YEAR_MIN: Final = 1900

# Sessions: signed out after this long idle, and after this long whatever happens.
SESSION_IDLE_SECONDS: Final = 2 * 3600
SESSION_ABSOLUTE_SECONDS: Final = 12 * 3600
# Writing last_seen_at on every request would make every page a write.
SESSION_TOUCH_INTERVAL_SECONDS: Final = 300
SESSION_COOKIE_NAME: Final = "tb_session"
CSRF_COOKIE_NAME: Final = "tb_csrf"
CSRF_HEADER_NAME: Final = "x-csrf-token"

API_TOKEN_LIFETIME_SECONDS: Final = 30 * 24 * 3600
TOKEN_BYTES: Final = 32

# Passwords: each argon2id hash holds 64 MiB for about a tenth of a second.
PASSWORD_HASHES_CONCURRENT_MAX: Final = 4

# Rate limits: (attempts, window in seconds).
SIGN_IN_PER_ADDRESS: Final = (20, 300)
SIGN_IN_PER_ACCOUNT: Final = (5, 300)
REGISTER_PER_ADDRESS: Final = (10, 3600)

# Lists.
PAGE_SIZE_DEFAULT: Final = 50
PAGE_SIZE_MAX: Final = 200
EXPORT_STATEMENT_LINES_MAX: Final = 100_000
