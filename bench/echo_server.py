"""A bare grpc.aio unary server in its own process: python -m bench.echo_server PORT REPLY_BYTES."""

from __future__ import annotations

import asyncio
import sys

import grpc


async def serve(port: int, reply: bytes) -> None:
    async def echo(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        return reply

    handler = grpc.method_handlers_generic_handler("bench.Echo", {"Echo": grpc.unary_unary_rpc_method_handler(echo)})
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    await server.wait_for_termination()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1]), b"x" * int(sys.argv[2])))
