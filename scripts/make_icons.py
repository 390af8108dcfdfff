"""Draw the app icons (service/static/icons/icon-192.png, icon-512.png) once.

The same picture as service/static/favicon.svg (a clock face on the site's accent
colour), drawn full-bleed so that the icons can also be "maskable": the clock sits
inside the middle 80% that every launcher's mask keeps. Pure Python (zlib), so no
image library is needed; the PNGs are committed and this is run only to change them:

    .venv/bin/python scripts/make_icons.py
"""

from __future__ import annotations

import math
import struct
import zlib
from pathlib import Path

ICON_DIR = Path(__file__).resolve().parent.parent / "service" / "static" / "icons"
SIZES_PX = (192, 512)
ACCENT = (0x1D, 0x5C, 0x4D)
WHITE = (0xFF, 0xFF, 0xFF)
SAMPLES = 3  # per side, per pixel: smooth edges without an image library


Point = tuple[float, float]
RING_INNER, RING_OUTER = 9.2, 10.8  # radii of the clock's ring, in the favicon's 32 units
HAND_HALF_WIDTH = 1.1


def _segment_distance(px: float, py: float, a: Point, b: Point) -> float:
    ax, ay = a
    bx, by = b
    dx, dy = bx - ax, by - ay
    t = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
    return math.hypot(px - (ax + t * dx), py - (ay + t * dy))


def _is_white(x: float, y: float) -> bool:
    """In a 32-unit square like the favicon: a ring and two hands."""
    centre = (16.0, 16.0)
    radius = math.hypot(x - 16, y - 16)
    ring = RING_INNER <= radius <= RING_OUTER
    hands = (
        _segment_distance(x, y, centre, (16.0, 9.5)) <= HAND_HALF_WIDTH
        or _segment_distance(x, y, centre, (20.5, 19.0)) <= HAND_HALF_WIDTH
    )
    return ring or hands


def _pixels(size: int) -> bytes:
    rows = bytearray()
    step = 32 / size
    for row in range(size):
        rows.append(0)  # filter: none
        for column in range(size):
            white = sum(
                _is_white((column + (i + 0.5) / SAMPLES) * step, (row + (j + 0.5) / SAMPLES) * step)
                for i in range(SAMPLES)
                for j in range(SAMPLES)
            ) / (SAMPLES * SAMPLES)
            rows.extend(round(a + (w - a) * white) for a, w in zip(ACCENT, WHITE, strict=True))
    return bytes(rows)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(size: int) -> bytes:
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(_pixels(size), 9))
        + _chunk(b"IEND", b"")
    )


def main() -> None:
    ICON_DIR.mkdir(parents=True, exist_ok=True)
    for size in SIZES_PX:
        (ICON_DIR / f"icon-{size}.png").write_bytes(png(size))


if __name__ == "__main__":
    main()
