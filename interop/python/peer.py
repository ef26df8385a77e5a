"""A scripted WebSocket peer built on Python's websockets package, for the
duplex interop tests. It echoes every data message with its type and obeys
command messages (text starting with "!" followed by JSON); it reports what it
sees as JSON lines on stdout: {"id", "event", ...}.

  python3 peer.py server PORT [CERT KEY]        listen on 127.0.0.1:PORT (0: any),
                                                print {"event":"listening","port":N}
  python3 peer.py client URL ID [PROTOS [CA]]   connect offering the comma-separated
                                                subprotocols, trusting CA for wss
  python3 peer.py oversize LIMIT SIZE URL...    for each URL in turn: send LIMIT bytes
                                                of text, wait for their echo, send SIZE
                                                bytes of text, and report the close:
                                                code, reason, the codes of the close
                                                frames received ("rcvd") and sent
                                                ("sent"), null for none, "reset": TCP
                                                ended with an error, such as a reset,
                                                not an end of stream, and "clean": both
                                                close frames crossed and no reset

A server picks the first of its subprotocols ("duplex.v2", "duplex.v1") the
client offers; the connection id comes from the URL's "id" parameter.

DUPLEX_PEER_DEFLATE sets permessage-deflate (RFC 7692): "off" (the default),
"on" (compression="deflate", websockets' defaults), or "small" (no context
takeover either way, server_max_window_bits=10, client_max_window_bits=9).
The "open" report carries the Sec-WebSocket-Extensions value of the
handshake's response.
"""

import asyncio
import json
import os
import ssl
import sys
import urllib.parse

import websockets
from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory,
    ServerPerMessageDeflateFactory,
)

SERVER_PROTOCOLS = ["duplex.v2", "duplex.v1"]
# Keepalive pings stay off: the tests drive every frame.
COMMON = dict(max_size=None, ping_interval=None)
SMALL = dict(
    server_no_context_takeover=True,
    client_no_context_takeover=True,
    server_max_window_bits=10,
    client_max_window_bits=9,
)


def deflate(factory):
    """The compression arguments DUPLEX_PEER_DEFLATE asks for."""
    mode = os.environ.get("DUPLEX_PEER_DEFLATE", "off")
    if mode == "off":
        return dict(compression=None)
    if mode == "on":
        return dict(compression="deflate")
    if mode == "small":
        return dict(compression=None, extensions=[factory(**SMALL)])
    if mode == "w8":
        return dict(compression=None, extensions=[factory(server_max_window_bits=8, client_max_window_bits=8)])
    sys.stderr.write("DUPLEX_PEER_DEFLATE must be off, on, small or w8\n")
    sys.exit(2)


def report(**obj):
    print(json.dumps(obj), flush=True)


async def command(ws, ident, cmd):
    if cmd["cmd"] == "ping":
        waiter = await ws.ping(cmd["data"])
        await waiter
        report(id=ident, event="pong", data=cmd["data"])
        await ws.send("pong " + cmd["data"])
    elif cmd["cmd"] == "fragment":
        await ws.send(iter(cmd["parts"]))
    elif cmd["cmd"] == "close":
        await ws.close(cmd["code"], cmd["reason"])
    elif cmd["cmd"] == "zeros":
        await ws.send(bytes(cmd["size"]))
    else:
        report(id=ident, event="error", message="unknown command " + cmd["cmd"])


async def drive(ws, ident):
    report(
        id=ident,
        event="open",
        protocol=ws.subprotocol or "",
        extensions=ws.response_headers.get("Sec-WebSocket-Extensions", ""),
    )
    tasks = set()
    try:
        async for msg in ws:
            if isinstance(msg, str) and msg.startswith("!"):
                # Commands run beside the loop: a ping waits for its pong,
                # which only arrives while the loop keeps reading.
                task = asyncio.create_task(command(ws, ident, json.loads(msg[1:])))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            else:
                await ws.send(msg)
    except websockets.ConnectionClosed:
        pass
    await ws.wait_closed()
    report(id=ident, event="close", code=ws.close_code, reason=ws.close_reason or "")


def select(client_protocols, server_protocols):
    for p in server_protocols:
        if p in client_protocols:
            return p
    return None


async def server(port, cert=None, key=None):
    ctx = None
    if cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)

    async def handler(ws):
        query = urllib.parse.urlparse(ws.path).query
        ident = urllib.parse.parse_qs(query).get("id", [""])[0]
        await drive(ws, ident)

    async with websockets.serve(
        handler, "127.0.0.1", port, ssl=ctx, subprotocols=SERVER_PROTOCOLS,
        select_subprotocol=select, **COMMON, **deflate(ServerPerMessageDeflateFactory),
    ) as srv:
        report(event="listening", port=srv.sockets[0].getsockname()[1])
        await asyncio.Future()


async def client(url, ident, protos="", ca=None):
    ctx = ssl.create_default_context(cafile=ca) if url.startswith("wss:") else None
    offered = [p for p in protos.split(",") if p]
    try:
        ws = await websockets.connect(
            url, subprotocols=offered or None, ssl=ctx, **COMMON,
            **deflate(ClientPerMessageDeflateFactory),
        )
    except Exception as err:  # report the refusal, then fail the process
        report(id=ident, event="error", message=repr(err))
        sys.exit(1)
    await drive(ws, ident)


async def oversize(limit, size, urls):
    """Opens the URLs one after another, without compression, each sending a
    message that fits the server's limit and then one over it. The
    ConnectionClosed that ends each one says which close frames crossed:
    rcvd is the server's, sent this side's answer; a connection that ended
    without them has None there. websockets counts a close frame as sent
    once it is handed to the socket, so a reset that then loses it is
    reported on its own."""
    # Imported here so that the other modes do not depend on the legacy
    # client, which Debian's websockets (10.4) uses for connect().
    from websockets.legacy.client import WebSocketClientProtocol

    class LostProtocol(WebSocketClientProtocol):
        """Keeps the error the TCP connection ended with: None for an end
        of stream, ConnectionResetError when the peer reset it."""

        lost = None

        def connection_lost(self, exc):
            self.lost = exc
            super().connection_lost(exc)

    fits, over = "a" * limit, "b" * size
    for url in urls:
        ident = urllib.parse.parse_qs(urllib.parse.urlparse(url).query).get("id", [""])[0]
        ws = await websockets.connect(url, **COMMON, compression=None, create_protocol=LostProtocol)
        try:
            await ws.send(fits)
            if await ws.recv() != fits:
                report(id=ident, event="error", message="echo of the message that fits differs")
            await ws.send(over)
            while True:
                await ws.recv()
        except websockets.ConnectionClosed as exc:
            closed = exc
        await ws.wait_closed()
        rcvd = closed.rcvd.code if closed.rcvd else None
        sent = closed.sent.code if closed.sent else None
        report(
            id=ident, event="close", code=ws.close_code, reason=ws.close_reason or "",
            rcvd=rcvd, sent=sent, reset=ws.lost is not None,
            clean=rcvd is not None and sent is not None and ws.lost is None,
        )


def main(argv):
    if len(argv) >= 2 and argv[0] == "server":
        asyncio.run(server(int(argv[1]), *argv[2:4]))
    elif len(argv) >= 3 and argv[0] == "client":
        asyncio.run(client(*argv[1:5]))
    elif len(argv) >= 4 and argv[0] == "oversize":
        asyncio.run(oversize(int(argv[1]), int(argv[2]), argv[3:]))
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main(sys.argv[1:])
