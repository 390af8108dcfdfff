"""Limits of the service layer, named in one place (the ledger has its own)."""

from __future__ import annotations

from typing import Final

# Text fields, in characters.
EMAIL_CHARS_MAX: Final = 254
PASSWORD_CHARS_MIN: Final = 10
PASSWORD_CHARS_MAX: Final = 200  # argon2 accepts more; nobody types more
DISPLAY_NAME_CHARS_MAX: Final = 80
WARD_CHARS_MAX: Final = 80
PHONE_CHARS_MAX: Final = 40  # the database CHECK on member_member.phone
SKILLS_CHARS_MAX: Final = 1000
REASON_CHARS_MAX: Final = 1000
ADMIN_NOTE_CHARS_MAX: Final = 2000  # one private admin note on a member (ADR 0033)
ADMIN_NOTES_SHOWN_MAX: Final = 50  # newest notes on the admin's member page
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
# The chooser's `lang` cookie (ADR 0048): kept a year, like any preference.
LANGUAGE_COOKIE_SECONDS: Final = 365 * 24 * 3600

API_TOKEN_LIFETIME_SECONDS: Final = 30 * 24 * 3600
TOKEN_BYTES: Final = 32

# Passwords: each argon2id hash holds 64 MiB for about a tenth of a second.
PASSWORD_HASHES_CONCURRENT_MAX: Final = 4

# Request bodies (service/http/body_limit.py): the largest accepted, and how much of a
# larger one is read and thrown away so that the 413 reaches the client before
# the connection closes (beyond it the server stops reading and closes).
REQUEST_BODY_SIZE_MAX_BYTES: Final = 1_048_576
REQUEST_BODY_DRAIN_BYTES_MAX: Final = 16 * 1_048_576

# Sign-in (service/members/sign_in_limits.py, ADR 0021): only failures count.
# Failures of one email (or from one address) within the window lock it; each
# further lock lasts twice as long, up to the cap, remembered for a day.
SIGN_IN_ACCOUNT_FAILURES_MAX: Final = 5
# A library's or a care home's shared connection: many people, a few typos each.
SIGN_IN_ADDRESS_FAILURES_MAX: Final = 30
SIGN_IN_FAILURE_WINDOW_SECONDS: Final = 15 * 60
SIGN_IN_LOCK_FIRST_SECONDS: Final = 60
SIGN_IN_LOCK_MAX_SECONDS: Final = 60 * 60
SIGN_IN_LOCK_MEMORY_SECONDS: Final = 24 * 60 * 60

# Rate limits: (attempts, window in seconds).
REGISTER_PER_ADDRESS: Final = (10, 3600)

# Lists.
PAGE_SIZE_DEFAULT: Final = 50
PAGE_SIZE_MAX: Final = 200
EXPORT_STATEMENT_LINES_MAX: Final = 100_000
# The rest of a member's data export (service/export/services.py): far above what one member
# makes in years, so that the download stays one bounded response. A section cut
# short is named in the export's `truncated` list.
EXPORT_LISTINGS_MAX: Final = 5_000
EXPORT_EXCHANGES_MAX: Final = 10_000  # each with its whole history
EXPORT_DISPUTES_MAX: Final = 500  # each with its thread (at most DISPUTE_STATEMENTS_MAX)
EXPORT_DONATIONS_MAX: Final = 2_000  # checkouts, each with its payments and refunds
EXPORT_NOTICES_MAX: Final = 2_000  # in-app notices of mailed events
EXPORT_THANKS_MAX: Final = 5_000  # thank-you notes given, and the same received

# Marketplace listings (the database CHECKs in migrations/market/ agree).
LISTING_TITLE_CHARS_MAX: Final = 120
LISTING_DESCRIPTION_CHARS_MAX: Final = 2000
LISTING_AVAILABILITY_CHARS_MAX: Final = 200
CATEGORY_SLUG_CHARS_MAX: Final = 40
# Free-text search: the text a member may type, and the words of it that count.
SEARCH_TEXT_CHARS_MAX: Final = 200
SEARCH_TERMS_MAX: Final = 16
# Ranked results page by offset; deeper than this, refine the search instead.
SEARCH_OFFSET_MAX: Final = 10_000
CURSOR_CHARS_MAX: Final = 200
LISTINGS_PER_PAGE: Final = 20  # the browse page; the API's own default is PAGE_SIZE_DEFAULT

