"""Write captured IP packets to a pcap file (LINKTYPE_RAW), as evidence an analyst can open."""

from __future__ import annotations

import hashlib
import struct
import time
from pathlib import Path

LINKTYPE_RAW = 101


def write_pcap(path: Path, packets: list[bytes]) -> str:
    """Write the file; return its sha256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    now = time.time()
    with path.open("wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, LINKTYPE_RAW))
        for p in packets:
            sec = int(now)
            f.write(struct.pack("<IIII", sec, int((now - sec) * 1e6), len(p), len(p)))
            f.write(p)
    return hashlib.sha256(path.read_bytes()).hexdigest()
