"""Receiving many datagrams per system call with Linux recvmmsg(2).

Python's socket module reads one datagram per call; at a million flow
records a second (33,000 datagrams) the calls alone cost a core.  This
reads up to `count` datagrams at once into a fixed buffer through ctypes.
`receive_burst()` hands the buffer itself over as a numpy array (one row
per datagram) for `Decoder.feed_burst()`, with no Python object per
datagram.
`make_receiver()` falls back to one `recvfrom` per datagram where
recvmmsg is not available.
"""

from __future__ import annotations

import ctypes
import errno
import socket
import sys
from dataclasses import dataclass

import numpy as np

MSG_DONTWAIT = 0x40
MSG_TRUNC = 0x20


class _Iovec(ctypes.Structure):
    _fields_ = [("iov_base", ctypes.c_void_p), ("iov_len", ctypes.c_size_t)]


class _MsgHdr(ctypes.Structure):
    _fields_ = [
        ("msg_name", ctypes.c_void_p), ("msg_namelen", ctypes.c_uint32),
        ("msg_iov", ctypes.c_void_p), ("msg_iovlen", ctypes.c_size_t),
        ("msg_control", ctypes.c_void_p), ("msg_controllen", ctypes.c_size_t),
        ("msg_flags", ctypes.c_int),
    ]


class _MMsgHdr(ctypes.Structure):
    _fields_ = [("msg_hdr", _MsgHdr), ("msg_len", ctypes.c_uint)]


NAME_SIZE = 32  # room for a sockaddr_in6
RECEIVE_COUNT = 256  # datagrams per recvmmsg call


@dataclass(slots=True)
class Burst:
    """Datagrams of one recvmmsg call, as `Decoder.feed_burst()` takes them.
    `data` is a view of the receive buffer: valid until the next call."""

    data: object  # (n, slot) uint8 array; row i holds datagram i
    lengths: object  # (n,) uint32
    sources: list  # distinct source addresses
    source_of: object  # (n,) index into sources, or None: all from sources[0]
    truncated: object  # (n,) bool, or None: none truncated

    def __len__(self) -> int:
        return len(self.lengths)

    def feed(self, decoder) -> None:
        decoder.feed_burst(self.data, self.lengths, self.sources, self.source_of, self.truncated)


class MmsgReceiver:
    """Reads up to `count` datagrams of at most `slot` bytes per call.
    Longer datagrams are truncated by the kernel and reported as such."""

    def __init__(self, sock: socket.socket, count: int = RECEIVE_COUNT, slot: int = 9216):
        libc = ctypes.CDLL(None, use_errno=True)
        self._recvmmsg = libc.recvmmsg
        self._recvmmsg.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_uint, ctypes.c_int, ctypes.c_void_p]
        self._recvmmsg.restype = ctypes.c_int
        self.fd = sock.fileno()
        self.count, self.slot = count, slot
        self._data = ctypes.create_string_buffer(count * slot)
        self._names = ctypes.create_string_buffer(count * NAME_SIZE)
        self._iov = (_Iovec * count)()
        self._msgs = (_MMsgHdr * count)()
        base, names = ctypes.addressof(self._data), ctypes.addressof(self._names)
        for i in range(count):
            self._iov[i].iov_base = base + i * slot
            self._iov[i].iov_len = slot
            header = self._msgs[i].msg_hdr
            header.msg_name = names + i * NAME_SIZE
            header.msg_namelen = NAME_SIZE
            header.msg_iov = ctypes.addressof(self._iov[i])
            header.msg_iovlen = 1
        size = ctypes.sizeof(_MMsgHdr)
        raw = np.frombuffer(self._msgs, dtype=np.uint8).reshape(count, size)
        name_at = _MsgHdr.msg_namelen.offset
        len_at = _MMsgHdr.msg_len.offset
        flags_at = _MsgHdr.msg_flags.offset
        self._namelen = raw[:, name_at:name_at + 4].view(np.uint32)
        self._lengths = raw[:, len_at:len_at + 4].view(np.uint32)
        self._flags = raw[:, flags_at:flags_at + 4].view(np.int32)
        self._addresses: dict[bytes, str] = {}
        self._rows = np.frombuffer(self._data, dtype=np.uint8).reshape(count, slot)
        self._name_rows = np.frombuffer(self._names, dtype=np.uint8).reshape(count, NAME_SIZE)

    def _call(self) -> int:
        self._namelen[:] = NAME_SIZE
        n = self._recvmmsg(self.fd, ctypes.addressof(self._msgs), self.count, MSG_DONTWAIT, None)
        if n < 0:
            code = ctypes.get_errno()
            if code in (errno.EAGAIN, errno.EWOULDBLOCK):
                raise BlockingIOError(code, "no datagram")
            raise OSError(code, "recvmmsg failed")
        return n

    def _source(self, raw: bytes) -> str:
        cache = self._addresses
        address = cache.get(raw)
        if address is None:
            if len(cache) > 65536:  # many sources (spoofed?): do not grow without bound
                cache.clear()
            address = cache[raw] = _address(raw)
        return address

    def receive_burst(self) -> Burst:
        """The datagrams waiting (up to `count`) as one Burst; BlockingIOError if none."""
        names = self._name_rows
        names[:] = 0  # the kernel writes only as much of an address as the family needs
        n = self._call()
        names = names[:n]
        names[:, 2:4] = 0  # the source port does not tell exporters apart
        keys = names[:, :24].view(np.uint64)  # family, address (and IPv6 flow info)
        if n == 1 or (keys == keys[0]).all():
            sources, source_of = [self._source(_key(names[0]))], None
        else:
            _, first, source_of = np.unique(keys, axis=0, return_index=True, return_inverse=True)
            sources = [self._source(_key(names[i])) for i in first.tolist()]
            source_of = source_of.reshape(-1)
        truncated = (self._flags[:n, 0] & MSG_TRUNC) != 0
        return Burst(self._rows[:n], self._lengths[:n, 0].copy(), sources, source_of,
                     truncated if truncated.any() else None)


def _key(name) -> bytes:
    """The family and address of a sockaddr row, as `_address` takes them."""
    raw = name.tobytes()
    return raw[0:2] + raw[4:24]


def _address(raw: bytes) -> str:
    """family (2 bytes, host order) + the sockaddr after the port."""
    family = int.from_bytes(raw[0:2], sys.byteorder)
    if family == socket.AF_INET6:
        return socket.inet_ntop(socket.AF_INET6, raw[6:22])  # after the 4-byte flow info
    return socket.inet_ntop(socket.AF_INET, raw[2:6])


def make_receiver(sock: socket.socket):
    """An MmsgReceiver, or None where recvmmsg cannot be used."""
    try:
        return MmsgReceiver(sock)
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        return None