# Exchanges (marketplace).
EXCHANGE_MINUTES_MAX: Final = 1440  # one exchange is at most a day of help
EXCHANGE_RECIPIENTS_MAX: Final = 20  # a group activity; far below the ledger's chain limit
EXCHANGE_DESCRIPTION_CHARS_MAX: Final = 1000  # the database CHECK
# How far from today a proposed exchange's service date may be.
EXCHANGE_SERVICE_DATE_PAST_DAYS: Final = 366
EXCHANGE_SERVICE_DATE_AHEAD_DAYS: Final = 180
# A hold lasts this many days after acceptance or after the service date, whichever
# is later (EXCHANGE_HOLD_DAYS in the environment). At least a day, so a hold can be
# confirmed at all; at most 90, so with a service date 180 days ahead it stays well
# inside the ledger's one-year limit on pending transfers.
EXCHANGE_HOLD_DAYS_DEFAULT: Final = 14
EXCHANGE_HOLD_DAYS_MIN: Final = 1
EXCHANGE_HOLD_DAYS_MAX: Final = 90
# Days after the provider marks an exchange done before it confirms by itself
# (EXCHANGE_AUTOCONFIRM_DAYS; a community may set its own, same range: the CHECK in
# migrations/members/). Always clamped to end AUTOCONFIRM_BEFORE_HOLD_SECONDS before
# the hold expires, so the helper's hours never go back for want of an answer: a
# margin of several sweep passes (ADR 0028).
EXCHANGE_AUTOCONFIRM_DAYS_DEFAULT: Final = 7
EXCHANGE_AUTOCONFIRM_DAYS_MIN: Final = 1
EXCHANGE_AUTOCONFIRM_DAYS_MAX: Final = 60
AUTOCONFIRM_BEFORE_HOLD_SECONDS: Final = 6 * 3600
# The lifespan task looks for expired holds this often, this many exchanges a pass.
EXCHANGE_EXPIRY_SWEEP_SECONDS: Final = 60
EXCHANGE_EXPIRY_BATCH_MAX: Final = 100
# One node runs the sweeps (service/nodes/lease.py); it renews its lease every pass.
# A node that dies loses it after three missed passes and another node takes over.
SWEEPS_LEASE_PASSES: Final = 3
SWEEPS_LEASE_SECONDS: Final = SWEEPS_LEASE_PASSES * EXCHANGE_EXPIRY_SWEEP_SECONDS
# SWEEPS_INTERVAL_SECONDS may shorten the pass interval (the cluster fault test runs
# passes every second, so that lease hand-overs happen while it watches); the lease
# stays SWEEPS_LEASE_PASSES passes long.
SWEEPS_INTERVAL_SECONDS_MIN: Final = 1
SWEEPS_INTERVAL_SECONDS_MAX: Final = 3600
# Every pass is recorded (service/nodes/passes.py), to show that no two ever overlapped;
# records older than this are dropped by the pass that writes the next one.
SWEEP_PASSES_KEPT_DAYS: Final = 7
SWEEPS_LEASE_RELEASE_SECONDS: Final = 5.0  # at shutdown, then the lease just runs out
# In-app notices listed at once (the count is exact).
NOTICES_MAX: Final = 100

# Disputes (the database CHECKs in migrations/disputes/ agree).
DISPUTE_REASON_CHARS_MAX: Final = 1000
DISPUTE_STATEMENT_CHARS_MAX: Final = 2000
DISPUTE_NOTE_CHARS_MAX: Final = 2000
# A thread is a few accounts of what happened, not a chat; admins read every word.
DISPUTE_STATEMENTS_MAX: Final = 40
# Resolved disputes stay on the parties' dashboards this long.
DISPUTE_OUTCOME_NOTICE_DAYS: Final = 30
# The admin's dispute page lists this many recent exchanges between the two members.
DISPUTES_BETWEEN_MAX: Final = 10

# Admin console.
# Credit limits an admin may set on an hours account (the communities' own bounds).
ACCOUNT_FLOOR_MINUTES_MIN: Final = -60_000  # at most 1000 hours owed
ACCOUNT_CEILING_MINUTES_MAX: Final = 600_000
ADMIN_SEARCH_CHARS_MAX: Final = 100  # a name or an email address, or part of one
ADMIN_RECENT_EXCHANGES_MAX: Final = 10  # on a member's admin page
ADMIN_RECENT_AUDIT_MAX: Final = 10  # on a member's admin page
AUDIT_ACTIONS_LISTED_MAX: Final = 100  # choices in the audit page's action filter
TRIAL_BALANCE_ROWS_SHOWN_MAX: Final = 500  # per unit on the ledger page; the API lists all

