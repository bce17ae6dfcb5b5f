"""A webhook receiver for the tests, failing at random.

Verifies every request with the `verify` function of schemas/webhooks.md (the documented block
is read from that file and run, so the document and the test cannot drift), then, as the seeded
dice say: answers 500, drops the connection before or after recording the batch, stalls past
the sink's timeout after recording it, or records it and answers 204.

  receiver.py SCHEMA_MD SECRET_FILE OUT_DIR SEED FAILURE_PERCENT STALL_SECONDS

Prints `listening on PORT` once it listens. Writes to OUT_DIR:
  accepted.jsonl  each recorded request's body, one per line, in the order recorded
  bad.log         requests whose signature did not verify (answered 401)
A file OUT_DIR/refuse holding member ids (one a line) makes it answer 400 to any batch with an
event of one of them (a permanent refusal: the sink sets the batch aside).
"""
import json
import os
import random
import re
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

schema_md, secret_file, out_dir, seed, failure_percent, stall_seconds = sys.argv[1:7]
document = open(schema_md, encoding="utf-8").read()
snippet = re.search(r"```python\n(.*?)```", document, re.S).group(1)
namespace = {}
exec(snippet, namespace)
verify = namespace["verify"]
secret = open(secret_file, "rb").read().rstrip(b" \t\r\n")
dice = random.Random(int(seed))
failure_percent = int(failure_percent)
stall_seconds = float(stall_seconds)
lock = threading.Lock()


def record(name, line):
    with lock:
        with open(os.path.join(out_dir, name), "ab") as f:
            f.write(line + b"\n")


def refused_members():
    try:
        with open(os.path.join(out_dir, "refuse"), encoding="utf-8") as f:
            return {line.strip() for line in f if line.strip()}
    except FileNotFoundError:
        return set()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, text=b""):
        self.send_response(status)
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)

    def drop(self):
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if not verify(secret, self.headers.get("Loyalty-Signature", ""), body):
            record("bad.log", self.headers.get("Loyalty-Signature", "").encode() + b" " + body[:200])
            return self.answer(401, b"bad signature")
        members = {event["member"] for event in json.loads(body)["events"]}
        if members & refused_members():
            return self.answer(400, b"member refused")
        with lock:
            roll = dice.randrange(100)
        if roll < failure_percent:
            kind = roll % 4
            if kind == 0:
                return self.answer(500, b"try again")
            if kind == 1:
                return self.drop()
            record("accepted.jsonl", body)
            if kind == 2:
                return self.drop()
            time.sleep(stall_seconds)
            try:
                return self.answer(204)
            except OSError:
                return
        record("accepted.jsonl", body)
        self.answer(204)


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print(f"listening on {server.server_address[1]}", flush=True)
server.serve_forever()
