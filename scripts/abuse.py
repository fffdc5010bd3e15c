#!/usr/bin/env python3
"""Abuse test: attacks a running server from loopback addresses while normal clients use it.

At the same time, for --seconds:
  slow bodies   writes that announce 64 KiB and send a byte every 2 s, without a key (they
                must be refused at once) and with a live key (refused beyond the client's
                requests in flight, cut at the body deadline);
  slow reads    exports whose client reads 1 KiB and then stops reading, from many addresses;
  export flood  one address asking for many exports at once;
  fake tokens   made-up API keys on reads and writes;
  header floods requests with 90 headers of 1 KiB, and heads of 200 KiB (each must be
                answered 431 with a problem document);
  garbage       connections that send random bytes (a bare refusal fails the test).
Normal clients (their own addresses) read institutes, lists and searches all along: every
answer must be a 200 and their p99 under --p99-ms. The server's resident memory, sampled
every 250 ms, must stay under --rss-bound-mib; once the attacks end, its exports and
connections must be let go (exports_streaming back to 0).

Loopback only: every socket binds a 127.0.0.x source address and connects to 127.0.0.1.
"""

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import socket
import sys
import time
import urllib.request

PORT = 0
STOP = 0.0
COUNTS = {}


def count(kind, outcome):
    key = f"{kind}:{outcome}"
    COUNTS[key] = COUNTS.get(key, 0) + 1


async def connect(source):
    return await asyncio.open_connection(
        "127.0.0.1", PORT, local_addr=(source, 0)
    )


async def status_of(reader, timeout):
    """The status code of the response the reader is at (None: closed or timed out)."""
    try:
        line = await asyncio.wait_for(reader.readline(), timeout)
    except (asyncio.TimeoutError, ConnectionError):
        return None
    parts = line.split()
    return int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else None


async def refusal_of(reader, timeout):
    """The status of an answer, marked when a refusal (400, 408, 431) is not a problem
    document: "431", "431-bare", or None (closed or timed out)."""
    status = await status_of(reader, timeout)
    if status is None:
        return None
    problem = False
    try:
        while True:
            line = await asyncio.wait_for(reader.readline(), timeout)
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-type" and "application/problem+json" in value:
                problem = True
    except (asyncio.TimeoutError, ConnectionError):
        pass
    return str(status) if problem or status not in (400, 408, 431) else f"{status}-bare"


