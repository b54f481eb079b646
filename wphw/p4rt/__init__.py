"""P4Runtime: schema (P4Info names), fast encoding, batched ordered writes, diff, rollback.

Modules: ``client`` (one switch's gRPC connection), ``switch`` (one switch's apply phases),
``fabric`` (many switches in lock step, rollback), ``results``, ``diff``, ``encode``,
``schema``. FPGA register writes are not this package's business: wphw.install combines an
apply with them through :class:`ApplyHooks`.

``Fabric(topology, pipeline=Pipeline.load(p4info, bmv2_json)).apply(plan)`` installs a plan;
``AsyncFabric`` is the asyncio core. See docs/p4runtime.md.
"""

from wphw.p4rt.client import Credentials, Pipeline, run_sync
from wphw.p4rt.diff import OWNED_TABLES, Change, Diff, SwitchDiff
from wphw.p4rt.encode import EncodedEntry, Encoder
from wphw.p4rt.fabric import ApplyHooks, AsyncFabric, Fabric
from wphw.p4rt.results import ApplyResult, P4RuntimeWriteError, SwitchResult, UpdateFailure
from wphw.p4rt.schema import Schema
from wphw.p4rt.switch import owns_table

__all__ = [
    "OWNED_TABLES",
    "ApplyHooks",
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
    "run_sync",
]
