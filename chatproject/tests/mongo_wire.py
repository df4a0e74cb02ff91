"""A MongoDB wire-protocol TEST DOUBLE: one mongomock store that several
processes reach through the real pymongo driver. It is not a MongoDB.

mongomock lives inside one process, so tests that run several service
processes would each get a store of their own. This server holds ONE mongomock
store behind ONE lock (mongo_commands.py) and speaks enough of the protocol
for pymongo 4.10 (OP_MSG, with its document sequences; OP_QUERY, which the
driver's handshake uses), at an ordinary `mongodb://127.0.0.1:PORT/dbname`
URI. It does not fix what mongomock lacks or does unlike MongoDB:
docs/testing-content-store.md lists the differences.

    python -m chatproject.tests.mongo_wire --port 0   # prints "listening on 127.0.0.1:PORT"

In process: `MongoWireServer()` with `start()` (returns the port), `uri(db)`, `stop()`.
Standard library, `bson` (from pymongo) and mongomock only: no Django.
"""

import argparse
import contextlib
import itertools
import re
import select
import socket
import socketserver
import struct
import subprocess
import sys
import threading
from pathlib import Path

import bson

from chatproject.tests.mongo_commands import CODEC, Store

OP_REPLY, OP_QUERY, OP_MSG = 1, 2004, 2013
HEADER = struct.Struct("<iiii")
CHECKSUM_PRESENT, MORE_TO_COME = 1, 2  # OP_MSG flag bits


def answer(store, opcode, request_id, reply_id, body):
    """The reply to one message, or None when none is due."""
    if opcode == OP_MSG:
        flags, cmd = parse_msg(body)
        reply = store.run(cmd.get("$db", "admin"), cmd)
        if flags & MORE_TO_COME:  # an unacknowledged write wants no answer
            return None
        payload = struct.pack("<IB", 0, 0) + bson.encode(reply, codec_options=CODEC)
    elif opcode == OP_QUERY:
        namespace, query = parse_query(body)
        reply = store.run(namespace.split(".", 1)[0], query.get("$query", query))
        payload, opcode = struct.pack("<iqii", 0, 0, 0, 1) + bson.encode(reply, codec_options=CODEC), OP_REPLY
    else:
        raise ConnectionError(f"unsupported opcode {opcode}")
    return HEADER.pack(HEADER.size + len(payload), reply_id, request_id, opcode) + payload


def parse_msg(body):
    (flags,) = struct.unpack_from("<I", body)
    end = len(body) - (4 if flags & CHECKSUM_PRESENT else 0)
    position, cmd, sequences = 4, {}, {}
    while position < end:
        kind, (size,) = body[position], struct.unpack_from("<i", body, position + 1)
        if kind == 0:
            cmd = bson.decode(body[position + 1 : position + 1 + size], CODEC)
        else:  # a document sequence: insert's documents, update's updates, delete's deletes
            name_end = body.index(b"\x00", position + 5)
            documents = bson.decode_all(body[name_end + 1 : position + 1 + size], CODEC)
            sequences[body[position + 5 : name_end].decode()] = documents
        position += 1 + size
    return flags, {**cmd, **sequences}


def parse_query(body):
    name_end = body.index(b"\x00", 4)
    start = name_end + 1 + 8  # past numberToSkip and numberToReturn
    (size,) = struct.unpack_from("<i", body, start)
    return body[4:name_end].decode(), bson.decode(body[start : start + size], CODEC)


def receive(sock, size):
    data = bytearray()
    while len(data) < size:
        if not (chunk := sock.recv(size - len(data))):
            return None
        data += chunk
    return bytes(data)


class Connection(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.connections.add(self.request)
        try:
            while (header := receive(self.request, HEADER.size)) is not None:
                length, request_id, _, opcode = HEADER.unpack(header)
                if (body := receive(self.request, length - HEADER.size)) is None:
                    break
                reply = answer(self.server.store, opcode, request_id, next(self.server.reply_ids), body)
                if reply is not None:
                    self.request.sendall(reply)
        except OSError:
            pass  # the client went away, or sent an opcode this double does not speak
        finally:
            self.server.connections.discard(self.request)


class MongoWireServer(socketserver.ThreadingTCPServer):
    """The test double on 127.0.0.1: `start()` returns its port, `stop()` ends it."""

    daemon_threads = allow_reuse_address = True

    def __init__(self, port=0):
        super().__init__(("127.0.0.1", port), Connection)
        self.store, self.connections, self.thread, self.reply_ids = Store(), set(), None, itertools.count(1)

    @property
    def port(self):
        return self.server_address[1]

    def uri(self, db):
        return f"mongodb://127.0.0.1:{self.port}/{db}"

    def start(self):
        self.thread = threading.Thread(target=self.serve_forever, name="mongo-wire", daemon=True)
        self.thread.start()
        return self.port

    def stop(self):
        if self.thread is not None:  # shutdown() would wait forever for a loop never started
            self.shutdown()
            self.thread.join()
        # Open connections too: a client must see the server go, as with a real one.
        for sock in list(self.connections):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self.server_close()


@contextlib.contextmanager
def server_process(timeout=15):
    """Run `python -m chatproject.tests.mongo_wire --port 0` in a process of
    its own (as the suite's fixtures do) and yield its port; ended on exit."""
    argv = [sys.executable, "-m", "chatproject.tests.mongo_wire", "--port", "0"]
    process = subprocess.Popen(argv, cwd=Path(__file__).resolve().parents[2], stdout=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([process.stdout], [], [], timeout)
        line = process.stdout.readline() if ready else ""
        if not (match := re.fullmatch(r"listening on 127\.0\.0\.1:(\d+)\n", line)):
            raise RuntimeError(f"the mongo_wire server did not start (it said {line!r})")
        yield int(match.group(1))
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()


def main(argv=None):
    parser = argparse.ArgumentParser(description="MongoDB wire-protocol test double over one mongomock store.")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free one)")
    server = MongoWireServer(parser.parse_args(argv).port)
    print(f"listening on 127.0.0.1:{server.port}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    server.server_close()


if __name__ == "__main__":
    main()
