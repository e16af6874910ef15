"""Run inside a lab namespace by the tests: one connection attempt, result as JSON.

python nethelper.py tcp ADDR PORT      -> {"result": "open"|"refused"|"timeout"|"ERRNO", ...}
python nethelper.py dns SERVER NAME    -> {"result": "answer"|"timeout", "rcode": N, ...}
python nethelper.py listen PORT...     -> TCP listeners on every address (IPv4 and IPv6);
                                          prints "ready" once all are bound
"""

from __future__ import annotations

import errno
import json
import socket
import struct
import sys
import threading
import time


def tcp(addr: str, port: int, timeout: float = 2.0) -> dict[str, object]:
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    started = time.monotonic()
    try:
        sock.connect((addr, port))
        return {"result": "open", "banner": sock.recv(64).decode(errors="replace")}
    except TimeoutError:
        return {"result": "timeout"}
    except OSError as exc:
        name = errno.errorcode.get(exc.errno or 0, str(exc.errno))
        return {
            "result": "refused" if name == "ECONNREFUSED" else name,
            "after_s": round(time.monotonic() - started, 2),
        }
    finally:
        sock.close()


def dns(server: str, name: str, timeout: float = 2.0) -> dict[str, object]:
    query = struct.pack(">HHHHHH", 0x5057, 0x0100, 1, 0, 0, 0)
    query += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    query += struct.pack(">HH", 1, 1)
    family = socket.AF_INET6 if ":" in server else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.settimeout(timeout)
    try:
        sock.sendto(query, (server, 53))
        data = sock.recv(1024)
    except TimeoutError:
        return {"result": "timeout"}
    except OSError as exc:
        return {"result": errno.errorcode.get(exc.errno or 0, str(exc.errno))}
    finally:
        sock.close()
    flags, _qd, answers = struct.unpack(">HHH", data[2:8])
    return {"result": "answer", "rcode": flags & 0xF, "answers": answers}


def listen(ports: list[int]) -> None:
    socks = []
    for port in ports:  # all bound before "ready": the caller may probe at once
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("::", port))
        s.listen(256)
        socks.append(s)
    for s in socks:
        threading.Thread(target=_accept, args=(s,), daemon=True).start()
    print("ready", flush=True)
    time.sleep(900)


def _accept(s: socket.socket) -> None:
    while True:
        conn, _ = s.accept()
        conn.close()


if __name__ == "__main__":
    kind = sys.argv[1]
    if kind == "listen":
        listen([int(p) for p in sys.argv[2:]])
        sys.exit(0)
    a, b = sys.argv[2:4]
    out = tcp(a, int(b)) if kind == "tcp" else dns(a, b)
    print(json.dumps(out))
