"""An unmodified legacy middlebox for the switch's SFC proxy leg: Linux nftables as a
transparent (bump-in-the-wire) firewall.

The switch strips NSH and sends the packet to the legacy PE port with an 802.1Q tag; it expects
the packet back on the same port with the same tag. In the middlebox's network namespace the
PE-side interface is the only port of a Linux bridge in *hairpin* mode, so every frame that the
bridge forwards leaves through the port it came in on, tag unchanged; the nftables ``bridge``
family ``forward`` hook sees each frame on the way (the kernel has already moved the VLAN tag
into packet metadata, so ``ip saddr`` & co. match) and drops what the rule set says.
Nothing in the kernel or in nftables is modified or aware of NSH or of wphw.

:func:`fw_ruleset` turns the software/in-switch ``fw`` parameters (``rules`` and ``default``)
into an nftables script, so one policy drives all three kinds of firewall PE.
:func:`attach_commands` lists the ``ip``/``bridge``/``nft`` commands; :func:`attach` runs them.
Needs the Debian package ``nftables`` (the ``nft`` command).
"""

from __future__ import annotations

import ipaddress
import logging
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from typing import Any

from wphw.errors import PEError
from wphw.pe.control import ControlServer
from wphw.services import FwParams, parse_as

log = logging.getLogger(__name__)

TABLE = "wphw_legacy"
BRIDGE = "br-wphw"
_L4 = {6: "tcp", 17: "udp", 132: "sctp"}


def _prefix(net: ipaddress.IPv4Network) -> str:
    return str(net.network_address) if net.prefixlen == 32 else str(net)


def _range(r: tuple[int, int]) -> str:
    return str(r[0]) if r[0] == r[1] else f"{r[0]}-{r[1]}"


def fw_ruleset(params: Mapping[str, Any], *, table: str = TABLE, name: str = "nft") -> str:
    """An ``nft -f`` script: a bridge-family table whose forward chain implements the fw
    ``rules`` (first match wins, each with a counter) and ``default``; ``flush`` first so it can
    be re-applied."""
    fw = parse_as(FwParams, "fw", params, f"legacy PE {name} (fw)")
    lines = [
        f"table bridge {table}",
        f"delete table bridge {table}",
        f"table bridge {table} {{",
        "  chain forward {",
        "    type filter hook forward priority 0; policy accept;",
    ]
    for rule, match in zip(fw.rules, fw.matches, strict=True):
        parts = ["meta protocol ip"]
        if rule.src.prefixlen:
            parts.append(f"ip saddr {_prefix(rule.src)}")
        if rule.dst.prefixlen:
            parts.append(f"ip daddr {_prefix(rule.dst)}")
        l4 = _L4.get(rule.proto) if rule.proto is not None else None
        ports = rule.sport != (0, 0xFFFF) or rule.dport != (0, 0xFFFF)
        if rule.proto is not None and not (l4 and ports):
            parts.append(f"ip protocol {rule.proto}")
        if l4 and rule.sport != (0, 0xFFFF):
            parts.append(f"{l4} sport {_range(rule.sport)}")
        if l4 and rule.dport != (0, 0xFFFF):
            parts.append(f"{l4} dport {_range(rule.dport)}")
        parts.append("counter")
        parts.append("accept" if rule.permit else "drop")
        verdict = "permit" if rule.permit else "deny"
        lines.append("    " + " ".join(parts) + f'  comment "{match} -> {verdict}"')
    lines.append(f'    counter {"accept" if fw.default_permit else "drop"}  comment "default"')
    lines += ["  }", "}"]
    return "\n".join(lines) + "\n"


