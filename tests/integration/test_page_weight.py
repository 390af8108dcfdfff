"""Issue 20, item 2: quick on a poor connection (ADR 0044).

- The main pages weigh under 100 KB before images: the HTML, and every stylesheet and
  script it links to.
- The files a page links to are fingerprinted and may be kept a year (immutable); the
  page itself is asked for again each time (no-cache). A changed file is a new address;
  an old or made-up address is a 404; the plain name still answers, revalidated.
- The service worker may control the whole site from under /static/.
"""

from __future__ import annotations

import re

from tests.support.pages import sign_in
from tests.support.people import Person, Town

PAGE_WEIGHT_MAX_BYTES = 100_000
LINKED_FILE = re.compile(r'<(?:link rel="stylesheet"|script) (?:href|src)="(/static/[^"]+)"')
MAIN_PAGES = {
    "alice": ("/dashboard", "/listings", "/exchanges", "/statement", "/messages", "/members"),
    "coordinator": ("/coordinator/members",),
    "council": ("/reports",),
    "admin": ("/admin",),
}


async def _weight(town: Town, path: str) -> tuple[int, list[str]]:
    page = await town.client.get(path)
    assert page.status_code == 200, (path, page.status_code)
    files = LINKED_FILE.findall(page.text)
    weight = len(page.content)
    for url in files:
        linked = await town.client.get(url)
        assert linked.status_code == 200, url
        weight += len(linked.content)
    return weight, files


async def test_main_pages_weigh_under_100_kb_before_images(town: Town) -> None:
    public_weight, files = await _weight(town, "/")
    assert public_weight < PAGE_WEIGHT_MAX_BYTES, public_weight
    assert len(files) >= 3, files  # the stylesheet, the print stylesheet, the script
    for who, paths in MAIN_PAGES.items():
        person: Person = getattr(town, who)
        town.client.cookies.clear()
        await sign_in(town, person)
        for path in paths:
            weight, _ = await _weight(town, path)
            assert weight < PAGE_WEIGHT_MAX_BYTES, f"{path} as {who}: {weight} bytes"


async def test_files_are_fingerprinted_and_kept_pages_are_not(town: Town) -> None:
    home = await town.client.get("/")
    assert "no-cache" in home.headers["cache-control"]
    stylesheet = re.search(r'href="(/static/css/site\.([0-9a-f]{12})\.css)"', home.text)
    assert stylesheet, "the stylesheet has no content hash in its address"
    kept = await town.client.get(stylesheet.group(1))
    assert kept.status_code == 200
    assert kept.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert kept.headers["content-type"].startswith("text/css")
    stale = await town.client.get(stylesheet.group(1).replace(stylesheet.group(2), "0" * 12))
    assert stale.status_code == 404
    plain = await town.client.get("/static/css/site.css")
    assert plain.status_code == 200
    assert plain.headers["cache-control"] == "no-cache"
    assert plain.content == kept.content
    outside = await town.client.get("/static/../settings.py")
    assert outside.status_code == 404


async def test_the_worker_may_control_the_site_and_precaches_the_layout(town: Town) -> None:
    home = await town.client.get("/")
    worker = await town.client.get("/static/sw.js")
    assert worker.status_code == 200
    assert worker.headers["service-worker-allowed"] == "/"
    assert worker.headers["cache-control"] == "no-cache"
    assert worker.headers["content-type"].startswith("text/javascript")
    for url in LINKED_FILE.findall(home.text):
        assert f'"{url}"' in worker.text, f"the worker does not precache {url}"
    assert '"/static/offline.html"' in worker.text
    offline = await town.client.get("/static/offline.html")
    assert offline.status_code == 200
    assert "You are offline" in offline.text
