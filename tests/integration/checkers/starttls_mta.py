#!/usr/bin/env python3
"""A well-behaved SMTP server with STARTTLS (RFC 3207), for the smtp check's integration tests:
aiosmtpd (Debian's python3-aiosmtpd), with the certificate and key the test made. Debian 12's
OpenSMTPD cannot be used for this: with OpenSSL 3 its privilege-separated key engine fails every
handshake ("missing private key", OpenSMTPD issue #1171); the tests prove that failure too.

Usage: starttls_mta.py CERT KEY. Listens on an ephemeral port on 127.0.0.1 and one on ::1,
prints {"v4": port, "v6": port} once listening, then serves until stdin closes. Every message is
refused (the check never sends one).
"""
import asyncio
import json
import logging
import ssl
import sys

from aiosmtpd.smtp import SMTP


class RefuseEverything:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        return "550 5.7.1 no mail here"


async def main():
    # Handshakes the checks fail on purpose (unknown CA, wrong name) are not news.
    logging.getLogger("mail.log").setLevel(logging.CRITICAL)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(sys.argv[1], sys.argv[2])
    loop = asyncio.get_running_loop()
    ports = {}
    for name, host in (("v4", "127.0.0.1"), ("v6", "::1")):
        server = await loop.create_server(
            lambda: SMTP(RefuseEverything(), tls_context=context, hostname="mx.test"), host, 0)
        ports[name] = server.sockets[0].getsockname()[1]
    print(json.dumps(ports), flush=True)
    await loop.run_in_executor(None, sys.stdin.buffer.read)


if __name__ == "__main__":
    asyncio.run(main())
