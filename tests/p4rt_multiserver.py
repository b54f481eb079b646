"""TEST DOUBLE: many P4Runtime devices behind one gRPC server, in a process of its own.

Each device is a :class:`p4rt_testserver.P4RuntimeTestServer` (``serve=False``): its own
pipeline, entries, arbitration and checks, exactly as the one-device double. This servicer
dispatches every RPC to the device its ``device_id`` names (a StreamChannel by the device id of
its first arbitration message), as a P4Runtime server fronting several devices does. Real gRPC,
real P4Runtime messages; not a switch (it forwards no packets). It exists so that a benchmark
can serve a 980-switch fabric from a few processes: 980 one-device servers, each with a thread
and a gRPC server, did not finish starting on two cores.

    python tests/p4rt_multiserver.py --port 50100 --first 1 --count 490

prints ``ready`` once serving; SIGTERM stops it.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
from finsy.proto import p4r, p4r_grpc

sys.path.insert(0, str(Path(__file__).resolve().parent))

from p4rt_testserver import P4RuntimeTestServer


class MultiDeviceServicer(p4r_grpc.P4RuntimeServicer):  # type: ignore[misc]
    """TEST DOUBLE: P4Runtime devices ``device_ids`` behind one server (module docstring)."""

    def __init__(self, device_ids: range) -> None:
        self.devices = {d: P4RuntimeTestServer(device_id=d, serve=False) for d in device_ids}

    async def _device(self, device_id: int, context: Any) -> P4RuntimeTestServer:
        dev = self.devices.get(device_id)
        if dev is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"Invalid device id {device_id}")
        assert dev is not None
        return dev

    async def StreamChannel(
        self, request_iterator: AsyncIterator[Any], context: Any
    ) -> AsyncIterator[Any]:
        it = request_iterator.__aiter__()
        try:
            first = await it.__anext__()
        except StopAsyncIteration:
            return
        if first.WhichOneof("update") != "arbitration":
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, "arbitration first")
        dev = await self._device(first.arbitration.device_id, context)

        async def chained() -> AsyncIterator[Any]:
            yield first
            async for req in it:
                yield req

        async for resp in dev.StreamChannel(chained(), context):
            yield resp

    async def Capabilities(self, request: Any, context: Any) -> Any:
        return p4r.CapabilitiesResponse(p4runtime_api_version="1.3.0")

    async def SetForwardingPipelineConfig(self, request: Any, context: Any) -> Any:
        dev = await self._device(request.device_id, context)
        return await dev.SetForwardingPipelineConfig(request, context)

    async def GetForwardingPipelineConfig(self, request: Any, context: Any) -> Any:
        dev = await self._device(request.device_id, context)
        return await dev.GetForwardingPipelineConfig(request, context)

    async def Write(self, request: Any, context: Any) -> Any:
        dev = await self._device(request.device_id, context)
        return await dev.Write(request, context)

    async def Read(self, request: Any, context: Any) -> AsyncIterator[Any]:
        dev = await self._device(request.device_id, context)
        async for resp in dev.Read(request, context):
            yield resp


async def serve(port: int, device_ids: range) -> None:
    server = grpc.aio.server(
        options=[
            ("grpc.max_receive_message_length", 256 << 20),
            ("grpc.max_send_message_length", 256 << 20),
            ("grpc.so_reuseport", 0),
        ]
    )
    p4r_grpc.add_P4RuntimeServicer_to_server(MultiDeviceServicer(device_ids), server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    print("ready", flush=True)
    await stop.wait()
    await server.stop(0.5)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--first", type=int, default=1, help="first device id")
    ap.add_argument("--count", type=int, required=True, help="number of devices")
    args = ap.parse_args()
    asyncio.run(serve(args.port, range(args.first, args.first + args.count)))


if __name__ == "__main__":
    main()
