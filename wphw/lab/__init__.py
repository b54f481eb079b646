"""BMv2 labs: a topology brought up for real on one machine (docs/lab.md).

``network`` (namespaces, veths, switches, install, teardown), ``pes`` (the waypoints' PE
processes), ``scenario`` (an example's flows and transfers with evidence), ``experiments``
(failover and consistency under traffic, on any example), ``cli`` (``wphw lab``).
"""

from wphw.lab.network import (
    FABRIC_MTU,
    HOST_MTU,
    NETNS_PREFIX,
    STATE_FILE,
    Lab,
    LabState,
    bmv2_build,
    down,
    find_bmv2,
    preflight,
    running,
    status,
)

__all__ = [
    "FABRIC_MTU",
    "HOST_MTU",
    "NETNS_PREFIX",
    "STATE_FILE",
    "Lab",
    "LabState",
    "bmv2_build",
    "down",
    "find_bmv2",
    "preflight",
    "running",
    "status",
]
