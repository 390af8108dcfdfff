"""The layout's files, fingerprinted, and what makes the site installable (ADR 0044).

At start every file under service/static/ is hashed once: `asset_url("css/site.css")`
gives "/static/css/site.<hash>.css", served with a year's `immutable` Cache-Control,
so a returning visitor on a poor connection asks for nothing but the page. The plain
name still answers (the API reference page and old bookmarks use it) and is
revalidated on every use. The page HTML itself is never cached (`no-cache`).

Three answers are made here rather than read from disk, since they name the hashed
files: the web app manifest, the service worker (which precaches the hashed files and
the offline page) and the offline page. The worker lives under /static/ but is
allowed the whole site as its scope (`Service-Worker-Allowed: /`), so no new route is
outside /static/.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Final

from litestar import Response, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Template

from service.limits import ASSET_CACHE_SECONDS, ASSET_HASH_CHARS

STATIC_DIR: Final = Path(__file__).resolve().parent.parent / "static"
WORKER_SOURCE: Final = Path(__file__).resolve().parent / "service_worker.js"
STATIC_PREFIX: Final = "/static/"
WORKER_NAME: Final = "sw.js"
MANIFEST_NAME: Final = "manifest.webmanifest"
OFFLINE_NAME: Final = "offline.html"
THEME_COLOUR: Final = "#1d5c4d"  # the site's accent (service/static/css/site.css --accent)
BACKGROUND_COLOUR: Final = "#fdfcf8"  # --paper
IMMUTABLE: Final = f"public, max-age={ASSET_CACHE_SECONDS}, immutable"
REVALIDATE: Final = "no-cache"
# What the worker keeps for a page that cannot be fetched: the layout, not every file.
LAYOUT_ASSETS: Final = ("css/site.css", "css/print.css", "js/register-sw.js", "favicon.svg")
ICON_SIZES_PX: Final = (192, 512)
mimetypes.add_type("application/manifest+json", ".webmanifest")


@dataclass(frozen=True, slots=True)
class AssetIndex:
    urls: dict[str, str]  # "css/site.css" -> "/static/css/site.<hash>.css"
    # "css/site.<hash>.css" -> the bytes that were hashed, read once at start: what
    # is served under a hash is always what the hash was made from.
    files: dict[str, bytes]
    version: str  # changes whenever any file does: names the worker's cache


def fingerprinted_name(name: str, digest: str) -> str:
    path = PurePosixPath(name)
    return str(path.with_name(f"{path.stem}.{digest}{path.suffix}"))


def build_index(directory: Path) -> AssetIndex:
    urls: dict[str, str] = {}
    files: dict[str, bytes] = {}
    overall = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        name = path.relative_to(directory).as_posix()
        content = path.read_bytes()
        digest = hashlib.sha256(content).hexdigest()[:ASSET_HASH_CHARS]
        hashed = fingerprinted_name(name, digest)
        urls[name] = STATIC_PREFIX + hashed
        files[hashed] = content
        overall.update(f"{name}:{digest}\n".encode())
    overall.update(WORKER_SOURCE.read_bytes())
    return AssetIndex(urls, files, overall.hexdigest()[:ASSET_HASH_CHARS])


ASSETS: Final = build_index(STATIC_DIR)


def asset_url(name: str) -> str:
    """The fingerprinted address of a file under service/static/ (a template global)."""
    return ASSETS.urls[name]


def manifest() -> dict[str, object]:
    icons: list[dict[str, str]] = [
        {
            "src": asset_url(f"icons/icon-{size}.png"),
            "sizes": f"{size}x{size}",
            "type": "image/png",
            "purpose": "any maskable",
        }
        for size in ICON_SIZES_PX
    ]
    icons.append({"src": asset_url("icons/icon.svg"), "sizes": "any", "type": "image/svg+xml"})
    return {
        "id": "/",
        "name": "Timebank",
        "short_name": "Timebank",
        "description": "One hour of help is one hour of credit, whatever the help.",
        "lang": "en-GB",
        "start_url": "/dashboard",
        "scope": "/",
        "display": "standalone",
        "theme_color": THEME_COLOUR,
        "background_color": BACKGROUND_COLOUR,
        "icons": icons,
    }


def worker_script() -> str:
    """The worker's own code, after the list of what it precaches."""
    precache = [asset_url(name) for name in LAYOUT_ASSETS] + [STATIC_PREFIX + OFFLINE_NAME]
    head = (
        f"const CACHE_NAME = {json.dumps('timebank-' + ASSETS.version)};\n"
        f"const OFFLINE_URL = {json.dumps(STATIC_PREFIX + OFFLINE_NAME)};\n"
        f"const PRECACHE = {json.dumps(precache)};\n"
    )
    return head + WORKER_SOURCE.read_text(encoding="utf-8")


def _file_response(name: str, content: bytes, cache_control: str) -> Response[bytes]:
    media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return Response(content, media_type=media_type, headers={"Cache-Control": cache_control})


def _plain_file(name: str) -> Path | None:
    """A file under service/static/ by its own name; nothing outside it."""
    path = (STATIC_DIR / name).resolve()
    if not path.is_relative_to(STATIC_DIR) or not path.is_file():
        return None
    return path


# Public: app.py mounts it on a router marked so (the web kit does not import the HTTP kit).
@get(f"{STATIC_PREFIX}{{name:path}}", include_in_schema=False)
async def static_file(name: FromPath[str]) -> Response[bytes] | Response[str] | Template:
    name = name.lstrip("/")
    if name in ASSETS.files:
        return _file_response(name, ASSETS.files[name], IMMUTABLE)
    if name == WORKER_NAME:
        return Response(
            worker_script(),
            media_type="text/javascript",
            headers={"Cache-Control": REVALIDATE, "Service-Worker-Allowed": "/"},
        )
    if name == MANIFEST_NAME:
        return Response(
            json.dumps(manifest()),
            media_type="application/manifest+json",
            headers={"Cache-Control": REVALIDATE},
        )
    if name == OFFLINE_NAME:
        return Template(
            template_name="offline.html",
            context={"page_title": "You are offline"},
            headers={"Cache-Control": REVALIDATE},
        )
    path = _plain_file(name)
    if path is None:
        raise NotFoundException
    return _file_response(name, path.read_bytes(), REVALIDATE)


__all__ = ["ASSETS", "asset_url", "build_index", "manifest", "static_file", "worker_script"]
