"""A lean webhook load generator for P7: `python -m bench.loadgen ARGS` prints one JSON line.

Raw asyncio streams over keep-alive HTTP/1.1 connections (as Telegram posts to a webhook, one
request at a time per connection), every request serialised before the clock starts, each
update with its own update_id. Two modes:

- `--rate R`: open loop. Request k is due at start + k / R on connection k mod C; its latency is
  counted from when it was due, so a slow answer that delays the next request shows in the
  figures (no coordinated omission).
- `--rate 0`: closed loop, each connection posting its next request as soon as the last is
  answered: the most updates a second the server takes.

It reports its own CPU over the timed window, so a reader can see it costs less than the server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import resource
import time
from collections.abc import Sequence

# Plain group chatter (not addressed to the bot): stored and marked, nothing answered.
GROUPS = 50
USERS = 500
TAIL = 1.0


def update(update_id: int, now: int) -> bytes:
    """Return one update as Telegram would post it."""
    user = 700_000 + update_id % USERS
    body = {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": now,
            "chat": {"id": -1_000_000 - update_id % GROUPS, "type": "group", "title": "Sales"},
            "from": {"id": user, "is_bot": False, "first_name": f"Rep {user}"},
            "text": "ok",
        },
    }
    return json.dumps(body, separators=(",", ":")).encode()


def request(host: str, port: int, path: str, secret: str, body: bytes) -> bytes:
    """Return a complete HTTP/1.1 POST (keep-alive)."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"X-Telegram-Bot-Api-Secret-Token: {secret}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _answer(reader: asyncio.StreamReader) -> int:
    """Read one response; return its status."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return status


async def _connection(
    c: int, args: argparse.Namespace, requests: Sequence[bytes], start: float, out: dict[str, list]
) -> None:
    reader, writer = await asyncio.open_connection(args.host, args.port)
    loop = asyncio.get_running_loop()
    end = start + args.seconds
    k = c
    try:
        while k < len(requests):
            due = start + k / args.rate if args.rate else loop.time()
            # Requests due in the window; those the server is too slow to take by a second
            # after it are left unsent (reported as such).
            if due >= end or loop.time() >= end + TAIL:
                break
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(requests[k])
            status = await _answer(reader)
            done = loop.time()
            out["latency" if status == 200 else "refused"].append(done - due)
            k += args.connections
    finally:
        writer.close()


async def _main(args: argparse.Namespace) -> dict[str, object]:
    total = int((args.rate or args.max_rate) * args.seconds) + args.connections
    now = int(time.time())
    requests = [
        request(args.host, args.port, args.path, args.secret, update(args.first_id + k, now))
        for k in range(total)
    ]
    out: dict[str, list] = {"latency": [], "refused": []}
    loop = asyncio.get_running_loop()
    cpu0 = _cpu()
    start = loop.time() + 0.05
    await asyncio.gather(
        *(_connection(c, args, requests, start, out) for c in range(args.connections))
    )
    elapsed = loop.time() - start
    latencies = sorted(out["latency"])
    due = int(args.rate * args.seconds) if args.rate else len(latencies) + len(out["refused"])
    return {
        "due": due,
        "ok": len(latencies),
        "refused": len(out["refused"]),
        "seconds": elapsed,
        "cpu": _cpu() - cpu0,
        "p50": _nearest(latencies, 50),
        "p99": _nearest(latencies, 99),
        "max": latencies[-1] if latencies else 0.0,
    }


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _nearest(ordered: Sequence[float], q: float) -> float:
    if not ordered:
        return 0.0
    return ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1]


def main(argv: Sequence[str] | None = None) -> None:
    """Run one load and print its figures as JSON."""
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--rate", type=float, default=0.0, help="updates/s (0: closed loop)")
    parser.add_argument("--max-rate", type=float, default=3000.0, help="closed loop: at most")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=40)
    parser.add_argument("--first-id", type=int, default=1)
    args = parser.parse_args(argv)
    print(json.dumps(asyncio.run(_main(args))), flush=True)


if __name__ == "__main__":
    main()
