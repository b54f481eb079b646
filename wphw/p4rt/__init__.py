"""P4Runtime: schema (P4Info names), fast encoding, batched ordered writes, diff, rollback.

``Fabric(topology, pipeline=Pipeline.load(p4info, bmv2_json)).apply(plan)`` installs a plan;
``AsyncFabric`` is the asyncio core. See docs/p4runtime.md.
"""

from wphw.p4rt.diff import OWNED_TABLES, Change, Diff, SwitchDiff
from wphw.p4rt.encode import EncodedEntry, Encoder
from wphw.p4rt.fabric import (
    ApplyResult,
    AsyncFabric,
    Credentials,
    Fabric,
    P4RuntimeWriteError,
    Pipeline,
    SwitchResult,
    UpdateFailure,
    owns_table,
)
from wphw.p4rt.schema import Schema

__all__ = [
    "OWNED_TABLES",
    "ApplyResult",
    "AsyncFabric",
    "Change",
    "Credentials",
    "Diff",
    "EncodedEntry",
    "Encoder",
    "Fabric",
    "P4RuntimeWriteError",
    "Pipeline",
    "Schema",
    "SwitchDiff",
    "SwitchResult",
    "UpdateFailure",
    "owns_table",
]