# Donations (the database CHECKs in migrations/donations/ agree).
DONATION_PENCE_MIN: Final = 100  # £1: below this Stripe's fee eats most of the gift
DONATION_PENCE_MAX: Final = 100_000  # £1,000: a guard against typos; larger gifts by arrangement
GIFT_AID_NAME_CHARS_MAX: Final = 100
GIFT_AID_ADDRESS_CHARS_MAX: Final = 300
POSTCODE_CHARS_MAX: Final = 8  # "SW1A 1AA"
DONATION_CHECKOUTS_PER_ADDRESS: Final = (20, 3600)  # each one opens a Stripe session
# Stripe's own default: a signed event older than this is refused (replay protection).
STRIPE_WEBHOOK_TOLERANCE_SECONDS: Final = 300
STRIPE_TIMEOUT_SECONDS: Final = 20  # one API call, so a slow Stripe cannot hold a page for long
STRIPE_NETWORK_RETRIES: Final = 2  # safe: every creating call carries an idempotency key
STRIPE_ID_CHARS_MAX: Final = 255  # Stripe documents ids of up to 255 characters
DONATION_REPORT_ROWS_MAX: Final = 2000  # community-months on the admin page and in its CSV
UNMATCHED_EVENTS_SHOWN_MAX: Final = 100
# Refunds and chargebacks for one payment that arrived before it; Stripe sends a handful.
WAITING_EVENTS_REPLAYED_MAX: Final = 50

# Council reports.
REPORT_MONTHS_DEFAULT: Final = 12  # the period a report covers when none is asked for
REPORT_MONTHS_MAX: Final = 120  # ten years of whole months in one report
REPORT_COMMUNITIES_MAX: Final = 100  # communities named in one request
REPORT_WARDS_SHOWN_MAX: Final = 30  # larger wards beyond these are shown together as "other"

# Transfers and exchanges
GIFT_MINUTES_MAX = 6000  # 100 hours: far above any real gift, a guard against typos
MEMO_CHARS_MAX = 200  # a gift's message, and an exchange's description copied into the ledger memo

# Request bodies and Idempotency-Key (service/http/idempotency.py)
IDEMPOTENCY_KEY_CHARS_MAX = 255
# A duplicate that arrives while the first request still runs waits this long for its
# answer before it is told to retry (409 idempotency_key_in_progress).
IDEMPOTENCY_WAIT_SECONDS = 10.0
IDEMPOTENCY_POLL_SECONDS = 0.05
# A reservation this old belongs to a request that died (a crash between its commit and
# storing its answer): a retry may take it over; derived ledger ids keep that safe.
IDEMPOTENCY_RESERVATION_STALE_SECONDS = 60
IDEMPOTENCY_RETRY_AFTER_SECONDS = 1

# In-process rate-limit and sign-in failure counts (without Redis): the most keys kept.
RATE_MEMORY_KEYS_MAX = 100_000

# Resolved callers kept per worker with REDIS_URL set (ADR 0043). Each request checks a
# version in Redis, so a change is seen at once; the lifetime bounds only what a lost
# bump (Redis down at that moment) can leave behind, and the session touch's delay.
PRINCIPAL_CACHE_SECONDS: Final = 5.0
PRINCIPAL_CACHE_ENTRIES_MAX: Final = 50_000

# Point reads of one kind answered by one statement at most (service/shared_reads.py):
# a statement's arrays stay small however many requests wait.
SHARED_READ_KEYS_MAX: Final = 256

