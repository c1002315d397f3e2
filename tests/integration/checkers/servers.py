#!/usr/bin/env python3
"""Well- and misbehaving HTTP(S) servers for the checkers integration tests.

Usage: servers.py CERT_DIR. Listens on 0.0.0.0 (so every 127.x.y.z address answers) on ephemeral
ports: one plain HTTP port and one HTTPS port per certificate in CERT_DIR (good.pem, wronghost.pem,
expired.pem, each with its key in *.key). Prints one JSON line with the ports once listening, then
serves until stdin closes. Behaviour is chosen by the request path:

  /ok            200 "OK ready"            /status/NNN   status NNN
  /host          200, echoes the Host header  /count/TAG  200, counts requests per TAG
  /stats/TAG     200, the count of TAG     /silent       reads the request, never answers
  /reset         reads the request, then RST  /garbage    answers bytes that are not HTTP
  /trickle       a 200 whose body comes one byte every 200 ms
  /keepalive/TAG 200s on one kept-alive connection, closed after 3 (counts "TAG-connections" and
                 "TAG-requests")
  /big           a 200 with a 10 MB chunked body (bytes sent are counted under "big-bytes")
  /tls/TAG       200, counted under "TAG-resumed" when the TLS session was resumed, else "TAG-full"
  /method/TAG    counts requests per TAG and method (under "TAG-GET", "TAG-HEAD"); a HEAD gets a
                 200 whose headers announce a 1 MiB body that is never sent (as HEAD must), any
                 other method a 503: only a client that asked HEAD and expects no body passes
  /peer          200 "peer ADDRESS": the address the connection came from
  /version       an HTTP/1.0 answer whose body ends with the connection (no Content-Length):
                 "request HTTP/1.x", the version of the request line
  /delay/MS      200 after MS milliseconds
  /endless       an HTTP/1.0 answer whose body never ends (64 KiB of "z" after 64 KiB until
                 the client goes away; bytes sent are counted under "endless-bytes")
"""
import asyncio
import json
import os
import socket
import ssl
import struct
import sys
from collections import Counter

counts = Counter()


def response(status, body, extra=b""):
    reason = {200: b"OK", 503: b"Service Unavailable", 404: b"Not Found"}.get(status, b"X")
    return (b"HTTP/1.1 %d %s\r\nContent-Length: %d\r\nConnection: close\r\n%s\r\n" %
            (status, reason, len(body), extra)) + body


async def keep_alive(reader, writer, tag):
    """Answers requests on one connection, keeping it open, and closes it after the third; counts
    connections and requests under "TAG-connections" and "TAG-requests"."""
    counts[tag + "-connections"] += 1
    for served in range(3):
        if served:
            try:
                await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                break
        counts[tag + "-requests"] += 1
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nOK\n")
        await writer.drain()
    writer.close()


async def handle(reader, writer):
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ssl.SSLError):
        writer.close()
        return
    lines = head.decode("latin-1").split("\r\n")
    method, path = lines[0].split(" ")[:2]
    host = next((l.split(":", 1)[1].strip() for l in lines[1:] if l.lower().startswith("host:")), "")
    try:
        if path.startswith("/keepalive/"):
            await keep_alive(reader, writer, path[11:])
            return
        if path == "/ok":
            writer.write(response(200, b"OK ready\n"))
        elif path.startswith("/status/"):
            writer.write(response(int(path[8:]), b"status\n"))
        elif path == "/host":
            writer.write(response(200, ("Host: %s\n" % host).encode()))
        elif path.startswith("/count/"):
            counts[path[7:]] += 1
            writer.write(response(200, b"counted\n"))
        elif path.startswith("/tls/"):
            tls = writer.get_extra_info("ssl_object")
            resumed = tls is not None and tls.session_reused
            counts["%s-%s" % (path[5:], "resumed" if resumed else "full")] += 1
            writer.write(response(200, b"tls\n"))
        elif path.startswith("/method/"):
            counts["%s-%s" % (path[8:], method)] += 1
            if method == "HEAD":
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1048576\r\n"
                             b"Connection: close\r\n\r\n")
            else:
                writer.write(response(503, b"not a HEAD request\n"))
        elif path == "/peer":
            writer.write(response(200, ("peer %s" % writer.get_extra_info("peername")[0]).encode()))
        elif path == "/version":
            version = lines[0].split(" ")[2] if len(lines[0].split(" ")) > 2 else "none"
            writer.write(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n")
            writer.write(("request %s\n" % version).encode())
        elif path.startswith("/delay/"):
            await asyncio.sleep(int(path[7:]) / 1000)
            writer.write(response(200, b"late\n"))
        elif path == "/endless":
            writer.write(b"HTTP/1.0 200 OK\r\n\r\n")
            chunk = b"z" * 65536
            while True:
                writer.write(chunk)
                await writer.drain()
                counts["endless-bytes"] += len(chunk)
        elif path.startswith("/stats/"):
            writer.write(response(200, str(counts[path[7:]]).encode()))
        elif path == "/silent":
            await asyncio.sleep(3600)
        elif path == "/reset":
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            return
        elif path == "/garbage":
            writer.write(b"\x16\x03garbage that is not HTTP at all\r\n\r\n" * 4)
        elif path == "/trickle":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
            for _ in range(1000):
                writer.write(b"x")
                await writer.drain()
                await asyncio.sleep(0.2)
        elif path == "/big":
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
            chunk = b"y" * 65536
            for _ in range(160):  # 10 MiB
                writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                await writer.drain()
                counts["big-bytes"] += len(chunk)
            writer.write(b"0\r\n\r\n")
        else:
            writer.write(response(404, b"no such behaviour\n"))
        await writer.drain()
        writer.close()
    except (ConnectionError, ssl.SSLError):
        writer.close()


async def main():
    cert_dir = sys.argv[1]
    ports = {}
    servers = []
    plain = await asyncio.start_server(handle, "0.0.0.0", 0, backlog=4096)
    servers.append(plain)
    ports["http"] = plain.sockets[0].getsockname()[1]
    for name in ("good", "wronghost", "expired"):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(cert_dir, name + ".pem"), os.path.join(cert_dir, name + ".key"))
        srv = await asyncio.start_server(handle, "0.0.0.0", 0, ssl=ctx, backlog=1024)
        servers.append(srv)
        ports[name] = srv.sockets[0].getsockname()[1]
    print(json.dumps(ports), flush=True)
    loop = asyncio.get_running_loop()
    stdin_closed = loop.create_future()
    loop.add_reader(sys.stdin.fileno(), lambda: stdin_closed.done() or
                    (os.read(sys.stdin.fileno(), 4096) or stdin_closed.set_result(None)))
    await stdin_closed


if __name__ == "__main__":
    asyncio.run(main())
