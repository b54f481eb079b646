"""The wphw encrypted packet format ("WP-ESP"): ChaCha20 (RFC 8439) over the IPv4 payload.

Pure functions over Ethernet frames given as ``bytes``; the format is described in
``docs/encrypt_format.md``. The hardware PE ``hdl/wp_chacha20.v`` implements exactly these
functions, and its testbench uses them as the reference model.

Encryption inserts a 16-byte header right after the (option-less) IPv4 header::

    0      4                 12     13        14        16
    +------+-----------------+------+---------+---------+
    |KEY_ID| SEQ (64 bit)    | NEXT | VERSION | RESERVED|
    +------+-----------------+------+---------+---------+

(all big-endian), sets the IPv4 protocol to :data:`WP_ESP_PROTO`, adds 16 to the IPv4 total
length, updates the IPv4 header checksum incrementally (RFC 1624, eqn. 3) and encrypts every
byte of the original IPv4 payload (L4 header included) with the ChaCha20 keystream of
``key``, nonce ``KEY_ID || SEQ`` (12 bytes, the header's first 12 bytes) and initial block
counter :data:`INITIAL_BLOCK_COUNTER`. Bytes after the IPv4 datagram (Ethernet padding) stay as
they are. Decryption undoes each step, so ``decrypt(encrypt(f)) == f`` byte for byte.
"""

from __future__ import annotations

import enum
import logging
import struct
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

from wphw.errors import WphwError
from wphw.services.ipv4 import checksum_update

log = logging.getLogger(__name__)

WP_ESP_PROTO = 253
"""IPv4 protocol number of an encrypted packet (RFC 3692 experimental value)."""
HEADER_LEN = 16
"""Bytes the encryption header adds."""
FORMAT_VERSION = 1
"""Value of the header's VERSION byte."""
INITIAL_BLOCK_COUNTER = 1
"""ChaCha20 block counter of the first payload byte (block 0 is left for a future Poly1305 key)."""
KEY_LEN = 32
SEQ_MAX = (1 << 64) - 1
KEY_ID_MAX = (1 << 32) - 1

ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_NSH = 0x894F
ETH_LEN = 14
NSH_LEN = 8
IPV4_LEN = 20
IPV4_MAX_TOTAL_LEN = 0xFFFF


class EspError(WphwError):
    """A frame cannot be encrypted or decrypted (names the reason)."""


class Status(enum.Enum):
    """What the PE did with a frame."""

    DONE = "done"
    """encrypted or decrypted"""
    BYPASS = "bypass"
    """not an (NSH+)IPv4 frame the PE processes (or, decrypting, not an encrypted one): unchanged"""
    REJECT = "reject"
    """decrypting: an encrypted frame with another key id or format version: unchanged"""


@dataclass(frozen=True, slots=True, kw_only=True)
class Header:
    """The 16-byte encryption header."""

    key_id: int
    seq: int
    next_proto: int
    version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        for name, value, top in (
            ("key_id", self.key_id, KEY_ID_MAX),
            ("seq", self.seq, SEQ_MAX),
            ("next_proto", self.next_proto, 0xFF),
            ("version", self.version, 0xFF),
        ):
            if not 0 <= value <= top:
                raise EspError(f"header field {name}={value} not in 0..{top}")

    def pack(self) -> bytes:
        return struct.pack("!IQBBH", self.key_id, self.seq, self.next_proto, self.version, 0)

    @property
    def nonce(self) -> bytes:
        """The 96-bit ChaCha20 nonce: KEY_ID || SEQ."""
        return self.pack()[:12]

    @classmethod
    def unpack(cls, data: bytes) -> Header:
        if len(data) < HEADER_LEN:
            raise EspError(f"encryption header needs {HEADER_LEN} bytes, got {len(data)}")
        key_id, seq, next_proto, version, _ = struct.unpack("!IQBBH", data[:HEADER_LEN])
        return cls(key_id=key_id, seq=seq, next_proto=next_proto, version=version)


@dataclass(frozen=True, slots=True, kw_only=True)
class Result:
    """A frame out of :func:`encrypt_frame` / :func:`decrypt_frame` and what was done to it."""

    frame: bytes
    status: Status
    reason: str = ""


def keystream(key: bytes, nonce: bytes, length: int, counter: int = INITIAL_BLOCK_COUNTER) -> bytes:
    """``length`` bytes of the ChaCha20 keystream (RFC 8439) for ``key`` and the 12-byte nonce."""
    if len(key) != KEY_LEN:
        raise EspError(f"key must be {KEY_LEN} bytes, got {len(key)}")
    if len(nonce) != 12:
        raise EspError(f"nonce must be 12 bytes, got {len(nonce)}")
    full_nonce = struct.pack("<I", counter) + nonce
    enc = Cipher(algorithms.ChaCha20(key, full_nonce), mode=None).encryptor()
    return enc.update(bytes(length))


def _xor(data: bytes, ks: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(data, ks, strict=True))


def ipv4_offset(frame: bytes) -> int | None:
    """Offset of the IPv4 header the PE works on: after Ethernet, or after Ethernet + NSH
    (version 0, length 2, MD type 2, next protocol IPv4); ``None`` for anything else."""
    if len(frame) < ETH_LEN:
        return None
    ethertype = int.from_bytes(frame[12:14], "big")
    if ethertype == ETHERTYPE_IPV4:
        return ETH_LEN
    if ethertype != ETHERTYPE_NSH or len(frame) < ETH_LEN + NSH_LEN:
        return None
    ver = frame[14] >> 6
    length = frame[15] & 0x3F
    md_type = frame[16] & 0x0F
    next_proto = frame[17]
    if ver != 0 or length != 2 or md_type != 2 or next_proto != 1:
        return None
    return ETH_LEN + NSH_LEN