# Conversations, blocks and concerns (issue 18).
MESSAGE_BODY_CHARS_MAX: Final = 2000  # the database CHECK on safety_message.body
# Messages one member may send in a window: (messages, window in seconds). Counted
# in the database, so every worker and the pages share it.
MESSAGES_PER_MEMBER: Final = (30, 3600)
MESSAGES_PER_PAGE: Final = 200  # the newest of a thread shown at once
CONVERSATIONS_PER_PAGE: Final = 100
BLOCKS_MAX: Final = 500  # a member's blocks listed at once
CONCERN_TEXT_CHARS_MAX: Final = 2000  # the database CHECK on safety_concern.text
CONCERN_OUTCOME_CHARS_MAX: Final = 2000
CONCERNS_PER_PAGE: Final = 100
EXPORT_MESSAGES_MAX: Final = 20_000  # messages in the member's conversations
PAIRS_SHOWN_MAX: Final = 50  # suggested pairs on the pairing page
OLDER_MEMBER_AGE_MIN: Final = 65  # "older" in The Cares Family's sense
YOUNGER_MEMBER_AGE_MAX: Final = 35
PAIRS_LISTED_MAX: Final = 200  # introduced pairs on the coordinator's pairs page and API
VISITS_SHOWN_MAX: Final = 6  # a pair's most recent visit dates shown with their state
VISIT_MINUTES_MIN: Final = 15  # a friendship visit: a cup of tea at least
VISIT_MINUTES_MAX: Final = 480  # and at most a working day
VISIT_CADENCE_DAYS: Final = {"weekly": 7, "fortnightly": 14}
# Neighbours: profiles, directory, listing expiry, checks and thanks (issue 18).
LISTING_DAYS_DEFAULT: Final = 90  # a community's listings stay up this long unless renewed
LISTING_DAYS_MIN: Final = 7
LISTING_DAYS_MAX: Final = 3650
LISTING_RENEW_REMINDER_DAYS: Final = 7  # the member is reminded this long before expiry
LISTING_SWEEP_BATCH_MAX: Final = 500  # listings one sweep handles; the rest wait for the next
HELP_WANTED_CHARS_MAX: Final = 1000  # "what I would like help with" on a profile
CHECK_EXPIRY_WARNING_DAYS: Final = 30  # coordinators hear of a check this long before it ends
CHECKS_LISTED_MAX: Final = 100  # a member's checks on the desk and in the export
THANKS_CHARS_MAX: Final = 500  # a thank-you note is short
THANKS_SHOWN_MAX: Final = 50  # thanks listed on one profile
DIRECTORY_PAGE_SIZE: Final = 20  # members per directory page
DIRECTORY_PAGES_MAX: Final = 500  # further than anyone browses; bounds the OFFSET
# Events: social clubs, classes and outings with attendance (issue 19, ADR 0041).
EVENT_TITLE_CHARS_MAX: Final = 120
EVENT_DESCRIPTION_CHARS_MAX: Final = 2000
EVENT_PLACE_CHARS_MAX: Final = 200
EVENT_ACCESS_NOTES_CHARS_MAX: Final = 500
EVENT_CAPACITY_MAX: Final = 1000  # a hall, not a stadium
EVENT_HOSTS_MAX: Final = 10
EVENT_HOST_MINUTES_MAX: Final = 8 * 60  # credited to each host for one meeting
EVENT_LENGTH_MINUTES_MAX: Final = 24 * 60  # an outing lasts a day at most
EVENT_AHEAD_DAYS_MAX: Final = 2 * 365  # how far ahead an event may be planned
# A series is stored with its meetings made up front: a bounded number of them, so a
# year of a weekly club fits and nobody makes a series without end.
EVENT_SERIES_OCCURRENCES_MAX: Final = 53
EVENT_SERIES_OCCURRENCES_DEFAULT: Final = 12
EVENTS_LISTED_MAX: Final = 200  # upcoming events shown at once
EVENT_ATTENDEES_MAX: Final = 1000  # ticked on one register (at least the capacity)
EVENT_REMINDER_HOURS_AHEAD: Final = 24  # attendees hear the day before
EVENT_REMINDER_BATCH_MAX: Final = 500  # reminders one sweep queues; the rest wait
EXPORT_EVENTS_MAX: Final = 2000  # a member's RSVPs and attendance in their export

# Fingerprinted assets (ADR 0044): a changed file gets a new address, so the old one
# may be kept for a year; pages themselves are never cached.
ASSET_CACHE_SECONDS: Final = 365 * 24 * 3600
ASSET_HASH_CHARS: Final = 12  # of the SHA-256 hex digest: collisions are no concern here

# Impact report (service/reports/impact.py, ADR 0042): the ages that make help
# "intergenerational", in years at the exchange's date (year minus birth year).
IMPACT_YOUNGER_AGE_BELOW: Final = 35  # under 35
IMPACT_OLDER_AGE_FROM: Final = 65  # 65 and over
# Members counted "still active" if they took part this many months or more after joining.
IMPACT_RETENTION_MONTHS: Final = (3, 6)

# Wellbeing check-ins (service/wellbeing/, ADR 0042): the ONS questions are 0-10,
# the three UCLA loneliness items 1-3 (hardly ever, some of the time, often).
WELLBEING_ONS_MIN: Final = 0
WELLBEING_ONS_MAX: Final = 10
WELLBEING_UCLA_MIN: Final = 1
WELLBEING_UCLA_MAX: Final = 3
# A check-in is offered again this long after the last answer or "not now".
WELLBEING_INTERVAL_DAYS: Final = 182
WELLBEING_LISTED_MAX: Final = 100  # a member's own check-ins on the page, the API and the export

# The flows reports' read replica (DATABASE_REPLICA_URL, ADR 0047). A replica further
# behind than this falls back to the primary; its lag is checked at most once in
# REPLICA_CHECK_SECONDS per process, and a replica that does not answer a connection
# within REPLICA_CONNECT_TIMEOUT_SECONDS counts as down until the next check.
REPLICA_LAG_SECONDS_MAX: Final = 30
REPLICA_CHECK_SECONDS: Final = 5
REPLICA_CONNECT_TIMEOUT_SECONDS: Final = 2

# A serving worker's youngest-generation threshold (ADR 0069; CPython's default is 700).
# Under 32 gift clients a worker ran ~150 young collections a second at 700, about 3%
# of its time; at 20,000 it ran one in half a minute.
SERVING_GC_YOUNG_THRESHOLD = 20_000
