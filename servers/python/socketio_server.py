"""The Socket.IO counterpart in Python: python-socketio's AsyncServer as an ASGI app under
uvicorn, as its docs deploy one, doing the jobs wsbench's own Socket.IO server does (README,
"The servers under test"):

- ``broadcast`` (or ``message``): relayed, under the same name and with the same
  arguments, to every other client of the sender's room; every client starts in the lobby,
  so this is a broadcast to all other clients;
- ``join`` with a room name: the client moves to that room; the ack answers with the name;
- ``echo``: answered with an ack carrying the same arguments.

Both transports (websocket and long-polling) are served, with the libraries' defaults but
two: events of one client are handled in the order they arrived (``async_handlers=False``;
the default runs each in a task of its own, which reorders a burst, where Socket.IO's
JavaScript server and wsbench's keep order), and uvicorn logs warnings only (its default
logs every HTTP request, a line per long-polling request). It listens on 127.0.0.1 and on
the port wsbench picks (PORT).
"""

import os

import socketio
import uvicorn

LOBBY = "wsbench:lobby"

sio = socketio.AsyncServer(async_mode="asgi", async_handlers=False)
app = socketio.ASGIApp(sio)


def payload(args):
    """What `emit` sends for these arguments: one as itself, several as a tuple."""
    return args[0] if len(args) == 1 else args


@sio.event
async def connect(sid, environ):
    await sio.save_session(sid, {"room": LOBBY})
    await sio.enter_room(sid, LOBBY)


async def relay(event, sid, args):
    room = (await sio.get_session(sid))["room"]
    await sio.emit(event, payload(args) if args else None, room=room, skip_sid=sid)


@sio.on("broadcast")
async def on_broadcast(sid, *args):
    await relay("broadcast", sid, args)


@sio.on("message")
async def on_message(sid, *args):
    await relay("message", sid, args)


@sio.on("join")
async def on_join(sid, name):
    session = await sio.get_session(sid)
    await sio.leave_room(sid, session["room"])
    session["room"] = str(name)
    await sio.save_session(sid, session)
    await sio.enter_room(sid, session["room"])
    return name


@sio.on("echo")
async def on_echo(sid, *args):
    return args


if __name__ == "__main__":
    port = int(os.environ.get("PORT", "3000"))
    print(f"python-socketio server listening on 127.0.0.1:{port}", flush=True)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
