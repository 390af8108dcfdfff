"""The Redis database the tests use: one of its own for each pytest-xdist worker.

The suite runs in parallel processes (scripts/test). The principal cache's version
key and the rate limits' counters are shared by everything that uses one Redis
database, so a worker whose test bumps the version would empty the cache another
worker's test is counting on. Each worker takes its own numbered database of the
machine's Redis instead, from the top down (the service's own default is 0).
"""

from __future__ import annotations

import os

REDIS_DATABASES = 16  # redis-server's default `databases`
REDIS_DB_TOP = REDIS_DATABASES - 1


def worker_redis_url() -> str:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker.removeprefix("gw"))
    if index >= REDIS_DATABASES - 1:
        raise RuntimeError(f"at most {REDIS_DATABASES - 1} test workers share one Redis")
    return f"redis://127.0.0.1:6379/{REDIS_DB_TOP - index}"
