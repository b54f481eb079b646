"""Shared helpers of the tests/test_p4rt_*.py files (P4Info paths, plan-like values)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from wphw.entries import Action, Exact, TableEntry

ROOT = Path(__file__).resolve().parent.parent
TEST_P4INFO = ROOT / "tests" / "data" / "wphw_test.p4info.txtpb"
REAL_P4INFO = ROOT / "p4" / "build" / "wphw.p4info.txtpb"
REAL_BMV2_JSON = ROOT / "p4" / "build" / "wphw.json"
EXAMPLES = ("table1", "figure3", "figure4", "fattree")


def p4infos() -> list[Path]:
    """The hand-made P4Info, and the compiled one when the P4 build has produced it."""
    return [TEST_P4INFO] + ([REAL_P4INFO] if REAL_P4INFO.exists() else [])


@dataclass(frozen=True)
class Sw:
    name: str
    address: str
    device_id: int = 1


@dataclass(frozen=True)
class FakePlan:
    entries: Mapping[str, Sequence[TableEntry]] = field(default_factory=dict)


def sff(spi: int, si: int, port: int) -> TableEntry:
    return TableEntry.of(
        "wp_sff",
        {"spi": Exact(value=spi), "si": Exact(value=si)},
        Action.of("sff_forward", port=port, si=si),
    )


def sff_entries(n: int, spi0: int = 1) -> list[TableEntry]:
    return [sff(spi0 + i // 4, 255 - i % 4, 1 + i % 8) for i in range(n)]


# -- BMv2 (simple_switch_grpc) -----------------------------------------------------------------

BMV2_HELP = (
    "simple_switch_grpc not found: set WPHW_BMV2=/path/to/simple_switch_grpc or put it on PATH"
    " (it is in no package registry: build BMv2 with PI from source; on the project machines"
    " `source /opt/p4/env.sh` once /opt/p4 is built)"
)


def bmv2_env() -> tuple[str, dict[str, str]] | None:
    """(path of simple_switch_grpc, environment to run it in), or None when missing."""
    import os
    import shutil
    import subprocess

    env = dict(os.environ)
    exe = os.environ.get("WPHW_BMV2") or shutil.which("simple_switch_grpc")
    env_sh = Path("/opt/p4/env.sh")
    if env_sh.exists():
        out = subprocess.run(
            ["bash", "-c", f"source {env_sh} >/dev/null 2>&1 && env -0"],
            capture_output=True,
            check=False,
        ).stdout
        for item in out.split(b"\0"):
            if b"=" in item:
                k, v = item.decode(errors="replace").split("=", 1)
                env[k] = v
        exe = exe or shutil.which("simple_switch_grpc", path=env.get("PATH"))
    if not exe or not Path(exe).exists():
        return None
    return exe, env


class Bmv2:
    """One simple_switch_grpc on loopback with no program; stopped by its own PID."""

    def __init__(self, exe: str, env: dict[str, str], device_id: int = 1) -> None:
        import socket
        import subprocess
        import tempfile

        def port() -> int:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                return int(s.getsockname()[1])

        self.grpc_port, self.thrift_port = port(), port()
        self.address = f"127.0.0.1:{self.grpc_port}"
        self.device_id = device_id
        self.log = tempfile.NamedTemporaryFile(prefix="bmv2-", suffix=".log", delete=False)  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                exe,
                "--no-p4",
                "--device-id",
                str(device_id),
                "--thrift-port",
                str(self.thrift_port),
                "--log-level",
                "error",
                "--",
                "--grpc-server-addr",
                self.address,
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        self._wait()

    def _wait(self) -> None:
        import socket
        import time

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"simple_switch_grpc exited ({self.proc.returncode}); log {self.log.name}"
                )
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.grpc_port)) == 0:
                    return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"simple_switch_grpc did not listen on {self.address}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except Exception:
                self.proc.kill()
                self.proc.wait(5)
