"""Limits of account recovery, each named once with its unit."""

from __future__ import annotations

from typing import Final

# A mailed reset link works once, for an hour; a coordinator's code, read out on
# the phone to a member without email, for a day. An email change link: an hour.
RESET_LINK_SECONDS: Final = 3600
RESET_CODE_SECONDS: Final = 24 * 3600
EMAIL_CHANGE_SECONDS: Final = 3600
# An invitation to a member a coordinator added (no login yet): a week, since people
# who are not online may read their mail only now and then.
INVITATION_LINK_SECONDS: Final = 7 * 24 * 3600
# A code is 12 characters in three groups ("KF7Q-3MXD-9TRB"): about 60 bits, from an
# alphabet without look-alikes (no 0/O, 1/I/L), easy to read out and type.
RESET_CODE_ALPHABET: Final = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
RESET_CODE_GROUPS: Final = 3
RESET_CODE_GROUP_CHARS: Final = 4
RESET_TOKEN_CHARS_MAX: Final = 100
# Rate limits: (attempts, window in seconds).
PASSWORD_RESET_PER_ADDRESS: Final = (10, 3600)
PASSWORD_RESET_PER_EMAIL: Final = (3, 3600)
RESET_CONFIRM_PER_ADDRESS: Final = (20, 900)
EMAIL_CHANGE_PER_MEMBER: Final = (5, 3600)
# Asking for a reset answers after at least this long, whether or not the address
# is known, so the time taken tells nothing about who has an account.
PASSWORD_RESET_ANSWER_SECONDS_MIN: Final = 0.25
