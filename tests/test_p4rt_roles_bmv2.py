"""What BMv2's P4Runtime server (PI) does with P4Runtime roles, measured on the real
``simple_switch_grpc``: it keeps ONE primary per device whatever the role (the role name is
neither kept nor echoed, a role config is ignored, a second role's stream with the same election
id is refused, a higher election id in another role takes the device over) and checks only the
election id on Write. The controller's tenant roles (docs/controller.md, "Tenants and P4Runtime
roles") rely on this: on BMv2 a tenant role stream is refused and the tenant's rules go through
the controller's own stream; the API's tenant checks are the enforcement.

PI's server (proto/server/pi_server.cpp at PI f96af95e) never reads ``role``: connections are
one set per device ordered by election id.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from finsy.proto import p4r, p4r_grpc
from google.protobuf import any_pb2
from p4rt_common import BMV2_HELP, REAL_BMV2_JSON, REAL_P4INFO, Bmv2, bmv2_env

from wphw.entries import LPM, Action, TableEntry
from wphw.p4rt import Encoder, Pipeline, Schema

pytestmark = pytest.mark.bmv2

_FOUND = bmv2_env()
if _FOUND is None:
    pytest.skip(BMV2_HELP, allow_module_level=True)
if not (REAL_P4INFO.exists() and REAL_BMV2_JSON.exists()):
    pytest.skip("p4/build/wphw.json and wphw.p4info.txtpb are missing", allow_module_level=True)


class Stream:
    """One StreamChannel: sends an arbitration with a role, collects what comes back."""

    def __init__(
        self, stub: Any, device_id: int, election_id: int, role: str, config: Any = None
    ) -> None:
        self.requests: queue.Queue[Any] = queue.Queue()
        self.responses: queue.Queue[Any] = queue.Queue()
        self.call = stub.StreamChannel(iter(self.requests.get, None))
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        req = p4r.StreamMessageRequest()
        arb = req.arbitration
        arb.device_id = device_id
        arb.election_id.low = election_id
        arb.role.name = role
        if config is not None:
            arb.role.config.CopyFrom(config)
        self.requests.put(req)

    def _read(self) -> None:
        try:
            for resp in self.call:
                self.responses.put(resp)
        except grpc.RpcError as exc:
            self.responses.put(exc)

    def next(self, timeout: float = 5.0) -> Any:
        return self.responses.get(timeout=timeout)

    def close(self) -> None:
        self.requests.put(None)
        self.call.cancel()


@pytest.fixture
def bmv2() -> Iterator[tuple[Any, Bmv2, Any]]:
    assert _FOUND is not None
    sw = Bmv2(*_FOUND)
    channel = grpc.insecure_channel(sw.address)
    stub = p4r_grpc.P4RuntimeStub(channel)
    try:
        yield stub, sw, channel
    finally:
        channel.close()
        sw.stop()


def _push(stub: Any, device_id: int, election_id: int) -> None:
    pipe = Pipeline.load(REAL_P4INFO, REAL_BMV2_JSON)
    req = p4r.SetForwardingPipelineConfigRequest(
        device_id=device_id, action=p4r.SetForwardingPipelineConfigRequest.VERIFY_AND_COMMIT
    )
    req.election_id.low = election_id
    req.config.p4info.CopyFrom(pipe.p4info)
    req.config.p4_device_config = pipe.device_config
    stub.SetForwardingPipelineConfig(req)


def _write(stub: Any, device_id: int, election_id: int, role: str, host: int) -> None:
    enc = Encoder(Schema.load(REAL_P4INFO))
    te = enc.encode(
        TableEntry.of(
            "ipv4_lpm",
            {"ipv4_dst": LPM(value=0x0A000000 + host, prefix_len=32)},
            Action.of("ipv4_forward", dst_mac=0x080000000001, port=1),
        )
    )
    req = p4r.WriteRequest(device_id=device_id, role=role)
    req.election_id.low = election_id
    u = req.updates.add()
    u.type = p4r.Update.INSERT
    u.entity.table_entry.CopyFrom(te)
    stub.Write(req)


def test_bmv2_keeps_one_primary_per_device_whatever_the_role(
    bmv2: tuple[Any, Bmv2, Any],
) -> None:
    stub, sw, _ = bmv2
    dev = sw.device_id
    a = Stream(stub, dev, 1, "tenant-a")
    first = a.next()
    assert first.arbitration.status.code == 0  # primary
    assert first.arbitration.role.name == ""  # the role is not echoed
    # a second role with the same election id: refused, as for the same role
    b = Stream(stub, dev, 1, "tenant-b")
    err = b.next()
    assert isinstance(err, grpc.RpcError)
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "Election id already exists" in (err.details() or "")
    # a higher election id in another role takes over tenant-a's stream
    c = Stream(stub, dev, 2, "tenant-b")
    assert c.next().arbitration.status.code == 0
    demoted = a.next()
    assert demoted.arbitration.status.code == 6  # ALREADY_EXISTS: backup
    assert demoted.arbitration.election_id.low == 2
    _push(stub, dev, 2)
    # tenant-a's primary election id no longer writes, whatever its role
    with pytest.raises(grpc.RpcError) as info:
        _write(stub, dev, 1, "tenant-a", 1)
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
    # the election id is all that is checked: any role name (or none) with id 2 writes
    for i, role in enumerate(("tenant-b", "", "no-such-role"), start=2):
        _write(stub, dev, 2, role, i)
    for s in (a, c):
        s.close()


def test_bmv2_ignores_a_role_config(bmv2: tuple[Any, Bmv2, Any]) -> None:
    """A role whose config (an opaque Any; the format is the target's) would allow nothing:
    BMv2 makes it primary and lets it push a pipeline and write any table."""
    stub, sw, _ = bmv2
    config = any_pb2.Any(type_url="type.googleapis.com/wphw.NoTablesRoleConfig", value=b"\x08\x01")
    s = Stream(stub, sw.device_id, 5, "restricted", config)
    assert s.next().arbitration.status.code == 0
    _push(stub, sw.device_id, 5)
    _write(stub, sw.device_id, 5, "restricted", 1)
    s.close()


def test_tenant_roles_on_bmv2_fall_back_to_the_controllers_stream(
    bmv2: tuple[Any, Bmv2, Any],
) -> None:
    """``--tenant-roles`` against BMv2: the tenant role stream (the controller's election id)
    is refused, the controller stays primary, and a plan with classifier entries is written
    through the controller's own stream and read back exactly."""
    from p4rt_common import ROOT, FakePlan, Sw

    import wphw
    from wphw.p4rt import Fabric

    _, sw, _ = bmv2
    d = ROOT / "examples" / "table1"
    plan = wphw.compile(
        wphw.load_policy(d / "policy.yaml"), wphw.load_topology(d / "topology.yaml")
    )
    s1 = [e for e in plan.entries_for("s1") if not e.is_default]
    assert any(e.table == "wp_classify" for e in s1)
    role = "wphw-tenant-acme"
    with Fabric(
        [Sw("s1", sw.address, sw.device_id)],
        pipeline=Pipeline.load(REAL_P4INFO, REAL_BMV2_JSON),
        election_id=2,
        roles={"s1": {role: ("wp_classify",)}},
    ) as f:
        assert f.roles_granted() == {"s1": {role: False}}
        f.apply(FakePlan({"s1": s1}))
        got = {repr(e) for e in f.read("s1") if not e.is_default}
        assert got == {repr(e) for e in s1}
