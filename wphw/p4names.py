"""The P4 names wphw's Python code uses: tables, actions, match fields, action parameters and
direct externs of the data plane (p4/include/*.p4; contract: docs/dataplane.md).

One module, like :mod:`wphw.netfpga.regmap` for the registers: every other module refers to
these constants instead of repeating string literals, and tests/test_p4names.py checks each
of them against the committed P4Info of both architectures (v1model ``MyIngress.<name>``,
TNA ``pipe.Ingress.<name>``): the table's match fields, the action's parameters, the table's
actions. Names are the short names; :mod:`wphw.p4rt.schema` resolves them in a P4Info.
"""

from __future__ import annotations

from collections.abc import Mapping

# -- tables --------------------------------------------------------------------------------------
WP_CLASSIFY = "wp_classify"
WP_PROXY_RETURN = "wp_proxy_return"
WP_SFF = "wp_sff"
WP_FW = "wp_fw"
WP_NAT = "wp_nat"
WP_COUNT = "wp_count"
WP_RATELIMIT = "wp_ratelimit"
IPV4_LPM = "ipv4_lpm"
WP_LB = "wp_lb"
"""TNA only: constant entries (the load-balancing offset, p4/tna/wp_lb.p4); never written."""
CONST_TABLES = frozenset({WP_LB})
"""Tables of a program wphw reads about but never writes (tests/test_p4_tna.py checks them)."""

TNA_MAX_PATHS = 32
"""The most ``start_chain`` paths the TNA program's ``wp_lb`` spreads flows over
(p4/tna/wp_lb_entries.py ``MAX_PATHS``); more are refused for a TNA pipeline."""

# -- actions -------------------------------------------------------------------------------------
START_CHAIN = "start_chain"
FORWARD = "forward"
DROP = "drop"
ROUTE = "route"
PROXY_RESTORE = "proxy_restore"
SFF_FORWARD = "sff_forward"
SFF_PROXY = "sff_proxy"
SFF_RECIRCULATE = "sff_recirculate"
SFF_END_FORWARD = "sff_end_forward"
SFF_END_ROUTE = "sff_end_route"
SFF_DROP = "sff_drop"
FW_PERMIT = "fw_permit"
FW_DENY = "fw_deny"
NAT_SNAT = "nat_snat"
NAT_DNAT = "nat_dnat"
NAT_PASS = "nat_pass"
COUNT_HIT = "count_hit"
RATELIMIT_CHECK = "ratelimit_check"
IPV4_FORWARD = "ipv4_forward"
IPV4_DROP = "ipv4_drop"

# -- match fields ----------------------------------------------------------------------------------
INGRESS_PORT = "ingress_port"
VLAN_ID = "vlan_id"
IPV4_SRC = "ipv4_src"
IPV4_DST = "ipv4_dst"
IP_PROTO = "ip_proto"
L4_SRC_PORT = "l4_src_port"
L4_DST_PORT = "l4_dst_port"
SPI = "spi"
SI = "si"

# -- direct externs --------------------------------------------------------------------------------
WP_CLASSIFY_COUNTER = "wp_classify_counter"
WP_SFF_COUNTER = "wp_sff_counter"
WP_COUNT_COUNTER = "wp_count_counter"
WP_RATELIMIT_METER = "wp_ratelimit_meter"

TABLE_KEYS: Mapping[str, tuple[str, ...]] = {
    WP_PROXY_RETURN: (INGRESS_PORT, VLAN_ID),
    WP_CLASSIFY: (INGRESS_PORT, IPV4_SRC, IPV4_DST, IP_PROTO, L4_SRC_PORT, L4_DST_PORT),
    WP_FW: (SPI, SI, IPV4_SRC, IPV4_DST, IP_PROTO, L4_SRC_PORT, L4_DST_PORT),
    WP_NAT: (SPI, SI, IPV4_SRC, IPV4_DST),
    WP_COUNT: (SPI, SI),
    WP_RATELIMIT: (SPI, SI),
    WP_SFF: (SPI, SI),
    IPV4_LPM: (IPV4_DST,),
}
"""Every table wphw writes and its match fields, in P4Info order."""

TABLE_ACTIONS: Mapping[str, frozenset[str]] = {
    WP_PROXY_RETURN: frozenset({PROXY_RESTORE}),
    WP_CLASSIFY: frozenset({START_CHAIN, FORWARD, DROP, ROUTE}),
    WP_FW: frozenset({FW_PERMIT, FW_DENY}),
    WP_NAT: frozenset({NAT_SNAT, NAT_DNAT, NAT_PASS}),
    WP_COUNT: frozenset({COUNT_HIT}),
    WP_RATELIMIT: frozenset({RATELIMIT_CHECK}),
    WP_SFF: frozenset(
        {SFF_FORWARD, SFF_PROXY, SFF_RECIRCULATE, SFF_END_FORWARD, SFF_END_ROUTE, SFF_DROP}
    ),
    IPV4_LPM: frozenset({IPV4_FORWARD, IPV4_DROP}),
}
"""The actions wphw's entries use in each table (a table may offer more, e.g. NoAction)."""

ACTION_PARAMS: Mapping[str, tuple[str, ...]] = {
    PROXY_RESTORE: (SPI, SI),
    START_CHAIN: (SPI, "paths"),
    FORWARD: ("port",),
    DROP: (),
    ROUTE: (),
    FW_PERMIT: (),
    FW_DENY: (),
    NAT_SNAT: ("addr",),
    NAT_DNAT: ("addr",),
    NAT_PASS: (),
    COUNT_HIT: (),
    RATELIMIT_CHECK: (),
    SFF_FORWARD: ("port", "si"),
    SFF_PROXY: ("port", "vlan"),
    SFF_RECIRCULATE: ("si",),
    SFF_END_FORWARD: ("port",),
    SFF_END_ROUTE: (),
    SFF_DROP: (),
    IPV4_FORWARD: ("dst_mac", "port"),
    IPV4_DROP: (),
}
"""Every action wphw writes and its parameters, in P4Info order (the keyword arguments of
``Action.of``)."""

DIRECT_EXTERNS: Mapping[str, str] = {
    WP_CLASSIFY_COUNTER: WP_CLASSIFY,
    WP_SFF_COUNTER: WP_SFF,
    WP_COUNT_COUNTER: WP_COUNT,
    WP_RATELIMIT_METER: WP_RATELIMIT,
}
"""Direct counters and meters and the table each belongs to."""
