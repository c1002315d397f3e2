#!/usr/bin/env python3
"""A real gRPC server (Debian's python3-grpcio) serving grpc.health.v1.Health/Check, for the
grpc check's integration tests. The handler works on raw bytes (no generated code): the request's
field 1 is the service name, the response's field 1 its ServingStatus.

Usage: grpc_health_server.py DIR. Makes a self-signed certificate for grpc.test in DIR, listens
on 127.0.0.1 in cleartext (h2c) and with TLS, prints one JSON line {"h2c": port, "tls": port,
"ca": path} once serving, then reads commands from stdin until it closes:

  set SERVICE STATUS   SERVICE ("-" for the server as a whole) now answers STATUS (0-3)
  unknown SERVICE      SERVICE answers NOT_FOUND, as grpcio's own health servicer does
"""
import json
import os
import subprocess
import sys
import threading
from concurrent import futures

import grpc

statuses = {"": 1, "web": 1}
lock = threading.Lock()


def service_of(request):
    if not request:
        return ""
    if request[0] != 0x0A:
        raise ValueError("unexpected field")
    length, at = 0, 1
    shift = 0
    while True:
        byte = request[at]
        at += 1
        length |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            break
    return request[at:at + length].decode()


def check(request, context):
    service = service_of(request)
    with lock:
        status = statuses.get(service)
    if status is None:
        context.abort(grpc.StatusCode.NOT_FOUND, "unknown service")
    return bytes([0x08, status]) if status else b""


def main():
    folder = sys.argv[1]
    key, cert = os.path.join(folder, "grpc.key"), os.path.join(folder, "grpc.crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=grpc.test", "-addext",
                    "subjectAltName=DNS:grpc.test"], check=True, capture_output=True)
    handler = grpc.method_handlers_generic_handler(
        "grpc.health.v1.Health", {"Check": grpc.unary_unary_rpc_method_handler(check)})
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers((handler,))
    h2c = server.add_insecure_port("127.0.0.1:0")
    with open(key, "rb") as k, open(cert, "rb") as c:
        credentials = grpc.ssl_server_credentials([(k.read(), c.read())])
    tls = server.add_secure_port("127.0.0.1:0", credentials)
    server.start()
    print(json.dumps({"h2c": h2c, "tls": tls, "ca": cert}), flush=True)
    for line in sys.stdin:
        words = line.split()
        service = "" if len(words) > 1 and words[1] == "-" else (words[1] if len(words) > 1 else "")
        with lock:
            if words[0] == "set":
                statuses[service] = int(words[2])
            elif words[0] == "unknown":
                statuses.pop(service, None)
    server.stop(0)


if __name__ == "__main__":
    main()
