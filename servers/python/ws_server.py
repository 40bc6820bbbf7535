"""A raw-WebSocket server in Python, written the way the `websockets` library's own docs
write a broadcast server (asyncio, one handler coroutine per connection, `broadcast()` to
the others), doing the jobs of wsbench's server contract (README, "The servers under test"):

- ``/``: every message goes, unchanged, to every other client on ``/``;
- ``/room/NAME``: to every other client in room NAME;
- ``/echo``: back to its sender.

Text stays text and binary stays binary. It listens on 127.0.0.1 and on the port wsbench
picks (PORT), with the library's defaults otherwise (keepalive pings, 1 MiB messages, no
compression), and prints one line when it listens. `broadcast()` writes each recipient's
copy at once, with no backpressure: a recipient that does not read grows its write buffer
until the keepalive closes it (the library's documented behaviour).
"""

import asyncio
import os
import signal

from websockets.asyncio.server import broadcast, serve

# Connections by room; "" is the lobby, the clients on "/".
ROOMS: dict[str, set] = {}


def room_of(path: str) -> str | None:
    """The room a request path joins, or None for a path this server does not serve."""
    path = path.split("?", 1)[0]
    if path == "/":
        return ""
    if path.startswith("/room/") and len(path) > len("/room/"):
        return path[len("/room/"):]
    return None


async def handler(websocket):
    path = websocket.request.path
    if path.split("?", 1)[0] == "/echo":
        async for message in websocket:
            await websocket.send(message)
        return
    room = room_of(path)
    if room is None:
        await websocket.close(1008, "no such path")
        return
    members = ROOMS.setdefault(room, set())
    members.add(websocket)
    try:
        async for message in websocket:
            broadcast([peer for peer in members if peer is not websocket], message)
    finally:
        members.discard(websocket)
        if not members:
            ROOMS.pop(room, None)


async def main():
    port = int(os.environ.get("PORT", "8765"))
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
    async with serve(handler, "127.0.0.1", port):
        print(f"websockets server listening on 127.0.0.1:{port}", flush=True)
        await stop


if __name__ == "__main__":
    asyncio.run(main())
