"""Write captured IP packets to a pcap file (LINKTYPE_RAW), as evidence an analyst can open."""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

LINKTYPE_RAW = 101


def write_pcap(path: Path, packets: list[tuple[float, bytes]]) -> str:
    """Write (capture time, IP packet) records; return the file's sha256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, LINKTYPE_RAW))
        for when, p in packets:
            sec = int(when)
            f.write(struct.pack("<IIII", sec, int((when - sec) * 1e6), len(p), len(p)))
            f.write(p)
    return hashlib.sha256(path.read_bytes()).hexdigest()
