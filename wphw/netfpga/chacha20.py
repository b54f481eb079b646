"""Driver of the ``wp_chacha20`` encrypt/decrypt PE (register block ``wp_chacha20``).

Frame format: ``docs/encrypt_format.md``; reference model: :mod:`wphw.services.esp`. The key is
write-only; the nonce of an encrypted frame is ``KEY_ID || SEQ`` and the PE increments SEQ per
encrypted frame, so a (key, key id, sequence) triple must never be loaded twice — give every new
key a fresh key id or continue the sequence from :meth:`ChaCha20Driver.seq`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from wphw.errors import RegisterError
from wphw.netfpga import regmap
from wphw.netfpga.drivers import BlockDriver, _check_range, _fields

log = logging.getLogger(__name__)

KEY_LEN = 32
KEY_WORDS = 8


@dataclass(frozen=True, slots=True, kw_only=True)
class ChaCha20Counters:
    done_pkts: int
    bypass_pkts: int
    reject_pkts: int


class ChaCha20Driver(BlockDriver):
    """Typed access to one ``wp_chacha20`` instance."""

    BLOCK = regmap.WP_CHACHA20

    async def set_key(self, key: bytes, *, key_id: int, seq: int = 0) -> None:
        """Load a 256-bit key, its key id and the sequence number of the next encrypted frame.

        The PE keeps its ENABLE/DECRYPT setting; disable it first (``configure``) if frames
        must not see a half-written key.
        """
        if not isinstance(key, bytes | bytearray) or len(key) != KEY_LEN:
            got = len(key) if isinstance(key, bytes | bytearray) else type(key).__name__
            raise RegisterError(f"{self.name}.KEY: key must be {KEY_LEN} bytes, got {got}")
        _check_range(f"{self.name}.KEY_ID", key_id, 0, 0xFFFFFFFF)
        _check_range(f"{self.name}.SEQ", seq, 0, (1 << 64) - 1)
        for i in range(KEY_WORDS):
            await self.write("KEY", int.from_bytes(key[4 * i : 4 * i + 4], "little"), i)
        await self.write("KEY_ID", key_id)
        await self.write("SEQ", seq)
        log.info("%s: key id %#x loaded, next sequence number %d", self.name, key_id, seq)

    async def configure(self, *, enable: bool, decrypt: bool, dec_si: bool = True) -> None:
        """Set ENABLE, the mode (encrypt or decrypt) and whether NSH SI is decremented."""
        for name, value in (("enable", enable), ("decrypt", decrypt), ("dec_si", dec_si)):
            if not isinstance(value, bool):
                raise RegisterError(f"{self.name}.CONFIG.{name.upper()}: {value!r} not a bool")
        word = _fields(
            self.block, "CONFIG", ENABLE=int(enable), DECRYPT=int(decrypt), DEC_SI=int(dec_si)
        )
        await self.write("CONFIG", word)
        log.info(
            "%s: %s, %s, DEC_SI %d",
            self.name,
            "enabled" if enable else "disabled",
            "decrypt" if decrypt else "encrypt",
            dec_si,
        )

    async def seq(self) -> int:
        """Sequence number the next encrypted frame will carry."""
        return await self.read("SEQ")

    async def key_id(self) -> int:
        return await self.read("KEY_ID")

    async def counters(self) -> ChaCha20Counters:
        return ChaCha20Counters(
            done_pkts=await self.read("DONE_PKTS"),
            bypass_pkts=await self.read("BYPASS_PKTS"),
            reject_pkts=await self.read("REJECT_PKTS"),
        )
