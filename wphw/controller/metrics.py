"""``/metrics`` in the Prometheus text exposition format (version 0.0.4).

Per-rule (``wp_classify``) and per-hop (``wp_sff``) packets and bytes are read from the
switches' direct counters at each scrape; PE health, applies, apply latency and reconcile
repairs come from the service.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from wphw.controller.service import Service, Token


def _esc(v: object) -> str:
    return str(v).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(**kv: object) -> str:
    return "{" + ",".join(f'{k}="{_esc(v)}"' for k, v in kv.items()) + "}"


def render(
    service: Service,
    read: Callable[[str, str], Any],
    token: Token,
    read_many: Callable[[Sequence[str], str], Mapping[str, Any]] | None = None,
) -> str:
    out: list[str] = []

    def family(name: str, kind: str, help_: str, rows: list[tuple[str, float]]) -> None:
        out.append(f"# HELP {name} {help_}")
        out.append(f"# TYPE {name} {kind}")
        for labels, value in rows:
            out.append(
                f"{name}{labels} {value:g}"
                if isinstance(value, float)
                else f"{name}{labels} {value}"
            )

    c = service.counters(token, read, read_many=read_many)
    family(
        "wphw_rule_packets_total",
        "counter",
        "packets matched by a classification entry (wp_classify)",
        [
            (_labels(switch=r["switch"], rule=r["rule"], priority=r["priority"]), r["packets"])
            for r in c["rules"]
        ],
    )
    family(
        "wphw_rule_bytes_total",
        "counter",
        "bytes matched by a classification entry (wp_classify)",
        [
            (_labels(switch=r["switch"], rule=r["rule"], priority=r["priority"]), r["bytes"])
            for r in c["rules"]
        ],
    )
    family(
        "wphw_hop_packets_total",
        "counter",
        "packets through a service-path hop (wp_sff)",
        [(_labels(switch=h["switch"], spi=h["spi"], si=h["si"]), h["packets"]) for h in c["hops"]],
    )
    family(
        "wphw_hop_bytes_total",
        "counter",
        "bytes through a service-path hop (wp_sff)",
        [(_labels(switch=h["switch"], spi=h["spi"], si=h["si"]), h["bytes"]) for h in c["hops"]],
    )
    family(
        "wphw_pe_up",
        "gauge",
        "1 while a PE is in service (its waypoint answers /health), else 0",
        [(_labels(pe=h["pe"], waypoint=h["waypoint"]), int(h["up"])) for h in service.health()],
    )
    st = service.status()
    family(
        "wphw_policy_version", "gauge", "the installed policy version", [("", st["policy_version"])]
    )
    family(
        "wphw_plan_entries", "gauge", "table entries in the installed plan", [("", st["entries"])]
    )
    family("wphw_applies_total", "counter", "plans installed since start", [("", service.applies)])
    family(
        "wphw_apply_seconds_sum",
        "counter",
        "seconds spent writing plans to the switches since start",
        [("", float(service.apply_seconds))],
    )
    last = service.last_change
    family(
        "wphw_last_apply_seconds",
        "gauge",
        "seconds the last install spent writing to the switches",
        [("", float(last.apply_s if last is not None else 0.0))],
    )
    family(
        "wphw_reconcile_repairs_total",
        "counter",
        "entries rewritten by reconcile (a restarted switch, a change made by others)",
        [("", service.repairs)],
    )
    return "\n".join(out) + "\n"
