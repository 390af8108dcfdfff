"""What every test folder shares: one way to drive the app, people, exchanges, pages.

The rule: tests import helpers from here (or from their own folder's conftest or
helper modules), never from another `test_*.py` module
(tests/unit/test_test_layout.py enforces it).

- `app`: the app in-process on the test's own event loop (`running`, `AppClient`).
- `server`: one real `timebank serve` subprocess, and `timebank` commands beside it.
- `people`: members, tokens, sign-in; the `Town` every API folder starts from.
- `exchanges`: propose, accept, complete, dispute and resolve through the API.
- `pages`: HTML forms with their CSRF token, page text.
- `listings`: listings through the API.
- `browser`: Chromium set-up, axe-core, screenshots, signed-in pages.
- `fixtures`: the pytest fixtures built from the above (`town`, `live_server`,
  `browser`, `page`), registered for every folder by tests/conftest.py.
"""
