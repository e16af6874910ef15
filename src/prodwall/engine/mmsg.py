"""Batched sends with sendmmsg(2) through ctypes: one system call per batch of packets.

The message headers, iovecs and packet buffer are allocated once; a batch is
written into them with a few numpy operations (packet bytes, destination
pointers), so the interpreter does a constant amount of work per batch rather
than per packet.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import socket
import struct

import numpy as np
import numpy.typing as npt

BATCH = 1024  # the kernel's limit for one sendmmsg call (UIO_MAXIOV)
_libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)


class _IoVec(ctypes.Structure):
    _fields_ = [("iov_base", ctypes.c_void_p), ("iov_len", ctypes.c_size_t)]


class _MsgHdr(ctypes.Structure):
    _fields_ = [
        ("msg_name", ctypes.c_void_p),
        ("msg_namelen", ctypes.c_uint32),
        ("msg_iov", ctypes.POINTER(_IoVec)),
        ("msg_iovlen", ctypes.c_size_t),
        ("msg_control", ctypes.c_void_p),
        ("msg_controllen", ctypes.c_size_t),
        ("msg_flags", ctypes.c_int),
    ]


class _MMsgHdr(ctypes.Structure):
    _fields_ = [("msg_hdr", _MsgHdr), ("msg_len", ctypes.c_uint)]


_MSG_WORDS = ctypes.sizeof(_MMsgHdr) // 8  # 64 bytes on 64-bit Linux: msg_name is word 0
_sendmmsg = _libc.sendmmsg
_sendmmsg.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_uint, ctypes.c_int]
_sendmmsg.restype = ctypes.c_int


def sockaddr(address: str) -> ctypes.Array[ctypes.c_char]:
    """A struct sockaddr_in or sockaddr_in6 for `address` (port 0: raw sockets ignore it)."""
    if ":" in address:
        raw = struct.pack(
            "=HHI16sI", socket.AF_INET6, 0, 0, socket.inet_pton(socket.AF_INET6, address), 0
        )
    else:
        raw = struct.pack("=HH4s8x", socket.AF_INET, 0, socket.inet_aton(address))
    return ctypes.create_string_buffer(raw, len(raw))


class Batcher:
    """Sends batches of equal-sized packets on one socket, each to its own destination.

    `names` holds one sockaddr per destination id; a batch names its
    destinations by id, so pointing each message at its address is one numpy
    gather, not a Python loop.
    """

    def __init__(
        self, sock: socket.socket, size: int, names: list[ctypes.Array[ctypes.c_char] | None]
    ) -> None:
        self.fd, self.size = sock.fileno(), size
        self.packets = np.zeros((BATCH, size), np.uint8)
        base = self.packets.ctypes.data
        self.iov = (_IoVec * BATCH)(*[_IoVec(base + k * size, size) for k in range(BATCH)])
        self.msgs = (_MMsgHdr * BATCH)()
        namelen = max((len(n) for n in names if n is not None), default=0)
        for k in range(BATCH):
            self.msgs[k].msg_hdr.msg_iov = ctypes.pointer(self.iov[k])
            self.msgs[k].msg_hdr.msg_iovlen = 1
            self.msgs[k].msg_hdr.msg_namelen = namelen
        self.words = np.frombuffer(memoryview(self.msgs).cast("B"), np.uint64).reshape(
            BATCH, _MSG_WORDS
        )
        self.names = names  # keeps the buffers alive: the kernel reads them at send time
        self.name_ptrs = np.array(
            [ctypes.addressof(n) if n is not None else 0 for n in names], np.uint64
        )
        self.base = ctypes.addressof(self.msgs)

    def send(
        self,
        packets: npt.NDArray[np.uint8],
        dests: npt.NDArray[np.intp],
        indexes: npt.NDArray[np.int64],
    ) -> list[tuple[int, int]]:
        """Send up to BATCH packets; return (probe index, errno) of those the kernel refused."""
        count = len(packets)
        self.packets[:count] = packets
        self.words[:count, 0] = self.name_ptrs[dests]
        failed: list[tuple[int, int]] = []
        start = 0
        while start < count:
            sent = _sendmmsg(self.fd, self.base + start * ctypes.sizeof(_MMsgHdr), count - start, 0)
            if sent < 0:
                err = ctypes.get_errno()
                if err in (errno.EINTR, errno.EAGAIN, errno.ENOBUFS):
                    continue
                failed.append((int(indexes[start]), err))  # this packet was refused
                start += 1
                continue
            start += sent
        return failed