def _ipv4_ok(frame: bytes, l3: int | None, min_len: int) -> str:
    if l3 is None:
        return "not Ethernet/IPv4 or Ethernet/NSH(MD2, len 2)/IPv4"
    if len(frame) < l3 + min_len:
        return f"frame of {len(frame)} bytes too short"
    if frame[l3] != 0x45:
        return f"IPv4 version/IHL byte {frame[l3]:#04x} is not 0x45"
    return ""


def encrypt_frame(frame: bytes, *, key: bytes, key_id: int, seq: int) -> Result:
    """Encrypt the IPv4 payload of ``frame`` with sequence number ``seq`` (see module doc).

    Frames the PE does not process come back unchanged with :attr:`Status.BYPASS`.
    """
    l3 = ipv4_offset(frame)
    reason = _ipv4_ok(frame, l3, IPV4_LEN)
    if reason:
        return Result(frame=frame, status=Status.BYPASS, reason=reason)
    assert l3 is not None
    total_len = int.from_bytes(frame[l3 + 2 : l3 + 4], "big")
    if not IPV4_LEN <= total_len <= IPV4_MAX_TOTAL_LEN - HEADER_LEN:
        return Result(frame=frame, status=Status.BYPASS, reason=f"IPv4 total length {total_len}")
    proto = frame[l3 + 9]
    hdr = Header(key_id=key_id, seq=seq, next_proto=proto)
    start = l3 + IPV4_LEN
    end = min(len(frame), l3 + total_len)
    ciphertext = _xor(frame[start:end], keystream(key, hdr.nonce, end - start))
    ip = bytearray(frame[l3:start])
    _rewrite_ipv4(ip, total_len + HEADER_LEN, WP_ESP_PROTO)
    out = frame[:l3] + bytes(ip) + hdr.pack() + ciphertext + frame[end:]
    return Result(frame=out, status=Status.DONE)


def decrypt_frame(frame: bytes, *, key: bytes, key_id: int) -> Result:
    """Decrypt a frame made by :func:`encrypt_frame`; restores the original bytes exactly.

    Frames that are not encrypted come back unchanged with :attr:`Status.BYPASS`; encrypted
    frames with another key id or format version with :attr:`Status.REJECT`.
    """
    l3 = ipv4_offset(frame)
    reason = _ipv4_ok(frame, l3, IPV4_LEN + HEADER_LEN)
    if reason:
        return Result(frame=frame, status=Status.BYPASS, reason=reason)
    assert l3 is not None
    total_len = int.from_bytes(frame[l3 + 2 : l3 + 4], "big")
    if frame[l3 + 9] != WP_ESP_PROTO or total_len < IPV4_LEN + HEADER_LEN:
        return Result(frame=frame, status=Status.BYPASS, reason="not an encrypted IPv4 packet")
    start = l3 + IPV4_LEN
    hdr = Header.unpack(frame[start : start + HEADER_LEN])
    if hdr.key_id != key_id or hdr.version != FORMAT_VERSION:
        return Result(
            frame=frame,
            status=Status.REJECT,
            reason=f"key id {hdr.key_id:#x} version {hdr.version} (want {key_id:#x} version "
            f"{FORMAT_VERSION})",
        )
    cstart = start + HEADER_LEN
    end = min(len(frame), l3 + total_len)
    plaintext = _xor(frame[cstart:end], keystream(key, hdr.nonce, end - cstart))
    ip = bytearray(frame[l3:start])
    _rewrite_ipv4(ip, total_len - HEADER_LEN, hdr.next_proto)
    out = frame[:l3] + bytes(ip) + plaintext + frame[end:]
    return Result(frame=out, status=Status.DONE)


def _rewrite_ipv4(ip: bytearray, total_len: int, proto: int) -> None:
    old = [int.from_bytes(ip[2:4], "big"), int.from_bytes(ip[8:10], "big")]
    ip[2:4] = total_len.to_bytes(2, "big")
    ip[9] = proto
    new = [int.from_bytes(ip[2:4], "big"), int.from_bytes(ip[8:10], "big")]
    csum = checksum_update(int.from_bytes(ip[10:12], "big"), old, new)
    ip[10:12] = csum.to_bytes(2, "big")


def encrypt(frame: bytes, *, key: bytes, key_id: int, seq: int) -> bytes:
    """Encrypt ``frame``; raises :class:`EspError` when it is not a frame the PE processes."""
    res = encrypt_frame(frame, key=key, key_id=key_id, seq=seq)
    if res.status is not Status.DONE:
        raise EspError(f"cannot encrypt frame: {res.reason}")
    return res.frame


def decrypt(frame: bytes, *, key: bytes, key_id: int) -> bytes:
    """Decrypt ``frame``; raises :class:`EspError` when it is not a frame encrypted for us."""
    res = decrypt_frame(frame, key=key, key_id=key_id)
    if res.status is not Status.DONE:
        raise EspError(f"cannot decrypt frame: {res.reason}")
    return res.frame
