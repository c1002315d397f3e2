#!/usr/bin/env python3
"""SMTP servers that misbehave, for the smtp check's integration tests (the well-behaved server
is OpenSMTPD itself).

Usage: mail_servers.py [CERT KEY]. Listens on ephemeral loopback ports, prints one JSON line with
them once listening, then serves until stdin closes (the tls_ servers only with CERT and KEY):

  refuse      greets with 554 (a server that does not want mail from us)
  ehlo_550    greets with 220, answers EHLO with 550
  helo_only   an RFC 821 server: 502 to EHLO, 250 to HELO, 221 to QUIT
  huge        greets with a line that never ends (1 MiB and counting)
  endless     greets with continuation lines that never end
  drip        sends its greeting one byte every 200 ms
  starttls_inject     offers STARTTLS and answers it with 220 and, in the same write, a fake
                      plaintext reply to the EHLO that would follow over TLS
  starttls_plaintext  answers STARTTLS with 220, waits for the client's first TLS bytes, and
                      answers them with a plaintext "250" instead of a handshake
  starttls_454        offers STARTTLS, then refuses it with 454
  starttls_silent     answers STARTTLS with 220 and then says nothing (the handshake never ends)
  tls_endless         a real TLS handshake after STARTTLS, then continuation lines that never end
  tls_huge            a real TLS handshake after STARTTLS, then a line that never ends
"""
import asyncio
import json
import ssl
import sys


async def lines(reader):
    while True:
        line = await reader.readline()
        if not line:
            return
        yield line.strip().upper()


async def refuse(reader, writer):
    writer.write(b"554 5.3.2 no service here\r\n")
    await writer.drain()
    async for _ in lines(reader):
        writer.write(b"503 5.5.1 go away\r\n")


async def ehlo_550(reader, writer):
    writer.write(b"220 mx.test ESMTP\r\n")
    async for line in lines(reader):
        writer.write(b"550 5.7.1 not you\r\n" if line.startswith(b"EHLO") else b"221 bye\r\n")


async def helo_only(reader, writer):
    writer.write(b"220 old.test SMTP\r\n")
    async for line in lines(reader):
        if line.startswith(b"EHLO"):
            writer.write(b"502 command not implemented\r\n")
        elif line.startswith(b"HELO"):
            writer.write(b"250 old.test\r\n")
        elif line == b"QUIT":
            writer.write(b"221 old.test closing\r\n")
            await writer.drain()
            writer.close()
            return


async def flood(writer, first, chunk):
    writer.write(first)
    for _ in range(1 << 14):  # bounded: the check gives up long before
        writer.write(chunk)
        await writer.drain()


async def huge(reader, writer):
    await flood(writer, b"220 ", b"x" * 64)


async def endless(reader, writer):
    await flood(writer, b"220-mx.test\r\n", b"220-more\r\n")


async def drip(reader, writer):
    for byte in b"220 mx.test ESMTP\r\n":
        writer.write(bytes([byte]))
        await writer.drain()
        await asyncio.sleep(0.2)


async def offering_starttls(reader, writer, on_starttls):
    """Greets, offers STARTTLS to EHLO, hands STARTTLS to `on_starttls`, says 221 to QUIT."""
    writer.write(b"220 mx.test ESMTP\r\n")
    async for line in lines(reader):
        if line.startswith(b"EHLO"):
            writer.write(b"250-mx.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n")
        elif line == b"STARTTLS":
            await on_starttls(reader, writer)
            return
        elif line == b"QUIT":
            writer.write(b"221 bye\r\n")
            return
        else:
            writer.write(b"500 what\r\n")


async def starttls_inject(reader, writer):
    async def inject(reader, writer):
        writer.write(b"220 2.0.0 go ahead\r\n250-mx.test\r\n250 AUTH PLAIN\r\n")
        await writer.drain()
        await reader.read()
    await offering_starttls(reader, writer, inject)


async def starttls_plaintext(reader, writer):
    async def plaintext(reader, writer):
        writer.write(b"220 2.0.0 go ahead\r\n")
        await writer.drain()
        await reader.read(1)  # the client's ClientHello has begun
        writer.write(b"250-mx.test\r\n250 AUTH PLAIN\r\n221 bye\r\n")
        await writer.drain()
        await reader.read()
    await offering_starttls(reader, writer, plaintext)


async def starttls_454(reader, writer):
    async def refuse(reader, writer):
        writer.write(b"454 4.7.0 TLS not available due to temporary reason\r\n")
        async for line in lines(reader):
            writer.write(b"221 bye\r\n" if line == b"QUIT" else b"503 no\r\n")
    await offering_starttls(reader, writer, refuse)


async def starttls_silent(reader, writer):
    async def silent(reader, writer):
        writer.write(b"220 2.0.0 go ahead\r\n")
        await writer.drain()
        while await reader.read(4096):
            pass
    await offering_starttls(reader, writer, silent)


def over_tls(context, first, chunk):
    """Offers STARTTLS, says 220, shakes hands for real, then floods the EHLO reply over TLS."""
    async def handler(reader, writer):
        async def flood_over_tls(reader, writer):
            writer.write(b"220 2.0.0 go ahead\r\n")
            await writer.drain()
            await writer.start_tls(context)
            await reader.readline()  # EHLO, over TLS
            await flood(writer, first, chunk)
        await offering_starttls(reader, writer, flood_over_tls)
    return handler


def guarded(handler):
    async def run(reader, writer):
        try:
            await handler(reader, writer)
            await writer.drain()
        except (ConnectionError, OSError, ssl.SSLError):
            pass
        finally:
            writer.close()
    return run


async def main():
    handlers = dict(refuse=refuse, ehlo_550=ehlo_550, helo_only=helo_only, huge=huge,
                    endless=endless, drip=drip, starttls_inject=starttls_inject,
                    starttls_plaintext=starttls_plaintext, starttls_454=starttls_454,
                    starttls_silent=starttls_silent)
    if len(sys.argv) == 3:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(sys.argv[1], sys.argv[2])
        handlers["tls_endless"] = over_tls(context, b"250-mx.test\r\n", b"250-more\r\n")
        handlers["tls_huge"] = over_tls(context, b"250 ", b"x" * 64)
    ports = {}
    for name, handler in handlers.items():
        server = await asyncio.start_server(guarded(handler), "127.0.0.1", 0)
        ports[name] = server.sockets[0].getsockname()[1]
    print(json.dumps(ports), flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.buffer.read)


if __name__ == "__main__":
    asyncio.run(main())