async def read_response(reader, timeout=10.0):
    """Reads one whole response (Content-Length or chunked); returns its status."""
    status = await status_of(reader, timeout)
    if status is None:
        return None
    length, chunked = 0, False
    while True:
        line = await asyncio.wait_for(reader.readline(), timeout)
        if line in (b"\r\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        if name.lower() == "content-length":
            length = int(value.strip())
        if name.lower() == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
    if chunked:
        while True:
            size = int((await asyncio.wait_for(reader.readline(), timeout)).strip() or b"0", 16)
            await asyncio.wait_for(reader.readexactly(size + 2), timeout)
            if size == 0:
                break
    elif length:
        await asyncio.wait_for(reader.readexactly(length), timeout)
    return status


def close(writer):
    try:
        writer.close()
    except Exception:
        pass


async def slow_body(source, key):
    """A write announcing 64 KiB, then a byte every 2 s until answered."""
    while time.time() < STOP:
        try:
            reader, writer = await connect(source)
        except OSError:
            count("slow-body", "connect-failed")
            await asyncio.sleep(1)
            continue
        auth = f"Authorization: Bearer {key}\r\n" if key else ""
        writer.write(
            (
                "POST /v1/institutes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                f"{auth}Content-Length: 65536\r\n\r\n{{"
            ).encode()
        )
        status = None
        started = time.time()
        while time.time() < STOP and status is None:
            try:
                status = await asyncio.wait_for(status_of(reader, 2.0), 2.5)
            except asyncio.TimeoutError:
                status = None
            if status is None:
                if reader.at_eof():
                    break
                try:
                    writer.write(b" ")
                    await writer.drain()
                except ConnectionError:
                    break
        kind = "slow-body-keyed" if key else "slow-body"
        count(kind, status or "closed")
        if status is not None and not key and time.time() - started > 1.0:
            count(kind, "slow-refusal")
        close(writer)
        # Refused at once: come back a second later (a bounded attack, not a busy loop).
        await asyncio.sleep(max(0.0, 1.0 - (time.time() - started)))


async def slow_read(source):
    """An export read for 1 KiB and then not read at all; held until the end."""
    while time.time() < STOP:
        try:
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.bind((source, 0))
            sock.setblocking(False)
            await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", PORT))
            reader, writer = await asyncio.open_connection(sock=sock, limit=4096)
        except OSError:
            count("slow-read", "connect-failed")
            await asyncio.sleep(1)
            continue
        writer.write(b"GET /v1/exports/institutes?format=ndjson HTTP/1.1\r\nHost: x\r\n\r\n")
        status = await status_of(reader, 5.0)
        count("slow-read", status or "closed")
        if status == 200:
            try:
                await asyncio.wait_for(reader.read(1024), 5.0)
            except (asyncio.TimeoutError, ConnectionError):
                pass
            # Stop reading: hold the connection until the end of the test.
            transport = writer.transport
            transport.pause_reading()
            while time.time() < STOP:
                await asyncio.sleep(0.5)
        else:
            await asyncio.sleep(1)
        close(writer)


async def export_flood(source):
    """Many exports at once from one address, each read to its end."""
    async def one():
        try:
            reader, writer = await connect(source)
        except OSError:
            count("export-flood", "connect-failed")
            return
        writer.write(b"GET /v1/exports/institutes?format=csv HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        status = await status_of(reader, 10.0)
        count("export-flood", status or "closed")
        try:
            while await asyncio.wait_for(reader.read(1 << 16), 30.0):
                pass
        except (asyncio.TimeoutError, ConnectionError):
            pass
        close(writer)

    while time.time() < STOP:
        await asyncio.gather(*(one() for _ in range(20)))
        await asyncio.sleep(0.5)


async def fake_tokens(source):
    """Made-up keys on reads and writes, on one kept-alive connection at a time."""
    while time.time() < STOP:
        try:
            reader, writer = await connect(source)
        except OSError:
            count("fake-token", "connect-failed")
            await asyncio.sleep(1)
            continue
        try:
            for i in range(50):
                token = "irk_" + os.urandom(32).hex()
                if i % 2:
                    body = b'{"name": "x"}'
                    writer.write(
                        (
                            f"POST /v1/institutes HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
                            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
                        ).encode()
                        + body
                    )
                else:
                    writer.write(
                        f"GET /v1/institutes/mila HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n".encode()
                    )
                status = await read_response(reader)
                if status is None:
                    count("fake-token", "closed")
                    break
                count("fake-token", status)
                await asyncio.sleep(0.01)
                if i % 2:
                    # A write refused before its body was read: the server closes the
                    # connection after answering (the body would otherwise be taken for the
                    # next request), so the next request goes on a new one.
                    break
        except (asyncio.TimeoutError, ConnectionError, asyncio.IncompleteReadError):
            count("fake-token", "cut")
        close(writer)


async def header_flood(source):
    """Heads of 90 headers of 1 KiB, and heads of 200 KiB."""
    while time.time() < STOP:
        for big in (False, True):
            try:
                reader, writer = await connect(source)
            except OSError:
                count("header-flood", "connect-failed")
                continue
            if big:
                head = "GET /v1/institutes HTTP/1.1\r\nHost: x\r\nX-Big: " + "a" * 200_000 + "\r\n\r\n"
            else:
                head = "GET /v1/institutes HTTP/1.1\r\nHost: x\r\n" + "".join(
                    f"X-H{i}: {'b' * 1024}\r\n" for i in range(90)
                ) + "\r\n"
            try:
                writer.write(head.encode())
                await writer.drain()
                status = await refusal_of(reader, 5.0)
            except ConnectionError:
                status = None
            count("header-flood-big" if big else "header-flood", status or "closed")
            close(writer)
        await asyncio.sleep(0.1)


async def garbage(source):
    """Connections that send random bytes."""
    while time.time() < STOP:
        try:
            reader, writer = await connect(source)
            writer.write(os.urandom(random.randint(1, 8192)))
            await writer.drain()
            status = await refusal_of(reader, 5.0)
            count("garbage", status or "closed")
            close(writer)
        except OSError:
            count("garbage", "reset")
        await asyncio.sleep(0.05)


def normal(source, paths, seconds, pace, out):
    """A well-behaved client on one kept-alive connection, in its own process (so that the
    attackers' event loop does not delay it): one request every `pace` seconds. Puts its
    latencies and failures on `out`."""
    import http.client

    latencies, failures = [], []
    stop = time.time() + seconds
    conn = None
    while time.time() < stop:
        path = random.choice(paths)
        started = time.perf_counter()
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10, source_address=(source, 0))
            conn.request("GET", path)
            r = conn.getresponse()
            r.read()
            status = r.status
        except (OSError, http.client.HTTPException) as e:
            failures.append(f"{path}: {e!r}")
            conn = None
            time.sleep(pace)
            continue
        elapsed = time.perf_counter() - started
        if status != 200:
            failures.append(f"{path}: {status}")
        else:
            latencies.append(elapsed)
        time.sleep(max(0.0, pace - elapsed))
    out.put((latencies, failures))


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def threads(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return 0


async def sample_memory(pid, samples):
    while time.time() < STOP + 1:
        samples.append((rss_mib(pid), threads(pid)))
        await asyncio.sleep(0.25)


def get_json(base, path):
    with urllib.request.urlopen(base + path, timeout=10) as r:
        return json.load(r)


def metric(base, name):
    with urllib.request.urlopen(base + "/metrics", timeout=10) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    return None


async def main():
    global PORT, STOP
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--rss-bound-mib", type=float, default=400)
    ap.add_argument("--p99-ms", type=float, default=100)
    ap.add_argument("--stall-seconds", type=float, default=5)
    args = ap.parse_args()
    PORT = args.port
    base = f"http://127.0.0.1:{PORT}"

    page = get_json(base, "/v1/institutes?limit=100")
    slugs = [i["slug"] for i in page["items"]]
    countries = sorted({i["country"] for i in page["items"]})
    words = sorted({w.lower() for i in page["items"] for w in i["name"].split() if len(w) > 4})[:20]
    paths = (
        [f"/v1/institutes/{s}" for s in slugs]
        + [f"/v1/institutes?country={c}&limit=20" for c in countries]
        + [f"/v1/institutes?q={w}&limit=10" for w in words]
        + ["/v1/stats?group_by=country", "/v1/countries", "/v1/sectors"]
    )
    baseline = rss_mib(args.pid)

    STOP = time.time() + args.seconds
    samples = []
    results = multiprocessing.Queue()
    clients = [
        multiprocessing.Process(target=normal, args=(source, paths, args.seconds, 0.06, results))
        for source in ("127.0.0.2", "127.0.0.12")
    ]
    for c in clients:
        c.start()
    tasks = [sample_memory(args.pid, samples)]
    tasks += [slow_body("127.0.0.3", None) for _ in range(200)]
    tasks += [slow_body("127.0.0.4", args.key) for _ in range(100)]
    tasks += [slow_read(f"127.0.1.{i}") for i in range(1, 31)]
    tasks += [export_flood("127.0.0.6")]
    tasks += [fake_tokens("127.0.0.7")]
    tasks += [header_flood("127.0.0.8")]
    tasks += [garbage("127.0.0.9")]
    await asyncio.gather(*tasks)
    latencies, failures = [], []
    for _ in clients:
        lat, fail = results.get(timeout=60)
        latencies += lat
        failures += fail
    for c in clients:
        c.join()

    # Once the attackers are gone, every export's place is given back.
    deadline = time.time() + args.stall_seconds + 10
    streaming = metric(base, "exports_streaming")
    while streaming and time.time() < deadline:
        await asyncio.sleep(0.5)
        streaming = metric(base, "exports_streaming")

    ok = True
    latencies.sort()
    n = len(latencies)
    p50 = latencies[n // 2] * 1000 if n else float("nan")
    p99 = latencies[min(n - 1, int(n * 0.99))] * 1000 if n else float("nan")
    peak_rss = max(s[0] for s in samples)
    peak_threads = max(s[1] for s in samples)
    print(f"normal clients: {n} answered 200, {len(failures)} failed; p50 {p50:.1f} ms, p99 {p99:.1f} ms (bound {args.p99_ms:.0f})")
    print(f"server: RSS {baseline:.0f} MiB before, peak {peak_rss:.0f} MiB (bound {args.rss_bound_mib:.0f}), {rss_mib(args.pid):.0f} MiB after; peak threads {peak_threads}")
    print("attackers' outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(COUNTS.items())))
    print(f"exports streaming after the attack: {streaming}")
    if failures:
        ok = False
        print("FAIL: normal requests failed: " + "; ".join(failures[:10]))
    if not n or p99 > args.p99_ms:
        ok = False
        print(f"FAIL: normal clients' p99 {p99:.1f} ms over {args.p99_ms:.0f} ms")
    if peak_rss > args.rss_bound_mib:
        ok = False
        print(f"FAIL: peak RSS {peak_rss:.0f} MiB over {args.rss_bound_mib:.0f} MiB")
    if streaming:
        ok = False
        print(f"FAIL: {streaming} exports still held after the attack")
    if COUNTS.get("slow-body:slow-refusal"):
        ok = False
        print("FAIL: keyless slow bodies were not refused at once")
    unexpected = [k for k in COUNTS if k.startswith("fake-token:") and k.split(":")[1] not in ("200", "401", "429")]
    if unexpected:
        ok = False
        print(f"FAIL: made-up keys got {unexpected}")
    bare = [k for k in COUNTS if k.endswith("-bare")]
    if bare:
        ok = False
        print(f"FAIL: refusals without a problem document: {bare}")
    with urllib.request.urlopen(base + "/readyz", timeout=5) as r:
        if r.status != 200:
            ok = False
            print("FAIL: not ready after the attack")
    print("abuse test passed" if ok else "abuse test FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