def attach_commands(netns: str, iface: str, *, bridge: str = BRIDGE) -> list[list[str]]:
    """Commands that make ``iface`` (already in ``netns``) a hairpin bridge port."""
    ns = ["ip", "netns", "exec", netns]
    return [
        [*ns, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1"],
        [
            *ns,
            "ip",
            "link",
            "add",
            bridge,
            "type",
            "bridge",
            "stp_state",
            "0",
            "forward_delay",
            "0",
        ],
        [*ns, "ip", "link", "set", iface, "master", bridge],
        [*ns, "bridge", "link", "set", "dev", iface, "hairpin", "on"],
        [*ns, "ip", "link", "set", iface, "up"],
        [*ns, "ip", "link", "set", bridge, "up"],
    ]


def _run(cmd: Sequence[str], stdin: str | None = None) -> str:
    res = subprocess.run(list(cmd), input=stdin, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise PEError(f"legacy PE: {' '.join(cmd)} failed: {res.stderr.strip()}")
    return res.stdout


def attach(
    netns: str,
    iface: str,
    params: Mapping[str, Any],
    *,
    bridge: str = BRIDGE,
    table: str = TABLE,
) -> str:
    """Make ``netns`` an nftables firewall on ``iface`` for fw ``params``; returns the rule
    set applied. Removing the namespace undoes everything."""
    if shutil.which("nft") is None:
        raise PEError("legacy PE: the nft command is missing (apt-get install nftables)")
    ruleset = fw_ruleset(params, table=table, name=f"{netns}/{iface}")
    for cmd in attach_commands(netns, iface, bridge=bridge):
        _run(cmd)
    apply_ruleset(netns, ruleset)
    log.info("legacy PE nft@%s: nftables bridge firewall on %s", netns, iface)
    return ruleset


def apply_ruleset(netns: str, ruleset: str) -> None:
    """Load an nft script in ``netns`` (atomically, as nft does)."""
    _run(["ip", "netns", "exec", netns, "nft", "-f", "-"], stdin=ruleset)


def counters(netns: str, *, table: str = TABLE) -> list[dict[str, Any]]:
    """Per-rule counters of the forward chain: ``[{comment, packets, bytes, verdict}]``."""
    import json

    out = _run(["ip", "netns", "exec", netns, "nft", "-j", "list", "table", "bridge", table])
    result = []
    for item in json.loads(out).get("nftables", []):
        rule = item.get("rule")
        if not rule:
            continue
        exprs = rule.get("expr", [])
        c = next((e["counter"] for e in exprs if "counter" in e), None)
        verdict = next((v for e in exprs for v in ("accept", "drop") if v in e), "")
        if c is not None:
            result.append(
                {
                    "comment": rule.get("comment", ""),
                    "packets": c["packets"],
                    "bytes": c["bytes"],
                    "verdict": verdict,
                }
            )
    return result


# -- health: the same /health and /counters the software PEs answer ---------------------------


def problems(netns: str, iface: str, *, bridge: str = BRIDGE, table: str = TABLE) -> list[str]:
    """What keeps the middlebox from doing its job, read from the kernel ([]: healthy): the
    namespace, ``iface`` up with a carrier and a hairpin port of ``bridge``, the bridge up, and
    the nftables table with its chain on the bridge ``forward`` hook. The box itself is not
    changed or asked: this is what the switch's proxy leg depends on."""
    import json

    res = subprocess.run(
        ["ip", "-n", netns, "-j", "-d", "link", "show"], capture_output=True, text=True, check=False
    )
    if res.returncode != 0:
        return [f"namespace {netns}: {res.stderr.strip() or 'ip link failed'}"]
    links = {link["ifname"]: link for link in json.loads(res.stdout or "[]")}
    out: list[str] = []
    port = links.get(iface)
    if port is None:
        out.append(f"interface {iface} is missing")
    else:
        flags = port.get("flags", [])
        if "UP" not in flags:
            out.append(f"interface {iface} is down")
        elif "LOWER_UP" not in flags:
            out.append(f"interface {iface} has no carrier")
        if port.get("master") != bridge:
            out.append(f"interface {iface} is not a port of {bridge}")
        else:
            info = port.get("linkinfo", {}).get("info_slave_data", {})
            if not info.get("hairpin"):
                out.append(f"interface {iface}: hairpin mode is off")
    br = links.get(bridge)
    if br is None:
        out.append(f"bridge {bridge} is missing")
    elif "UP" not in br.get("flags", []):
        out.append(f"bridge {bridge} is down")
    res = subprocess.run(
        ["ip", "netns", "exec", netns, "nft", "-j", "list", "table", "bridge", table],
        capture_output=True,
        text=True,
        check=False,
    )
    if res.returncode != 0:
        out.append(f"nftables table bridge {table} is missing")
    else:
        hooked = any(
            item.get("chain", {}).get("hook") == "forward"
            for item in json.loads(res.stdout).get("nftables", [])
        )
        if not hooked:
            out.append(f"nftables table bridge {table} has no chain on the forward hook")
    return out


class NftHealth:
    """The health endpoint of an nftables middlebox, beside it (it runs in the root namespace
    and looks into the middlebox's): ``GET /health`` answers like a software PE's (``ok``;
    HTTP 503 with ``problems`` when not), so the controller watches and fails over a legacy
    waypoint like any other; ``GET /counters`` gives the rule counters and ``rx``/``tx``/
    ``dropped`` from them (every frame the bridge forwards hits exactly one counted rule)."""

    def __init__(
        self, netns: str, iface: str, *, name: str = "nft", bridge: str = BRIDGE, table: str = TABLE
    ) -> None:
        self.netns, self.iface, self.name = netns, iface, name
        self.bridge, self.table = bridge, table
        self.started = 0.0
        self.control_address = ""
        self._server: ControlServer | None = None

    def health(self) -> dict[str, Any]:
        import os
        import time

        found = problems(self.netns, self.iface, bridge=self.bridge, table=self.table)
        return {
            "ok": not found,
            "service": "fw",
            "name": self.name,
            "iface": self.iface,
            "legacy": True,
            "middlebox": "nftables",
            "problems": found,
            "pid": os.getpid(),
            "uptime_s": round(time.time() - self.started, 3) if self.started else 0.0,
        }

    def counters(self) -> dict[str, Any]:
        rules = counters(self.netns, table=self.table)
        packets = sum(int(r["packets"]) for r in rules)
        dropped = sum(int(r["packets"]) for r in rules if r["verdict"] == "drop")
        return {"rx": packets, "tx": packets - dropped, "dropped": dropped, "rules": rules}

    def handle_get(self, path: str) -> tuple[int, Any]:
        if path == "/health":
            h = self.health()
            return (200 if h["ok"] else 503), h
        if path == "/counters":
            try:
                return 200, self.counters()
            except PEError as exc:
                return 503, {"error": str(exc)}
        return 404, {"error": f"unknown path {path} (/health /counters)"}

    def start(self, control: str) -> NftHealth:
        """Serve on ``control`` (``HOST:PORT`` or a unix socket path) in a thread."""
        import time

        self._server = ControlServer(
            control,
            lambda target: self.handle_get(target.split("?", 1)[0]),
            who=f"legacy PE {self.name}",
        )
        self.control_address = self._server.address
        self.started = time.time()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m wphw.pe.legacy_nft --netns NS --iface IF --control ADDR [--name N]``: serve
    the middlebox's health until SIGTERM."""
    import argparse
    import signal
    import threading

    ap = argparse.ArgumentParser(prog="python -m wphw.pe.legacy_nft", description=main.__doc__)
    ap.add_argument("--netns", required=True)
    ap.add_argument("--iface", required=True)
    ap.add_argument("--control", required=True, help="HOST:PORT or a unix socket path")
    ap.add_argument("--name", default="nft")
    ap.add_argument("--bridge", default=BRIDGE)
    ap.add_argument("--table", default=TABLE)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    h = NftHealth(args.netns, args.iface, name=args.name, bridge=args.bridge, table=args.table)
    h.start(args.control)
    log.info("legacy PE %s: health of nft@%s on %s", args.name, args.netns, h.control_address)
    stop.wait()
    h.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
