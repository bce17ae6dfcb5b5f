#!/usr/bin/env python3
"""One run of the event-stream latency benchmark against a running `loyalty serve`.

Writes purchases through the HTTP API (POST /v1/purchases, full durability) at a fixed rate over
several keep-alive connections, while one consumer follows GET /v1/events/stream. For every event
the consumer receives it records

  commit -> receipt: the arrival time minus the event's recordedAt (the ledger's commit time; it
                     is taken before the commit's fsync, so this also counts the fsync: an upper
                     bound of "committed -> received"),
  send -> receipt:   the arrival time minus the time the purchase request was sent (carried in the
                     purchase id): the whole path, HTTP write included.

Both clocks are the machine's realtime clock. Events of the first second (warm-up) are left out.
Prints one JSON document.

  sse.py HOST:PORT [--rate 5000] [--seconds 10] [--connections 32] [--members 500]
"""
import argparse, json, multiprocessing, socket, sys, threading, time
from datetime import datetime


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("address")
    p.add_argument("--rate", type=float, default=5000, help="purchases per second (each writes 2 events)")
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--members", type=int, default=500)
    p.add_argument("--warmup", type=float, default=1.0)
    return p.parse_args()


class Connection:
    def __init__(self, host, port):
        self.sock = socket.create_connection((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.host = f"{host}:{port}"

    def request(self, method, path, body=b""):
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        self.sock.sendall(head.encode() + body)
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        header, _, rest = self.buf.partition(b"\r\n\r\n")
        status = int(header.split(b" ", 2)[1])
        length = 0
        for line in header.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(rest) < length:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            rest += chunk
        self.buf = rest[length:]
        return status, rest[:length]


def micros(text):
    # "2026-12-03T17:31:01.123456Z" (the fraction is left out when zero)
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1_000_000 + 0.5)


def percentile(sorted_values, q):
    if not sorted_values:
        return None
    i = min(len(sorted_values) - 1, max(0, int(round(q * (len(sorted_values) - 1)))))
    return sorted_values[i]


def consume(host, port, address, head, target, ready, results):
    """Follows the stream from `head` until it received `target` (once set), stamping lines."""
    sock = socket.create_connection((host, port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.sendall(f"GET /v1/events/stream?after={head} HTTP/1.1\r\nHost: {address}\r\nAccept: text/event-stream\r\n\r\n".encode())
    sock.settimeout(0.5)
    ready.set()
    buf = b""
    headers_done = False
    received = []
    last = head
    deadline = None
    while True:
        if target.value and last >= target.value:
            break
        if target.value and deadline is None:
            deadline = time.time() + 10
        if deadline is not None and time.time() > deadline:
            break
        try:
            chunk = sock.recv(1 << 20)
        except socket.timeout:
            continue
        now = time.time_ns() // 1000
        if not chunk:
            break
        buf += chunk
        if not headers_done:
            if b"\r\n\r\n" not in buf:
                continue
            buf = buf.partition(b"\r\n\r\n")[2]
            headers_done = True
        # Chunked transfer encoding: each frame is written whole, so its lines are intact.
        cut = buf.rfind(b"\n")
        for line in buf[:cut].split(b"\n"):
            if line.startswith(b"id: "):
                last = int(line[4:])
            elif line.startswith(b"data: {\"position\":"):
                received.append((now, line[6:]))
        buf = buf[cut + 1:]
    sock.close()
    results.put(received)


def main():
    a = parse_args()
    host, port = a.address.rsplit(":", 1)
    port = int(port)
    run = f"{time.time_ns():x}"
    setup = Connection(host, port)
    for m in range(a.members):
        body = json.dumps({"member": f"b{run}-{m}", "store": "S1", "occurredAt": "2026-01-01T00:00:00Z"}).encode()
        status, text = setup.request("POST", "/v1/members", body)
        if status != 201:
            sys.exit(f"enroll: {status} {text[:200]!r}")
    status, text = setup.request("GET", "/v1/events?limit=1&after=0")
    head = json.loads(text)["head"]

    # The consumer, in a process of its own (the load's threads do not delay its clock readings):
    # it only stamps each received line; parsing comes after the run.
    target = multiprocessing.Value("q", 0)
    ready = multiprocessing.Event()
    results = multiprocessing.Queue()
    consumer = multiprocessing.Process(target=consume, args=(host, port, a.address, head, target, ready, results))
    consumer.start()
    ready.wait()
    time.sleep(0.2)

    sent = [0] * a.connections
    errors = [0] * a.connections
    begin = [0.0]
    begin[0] = time.time()
    deadline = begin[0] + a.seconds

    def produce(i):
        c = Connection(host, port)
        k = 0
        while True:
            due = begin[0] + (i + k * a.connections) / a.rate
            if due >= deadline:
                break
            delay = due - time.time()
            if delay > 0:
                time.sleep(delay)
            t = time.time_ns() // 1000
            body = json.dumps({"member": f"b{run}-{(i + k * a.connections) % a.members}", "purchaseId": f"t{t}-{run}-{i}-{k}",
                               "amount": "10.00", "store": "S1", "occurredAt": "2026-01-05T10:00:00Z"}).encode()
            status, _ = c.request("POST", "/v1/purchases", body)
            if status == 201:
                sent[i] += 1
            else:
                errors[i] += 1
            k += 1

    producers = [threading.Thread(target=produce, args=(i,)) for i in range(a.connections)]
    for p in producers:
        p.start()
    for p in producers:
        p.join()
    elapsed = time.time() - begin[0]
    status, text = setup.request("GET", "/v1/events?limit=1&after=0")
    final_head = json.loads(text)["head"]
    target.value = final_head
    received = results.get(timeout=60)
    consumer.join()
    commit_latency, send_latency, positions = [], [], []
    for now, line in received:
        event = json.loads(line)
        positions.append(event["position"])
        if now / 1e6 - begin[0] < a.warmup:
            continue
        commit_latency.append(now - micros(event["recordedAt"]))
        data = event.get("data") or {}
        pid = data.get("purchaseId", "") if isinstance(data, dict) else ""
        if pid.startswith("t") and event["type"] == "purchase.recorded":
            send_latency.append(now - int(pid[1:].split("-")[0]))
    commit_latency.sort()
    send_latency.sort()
    ms = lambda v: None if v is None else round(v / 1000, 3)
    gaps = sum(1 for x, y in zip(positions, positions[1:]) if y != x + 1)
    report = {
        "benchmark": "sse-latency",
        "purchasesPerSecondTarget": a.rate,
        "purchasesPerSecondAchieved": round(sum(sent) / elapsed, 1),
        "eventsPerSecondAppended": round((final_head - head) / elapsed, 1),
        "connections": a.connections,
        "seconds": round(elapsed, 2),
        "requestErrors": sum(errors),
        "eventsReceived": len(positions),
        "eventsAppended": final_head - head,
        "allReceivedInOrder": gaps == 0 and bool(positions) and positions[0] == head + 1 and positions[-1] == final_head,
        "commitToReceiptMs": {"p50": ms(percentile(commit_latency, 0.5)), "p90": ms(percentile(commit_latency, 0.9)),
                              "p99": ms(percentile(commit_latency, 0.99)), "p999": ms(percentile(commit_latency, 0.999)),
                              "max": ms(commit_latency[-1] if commit_latency else None), "count": len(commit_latency)},
        "sendToReceiptMs": {"p50": ms(percentile(send_latency, 0.5)), "p99": ms(percentile(send_latency, 0.99)),
                            "max": ms(send_latency[-1] if send_latency else None), "count": len(send_latency)},
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
