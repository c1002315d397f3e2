#!/usr/bin/env python3
"""UDP and DNS counterparts for the checkers integration tests that dnsmasq cannot play.

Usage: datagram_servers.py. Binds ephemeral ports on loopback, prints one JSON line with them once
bound, then serves until stdin closes:

  echo       UDP on 127.0.0.1: answers every datagram with "PONG " + the datagram
  echo6      the same on ::1
  silent     UDP on 127.0.0.1: reads datagrams, never answers
  wrong_id   DNS over UDP: answers every query with the query's ID plus one
  truncated  DNS over UDP and TCP on the same port: over UDP every answer has TC set and no
             records; over TCP the full answer (ok.test A 127.0.0.7)
"""
import json
import selectors
import socket
import struct
import sys


def question_end(query):
    at = 12
    while query[at] != 0:
        at += 1 + query[at]
    return at + 5  # root label, type, class


def answer(query, truncated=False, id_delta=0):
    (qid,) = struct.unpack("!H", query[:2])
    flags = 0x8180 | (0x0200 if truncated else 0)
    question = query[12:question_end(query)]
    records = b""
    if not truncated:
        records = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + bytes([127, 0, 0, 7])
    head = struct.pack("!HHHHHH", (qid + id_delta) & 0xFFFF, flags, 1, 0 if truncated else 1, 0, 0)
    return head + question + records


def udp_socket(family, address):
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.bind((address, 0))
    return s


def main():
    sel = selectors.DefaultSelector()
    ports = {}
    handlers = {}

    def add(name, sock, handler):
        ports[name] = sock.getsockname()[1]
        sock.setblocking(False)
        sel.register(sock, selectors.EVENT_READ)
        handlers[sock] = handler

    add("echo", udp_socket(socket.AF_INET, "127.0.0.1"),
        lambda s: (lambda d, a: s.sendto(b"PONG " + d, a))(*s.recvfrom(65535)))
    add("echo6", udp_socket(socket.AF_INET6, "::1"),
        lambda s: (lambda d, a: s.sendto(b"PONG " + d, a))(*s.recvfrom(65535)))
    add("silent", udp_socket(socket.AF_INET, "127.0.0.1"), lambda s: s.recvfrom(65535))
    add("wrong_id", udp_socket(socket.AF_INET, "127.0.0.1"),
        lambda s: (lambda d, a: s.sendto(answer(d, id_delta=1), a))(*s.recvfrom(65535)))

    # TCP first: its ephemeral port is then taken for UDP too (retried if UDP has it in use).
    while True:
        trunc_tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        trunc_tcp.bind(("127.0.0.1", 0))
        trunc_udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            trunc_udp.bind(("127.0.0.1", trunc_tcp.getsockname()[1]))
            break
        except OSError:
            trunc_tcp.close()
            trunc_udp.close()
    trunc_tcp.listen(16)
    add("truncated", trunc_udp,
        lambda s: (lambda d, a: s.sendto(answer(d, truncated=True), a))(*s.recvfrom(65535)))

    def serve_tcp(listener):
        conn, _ = listener.accept()
        conn.settimeout(2)
        try:
            (length,) = struct.unpack("!H", conn.recv(2, socket.MSG_WAITALL))
            query = conn.recv(length, socket.MSG_WAITALL)
            reply = answer(query)
            conn.sendall(struct.pack("!H", len(reply)) + reply)
        finally:
            conn.close()

    sel.register(trunc_tcp, selectors.EVENT_READ)
    handlers[trunc_tcp] = serve_tcp
    sel.register(sys.stdin, selectors.EVENT_READ)

    print(json.dumps(ports), flush=True)
    while True:
        for key, _ in sel.select():
            if key.fileobj is sys.stdin:
                if not sys.stdin.buffer.read1(4096):
                    return
                continue
            try:
                handlers[key.fileobj](key.fileobj)
            except OSError:
                pass


if __name__ == "__main__":
    main()
