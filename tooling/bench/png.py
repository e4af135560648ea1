"""Bar charts as PNG files, with no plotting library (the benchmarks' pictures)."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

BAR, GAP, HEIGHT = 12, 6, 240
WHITE = (255, 255, 255)


def write_bars(path: Path, groups: list[list[float]], colours: list[tuple[int, int, int]]) -> None:
    """Groups of bars side by side (bar i of each group in colours[i]), scaled to the
    largest value; a gap between groups."""
    top = max((value for group in groups for value in group), default=0) or 1
    columns: list[tuple[int, int, int] | None] = []  # per pixel column: its bar's colour and height
    heights: list[float] = []
    for group in groups:
        for value, colour in zip(group, colours):
            columns += [colour] * (BAR - 1) + [None]
            heights += [value / top * (HEIGHT - 10)] * BAR
        if len(group) > 1:
            columns += [None] * GAP
            heights += [0.0] * GAP
    rows = []
    for y in range(HEIGHT):
        row = bytearray(b"\x00")
        for colour, height in zip(columns, heights):
            row += bytes(colour if colour is not None and HEIGHT - y <= height else WHITE)
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", len(columns), HEIGHT, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
                     + chunk(b"IEND", b""))
