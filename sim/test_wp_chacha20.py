"""cocotb tests of hdl/wp_chacha20.v (encrypt/decrypt PE) against wphw.services.esp.

Expected frames come from the reference model :mod:`wphw.services.esp` (the ``cryptography``
package's ChaCha20) plus the shared SI rule (:func:`common.dec_si`); never from the RTL.
Registers are set through :class:`wphw.netfpga.chacha20.ChaCha20Driver`.

Throughput/latency: ``test_rate`` asserts one beat per cycle on the busier side for
back-to-back frames and logs ``RATE {json}`` lines (:func:`common.save_rate_rows`; appended to
``$WPHW_RATE_FILE`` when set).
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from typing import Any

import cocotb
import pytest

from wphw.services import esp

try:  # the cocotb side imports common as a top-level module (PYTHONPATH = repo, sim)
    import common
except ImportError:  # pytest side
    from sim import common

KEY = bytes(range(0x80, 0xA0))
KEY_ID = 0x0A0B0C0D


# --- reference model of the PE --------------------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class PeModel:
    """What wp_chacha20 does with each frame (encrypt or decrypt mode)."""

    decrypt: bool
    key: bytes = KEY
    key_id: int = KEY_ID
    seq: int = 0
    dec_si: bool = True
    done: int = 0
    bypass: int = 0
    reject: int = 0

    def __call__(self, frame: bytes, pkt_len: int) -> tuple[bytes, int]:
        """(output frame, output tuser pkt_len)."""
        if self.decrypt:
            res = esp.decrypt_frame(frame, key=self.key, key_id=self.key_id)
        else:
            res = esp.encrypt_frame(frame, key=self.key, key_id=self.key_id, seq=self.seq)
        out = res.frame
        if res.status is esp.Status.DONE:
            self.done += 1
            if not self.decrypt:
                self.seq += 1
            pkt_len += -esp.HEADER_LEN if self.decrypt else esp.HEADER_LEN
        elif res.status is esp.Status.REJECT:
            self.reject += 1
        else:
            self.bypass += 1
        if self.dec_si:
            out = common.dec_si(out)
        return out, pkt_len & 0xFFFF


def frames_mix(rng: random.Random, n: int, *, malformed: bool) -> list[bytes]:
    """Plain and NSH IPv4 frames of 60..1600 bytes (UDP/TCP/ICMP, padded, fragments), and
    (``malformed``) runts, truncated headers, bad NSH and non-IP frames among them."""
    out = []
    for _ in range(n):
        kind = rng.choice(["plain", "nsh", "nsh", "pad"])
        if malformed and rng.random() < 0.3:
            kind = rng.choice(["runt", "trunc", "bad_nsh", "nonip", "lenbig", "md1", "options"])
        proto = rng.choice(["udp", "tcp", "icmp"])
        size = rng.choice([0, 1, 2, 17, 30, 31, 32, 33, 63, 64, 65, rng.randint(0, 1500)])
        payload = bytes(rng.getrandbits(8) for _ in range(size))
        nsh = None if kind == "plain" else (rng.randint(1, 1000), rng.randint(1, 255))
        f = common.ipv4_frame(proto=proto, payload=payload, nsh=nsh, frag=rng.choice([0, 0, 7]))
        if kind == "pad":
            f = common.pad_to(f, rng.choice([60, 64, 100, 200]))
        elif kind == "runt":
            f = f[: rng.randint(1, 40)]
        elif kind == "trunc":
            f = f[: rng.randint(14, min(len(f), 70))]
        elif kind == "bad_nsh":
            b = bytearray(f)
            b[rng.choice([14, 16, 17])] ^= 0x41
            f = bytes(b)
        elif kind == "nonip":
            f = bytes.fromhex("0200000000020200000000010806") + payload + bytes(30)
        elif kind == "lenbig":  # IPv4 total length beyond the frame
            b = bytearray(f)
            b[16:18] = (len(f) + rng.randint(1, 300)).to_bytes(2, "big")
            f = bytes(b)
        elif kind == "md1":
            f = common.ipv4_frame(proto=proto, payload=payload, nsh=(5, 9), mdtype=1)
        elif kind == "options":
            f = common.ipv4_frame(proto=proto, payload=payload, ihl_options=b"\x01\x01\x01\x00")
        out.append(f)
    return out


# --- cocotb side ----------------------------------------------------------------------------------


async def setup(dut: Any, *, decrypt: bool, p_idle: float, p_bp: float, seed: int = 1) -> Any:
    from wphw.netfpga.chacha20 import ChaCha20Driver

    tb = common.TB(dut, seed=seed)
    tb.set_traffic(p_idle, p_bp)
    await tb.reset()
    drv = await ChaCha20Driver.attach(tb.bus, base=0)
    await drv.set_key(KEY, key_id=KEY_ID, seq=0)
    await drv.configure(enable=True, decrypt=decrypt, dec_si=True)
    return tb, drv


# 20,000 cycles of the 5 ns clock (a 9,000-byte frame under back-pressure needs a few thousand)
FRAME_TIMEOUT_US = 100


async def run_frames(tb: Any, model: PeModel, frames: list[bytes]) -> None:
    """Send every frame, check every output frame against ``model``; a frame that does not
    come out within FRAME_TIMEOUT_US of simulated time fails the test (a PE that loses a
    keystream block waits for it for ever)."""
    import cocotb
    from cocotb.triggers import with_timeout

    expected = [model(f, len(f)) for f in frames]

    async def sender() -> None:
        for f in frames:
            await tb.send(f)

    task = cocotb.start_soon(sender())
    for i, (exp, exp_len) in enumerate(expected):
        got, user = await with_timeout(tb.recv(), FRAME_TIMEOUT_US, "us")
        assert got == exp, f"frame {i}: in {frames[i].hex()}\n got {got.hex()}\n exp {exp.hex()}"
        assert user & 0xFFFF == exp_len, f"frame {i}: tuser pkt_len {user & 0xFFFF} != {exp_len}"
    await task
    await tb.source.wait()  # every queued frame has left the source
    await tb.cycles(10)
    assert tb.sink.empty(), "unexpected extra output frame"


@cocotb.test()
@cocotb.parametrize(traffic=[(0.0, 0.0), (0.3, 0.3)])
async def test_encrypt(dut: Any, traffic: tuple[float, float]) -> None:
    """Encrypt plain and NSH frames of many sizes; checksums valid; counters exact."""
    from scapy.layers.inet import IP

    tb, drv = await setup(dut, decrypt=False, p_idle=traffic[0], p_bp=traffic[1])
    rng = random.Random(11)
    frames = frames_mix(rng, 120, malformed=False)
    model = PeModel(decrypt=False)
    await run_frames(tb, model, frames)
    # independent check of the output IPv4 checksums (scapy recomputes them)
    for f in frames[:20]:
        enc = esp.encrypt(f, key=KEY, key_id=KEY_ID, seq=0)
        l3 = esp.ipv4_offset(enc)
        assert l3 is not None
        ip = IP(enc[l3 : l3 + 20])
        ref = IP(bytes(ip))
        del ref.chksum
        assert IP(bytes(ref)).chksum == ip.chksum
    cnt = await drv.counters()
    assert (cnt.done_pkts, cnt.bypass_pkts, cnt.reject_pkts) == (model.done, model.bypass, 0)
    assert await drv.seq() == model.seq


@cocotb.test()
@cocotb.parametrize(traffic=[(0.0, 0.0), (0.3, 0.3)])
async def test_decrypt(dut: Any, traffic: tuple[float, float]) -> None:
    """Decrypt frames the model encrypted (exact originals back), reject a foreign key id."""
    tb, drv = await setup(dut, decrypt=True, p_idle=traffic[0], p_bp=traffic[1])
    rng = random.Random(12)
    plain = frames_mix(rng, 100, malformed=False)
    frames = []
    for i, f in enumerate(plain):
        kid = KEY_ID if i % 10 else KEY_ID ^ 1  # every 10th: another key id -> reject
        frames.append(esp.encrypt_frame(f, key=KEY, key_id=kid, seq=rng.getrandbits(64)).frame)
    model = PeModel(decrypt=True)
    await run_frames(tb, model, frames)
    cnt = await drv.counters()
    assert (cnt.done_pkts, cnt.bypass_pkts, cnt.reject_pkts) == (
        model.done,
        model.bypass,
        model.reject,
    )
    assert model.reject == 10


@cocotb.test()
@cocotb.parametrize(decrypt=[False, True], traffic=[(0.0, 0.0), (0.3, 0.3)])
async def test_malformed(dut: Any, decrypt: bool, traffic: tuple[float, float]) -> None:
    """Runts, truncated headers, bad NSH, non-IP, lying total lengths among good frames."""
    tb, drv = await setup(dut, decrypt=decrypt, p_idle=traffic[0], p_bp=traffic[1])
    rng = random.Random(13 + decrypt)
    frames = frames_mix(rng, 150, malformed=True)
    if decrypt:
        frames = [
            esp.encrypt_frame(f, key=KEY, key_id=KEY_ID, seq=i).frame if rng.random() < 0.8 else f
            for i, f in enumerate(frames)
        ]
        # and some encrypted frames cut short after encryption
        frames += [f[: rng.randint(14, len(f))] for f in frames[:30]]
    model = PeModel(decrypt=decrypt)
    await run_frames(tb, model, frames)
    cnt = await drv.counters()
    assert (cnt.done_pkts, cnt.bypass_pkts, cnt.reject_pkts) == (
        model.done,
        model.bypass,
        model.reject,
    )


@cocotb.test()
async def test_disabled_and_registers(dut: Any) -> None:
    """Disabled PE passes frames (SI rule only); ID/VERSION; SEQ read-back; CLEAR."""
    from wphw.netfpga import regmap

    tb, drv = await setup(dut, decrypt=False, p_idle=0.0, p_bp=0.0)
    assert await tb.bus.read32(0) == regmap.WP_CHACHA20.id
    await drv.set_key(KEY, key_id=5, seq=(1 << 63) + 7)
    assert await drv.seq() == (1 << 63) + 7
    assert await drv.key_id() == 5
    assert await tb.bus.read32(regmap.WP_CHACHA20.reg("KEY").offset) == 0  # write-only
    await drv.configure(enable=False, decrypt=False, dec_si=False)
    frames = frames_mix(random.Random(3), 10, malformed=False)
    model = PeModel(decrypt=False, dec_si=False, key_id=5, seq=(1 << 63) + 7)
    for f in frames:
        await tb.send(f)
    for f in frames:
        got, _ = await tb.recv()
        assert got == f
    await drv.configure(enable=True, decrypt=False, dec_si=False)
    await run_frames(tb, model, frames)
    assert await drv.seq() == model.seq
    await drv.clear_counters()
    cnt = await drv.counters()
    assert (cnt.done_pkts, cnt.bypass_pkts, cnt.reject_pkts) == (0, 0, 0)


@cocotb.test()
async def test_byte_strobes(dut: Any) -> None:
    """AXI4-Lite byte writes (WSTRB) change only their byte lanes (KEY_ID, CONFIG)."""
    from wphw.netfpga import regmap

    tb, drv = await setup(dut, decrypt=False, p_idle=0.0, p_bp=0.0)
    addr = regmap.WP_CHACHA20.reg("KEY_ID").addr()
    value = bytearray((0x11223344).to_bytes(4, "little"))
    await tb.bus.write32(addr, 0x11223344)
    for off, data in ((0, b"\xa0"), (3, b"\xc3"), (1, b"\xd1\xe2")):
        await tb.axil.write(addr + off, data)
        value[off : off + len(data)] = data
        assert await drv.key_id() == int.from_bytes(value, "little"), (off, data.hex())
    # CONFIG: a write to byte 1 only leaves ENABLE / DECRYPT / DEC_SI (byte 0) as they were
    config = regmap.WP_CHACHA20.reg("CONFIG").addr()
    before = await tb.bus.read32(config)
    assert before & 0xFF != 0
    await tb.axil.write(config + 1, b"\x00")
    assert await tb.bus.read32(config) == before
    await drv.set_key(KEY, key_id=KEY_ID, seq=0)


# encrypt: plaintext frame sizes; decrypt: encrypted frame sizes. The decrypt list covers every
# length mod 32 in 17..31 (the last input beat holds 17..31 bytes, so the output tail spills into
# an extra beat) at 3 and 4 beats, a few large frames of those classes, and other residues.
RATE_SIZES_ENCRYPT = (60, 64, 65, 128, 129, 256, 1024, 1514, 9000)
RATE_SIZES_DECRYPT = (
    *range(81, 96),  # 81..95: residues 17..31, 3 beats
    113,
    127,  # residues 17 and 31, 4 beats
    1041,
    1530,
    2047,
    9016,  # residues 17, 26, 31, 24: large frames
    76,
    80,
    96,
    144,
    145,
    272,
)


def rate_frame(size: int, decrypt: bool) -> bytes:
    """An NSH/IPv4/UDP frame of ``size`` bytes (for decrypt: the encrypted frame is ``size``
    bytes, made by the reference model from a ``size`` - 16 byte frame)."""
    plain_size = size - esp.HEADER_LEN if decrypt else size
    b = bytearray(common.pad_to(common.ipv4_frame(nsh=(1, 255)), plain_size))
    b[24:26] = (plain_size - 22).to_bytes(2, "big")  # IPv4 total length covers the frame
    ip_csum_fix(b, 22)
    frame = bytes(b)
    if decrypt:
        frame = esp.encrypt(frame, key=KEY, key_id=KEY_ID, seq=size)
        assert len(frame) == size
    return frame


@cocotb.test()
async def test_rate(dut: Any) -> None:
    """Back-to-back frames at one beat per cycle on the busier side, exact output; latency.

    The busier side is the output when encrypting (frames grow by 16 bytes) and the input when
    decrypting (frames shrink). Expected beat counts come from the frame lengths (one beat per
    32 bytes, rounded up) and line rate means no idle cycle at all on that side in the steady
    state, for every frame length (decrypt used to lose a cycle per frame when the length mod 32
    was 17..31), and, when decrypting, no backlog building up behind the input.
    """
    tb, drv = await setup(dut, decrypt=False, p_idle=0.0, p_bp=0.0)
    hs = common.Handshakes(dut)
    results = []
    for decrypt in (False, True):
        await drv.configure(enable=True, decrypt=decrypt)
        model = PeModel(decrypt=decrypt)
        for size in RATE_SIZES_DECRYPT if decrypt else RATE_SIZES_ENCRYPT:
            frame = rate_frame(size, decrypt)
            expected, _ = model(frame, len(frame))
            n = max(4, 6000 // size)
            row = await common.measure_rate(
                tb,
                hs,
                frame,
                frames=n,
                # encrypt: SEQ advances per frame, so only the first output is one known frame
                expected=expected if decrypt else None,
                settle=40,
                module="wp_chacha20",
                mode="decrypt" if decrypt else "encrypt",
            )
            results.append(row)
            # exact beat counts from the lengths (encrypted frames are 16 bytes longer)
            out_len = len(expected)
            assert out_len == len(frame) + (-16 if decrypt else 16)
            assert row["in_beats"] == n * common.beats(len(frame)), row
            assert row["out_beats"] == n * common.beats(out_len), row
    hs.task.cancel()
    common.save_rate_rows(results)
    for row in results:
        busy = "in" if row["mode"] == "decrypt" else "out"
        assert row[f"{busy}_idle_cycles"] == 0, f"below line rate: {row}"
        assert row[f"{busy}_beats_per_cycle"] == 1.0, f"below line rate: {row}"
        if row["mode"] == "decrypt":
            # the data FIFO hides a slow egress from the input for a few large frames: the
            # run's last beat must also leave no later than a lone frame's last beat does, give
            # or take the one cycle a frame's first keystream block may wait for its slot (the
            # core takes a block on alternate cycles, so the wait is 0 or 1 by the cycle the
            # request comes, alone or in the run; a backlog grows with the frames instead)
            assert row["backlog_latency_last_beat"] <= row["latency_last_beat"] + 1, (
                f"egress below line rate (backlog): {row}"
            )


def ip_csum_fix(b: bytearray, l3: int) -> None:
    """Recompute the IPv4 header checksum in place (test frame builder)."""
    b[l3 + 10 : l3 + 12] = b"\0\0"
    s = sum(int.from_bytes(b[l3 + i : l3 + i + 2], "big") for i in range(0, 20, 2))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    b[l3 + 10 : l3 + 12] = (~s & 0xFFFF).to_bytes(2, "big")


# --- pytest side ----------------------------------------------------------------------------------


def test_model_roundtrip_and_rfc8439_vector() -> None:
    """The reference model itself: RFC 8439 §2.4.2 keystream, exact round trip, checksums."""
    ks = esp.keystream(bytes(range(32)), bytes.fromhex("000000000000004a00000000"), 16)
    assert ks.hex() == "224f51f3401bd9e12fde276fb8631ded"
    rng = random.Random(5)
    for f in frames_mix(rng, 200, malformed=True):
        res = esp.encrypt_frame(f, key=KEY, key_id=1, seq=rng.getrandbits(64))
        back = esp.decrypt_frame(res.frame, key=KEY, key_id=1)
        assert back.frame == f
        assert (res.status is esp.Status.DONE) == (back.status is esp.Status.DONE)
        if res.status is esp.Status.DONE:
            assert len(res.frame) == len(f) + esp.HEADER_LEN
            assert res.frame[len(f) - 4 :] != f[len(f) - 4 :] or len(f) < 40
    with pytest.raises(esp.EspError):
        esp.encrypt(b"\x00" * 10, key=KEY, key_id=1, seq=0)


def _sources() -> tuple[list[Any], list[Any]]:
    sources, incdirs = common.read_filelist()
    mine = [s for s in sources if s.name.startswith("wp_chacha20")]
    assert mine, "hdl/wphw.f lists no wp_chacha20 sources"
    # the whole list: the PE instantiates shared modules (wp_nsh_dec, wp_ipv4_dec); the
    # simulator elaborates only what wp_chacha20 uses
    return sources, incdirs


@pytest.mark.parametrize(
    "params",
    [
        {"DEC_SI": 1, "FIFO_DEPTH": 128, "KS_DEPTH": 64},
        {"DEC_SI": 0, "FIFO_DEPTH": 32, "KS_DEPTH": 8},
    ],
    ids=["default", "small_fifos"],
)
def test_wp_chacha20(params: dict[str, int]) -> None:
    run(params, testcase=None if params["FIFO_DEPTH"] == 128 else "test_malformed")


def run(params: dict[str, int], testcase: str | None = None) -> None:
    import shutil

    from cocotb_tools.runner import get_results, get_runner

    sim = os.environ.get("SIM", "icarus")
    reason = common.simulator_available(sim)
    if reason:
        pytest.skip(reason)
    assert shutil.which("iverilog") or sim != "icarus"
    sources, incdirs = _sources()
    name = "_".join(f"{k}{v}" for k, v in sorted(params.items()))
    build_dir = common.REPO / "sim" / "sim_build" / f"wp_chacha20_{sim}_{name}"
    runner = get_runner(sim)
    runner.build(
        sources=sources,
        includes=incdirs,
        hdl_toplevel="wp_chacha20",
        parameters=params,
        build_dir=build_dir,
        build_args=["-Wno-fatal"] if sim == "verilator" else [],
        timescale=("1ns", "1ps"),
        always=True,
    )
    results = runner.test(
        test_module="sim.test_wp_chacha20",
        hdl_toplevel="wp_chacha20",
        test_filter=testcase,
        parameters=params,
        build_dir=build_dir,
        test_dir=build_dir,
        extra_env={"PYTHONPATH": f"{common.REPO}{os.pathsep}{common.REPO / 'sim'}"},
    )
    _total, failed = get_results(results)
    assert failed == 0, f"{failed} cocotb test(s) failed (wp_chacha20 {params})"
