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
    """Per-rule packet/byte counters of the forward chain: ``[{comment, packets, bytes}]``."""
    import json

    out = _run(["ip", "netns", "exec", netns, "nft", "-j", "list", "table", "bridge", table])
    result = []
    for item in json.loads(out).get("nftables", []):
        rule = item.get("rule")
        if not rule:
            continue
        c = next((e["counter"] for e in rule.get("expr", []) if "counter" in e), None)
        if c is not None:
            result.append(
                {"comment": rule.get("comment", ""), "packets": c["packets"], "bytes": c["bytes"]}
            )
    return result
