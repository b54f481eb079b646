"""wphw: the waypoint service model on programmable hardware.

``plan = wphw.compile(policy, topology)`` translates per-switch logical rules whose actions are
services into physical P4 entries (pure data); ``wphw.verify(plan, policy, topology)`` walks
packets through them; ``wphw.p4rt.Fabric(topology).apply(plan)`` installs them.
"""

from wphw.errors import (
    PlanError,
    PolicyError,
    RegisterError,
    SchemaError,
    TopologyError,
    VerificationError,
    WphwError,
    WriteError,
)
from wphw.plan import Plan, compile
from wphw.policy import Policy, load_policy, policy_from_dict
from wphw.topology import Topology, load_topology, topology_from_dict
from wphw.verify import Report, verify, verify_change

__all__ = [
    "Plan",
    "PlanError",
    "Policy",
    "PolicyError",
    "RegisterError",
    "Report",
    "SchemaError",
    "Topology",
    "TopologyError",
    "VerificationError",
    "WphwError",
    "WriteError",
    "compile",
    "load_policy",
    "load_topology",
    "policy_from_dict",
    "topology_from_dict",
    "verify",
    "verify_change",
]
__version__ = "0.1.0"
