"""Members tests use the shared fixtures (tests/support/fixtures.py: `town`,
`admin_client`) and helpers (tests/support/people.py); the modules with a
hundred rows per engine share one `World` per module (tests/members/world.py).
"""
