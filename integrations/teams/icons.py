"""The app icons Teams requires, drawn in pure Python so the package builds anywhere.

``color.png`` is 192x192, full colour; ``outline.png`` is 32x32, white on transparent (Teams
rejects any other colour in the outline icon). Both show an exclamation mark in a ring.
``python -m integrations.teams.icons`` rewrites the committed copies in ``assets/``.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

ASSETS = Path(__file__).parent / "assets"
ACCENT = (196, 49, 75)
WHITE = (255, 255, 255)

Pixel = tuple[int, int, int, int]


def png(width: int, height: int, pixels: list[list[Pixel]]) -> bytes:
    """Encode RGBA rows as a PNG."""
    raw = b"".join(b"\x00" + b"".join(bytes(p) for p in row) for row in pixels)

    def chunk(tag: bytes, data: bytes) -> bytes:
        body = tag + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def _mark(size: int, x: float, y: float) -> bool:
    """True where the ring-and-exclamation glyph covers point (x, y) of a ``size`` square."""
    c = size / 2
    r = ((x - c) ** 2 + (y - c) ** 2) ** 0.5
    ring = 0.36 * size <= r <= 0.46 * size
    bar = abs(x - c) <= 0.06 * size and 0.24 * size <= y <= 0.58 * size
    dot = ((x - c) ** 2 + (y - 0.72 * size) ** 2) ** 0.5 <= 0.07 * size
    return ring or bar or dot


def _draw(size: int, on: Pixel, off: Pixel) -> bytes:
    samples = 4  # supersampling, so the edges are not jagged
    rows: list[list[Pixel]] = []
    for j in range(size):
        row: list[Pixel] = []
        for i in range(size):
            hits = sum(
                _mark(size, i + (a + 0.5) / samples, j + (b + 0.5) / samples)
                for a in range(samples)
                for b in range(samples)
            )
            t = hits / samples**2
            row.append(
                (
                    round(on[0] * t + off[0] * (1 - t)),
                    round(on[1] * t + off[1] * (1 - t)),
                    round(on[2] * t + off[2] * (1 - t)),
                    round(on[3] * t + off[3] * (1 - t)),
                )
            )
        rows.append(row)
    return png(size, size, rows)


def color_icon() -> bytes:
    """192x192: a white glyph on the accent colour."""
    return _draw(192, (*WHITE, 255), (*ACCENT, 255))


def outline_icon() -> bytes:
    """32x32: a white glyph on transparency."""
    return _draw(32, (*WHITE, 255), (*WHITE, 0))


def icon_bytes(name: str) -> bytes:
    """The committed icon, or a freshly drawn one if the file is missing."""
    path = ASSETS / name
    if path.is_file():
        return path.read_bytes()
    return color_icon() if name == "color.png" else outline_icon()


if __name__ == "__main__":
    ASSETS.mkdir(exist_ok=True)
    (ASSETS / "color.png").write_bytes(color_icon())
    (ASSETS / "outline.png").write_bytes(outline_icon())
