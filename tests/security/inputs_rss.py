"""Measures what a 300 MB chunked POST (no Content-Length) does to a running hub's memory (issue 13,
defect 2). Not a test (no timing, no assertion): run it by hand and read the line it prints.

    .venv/bin/python tests/security/inputs_rss.py

Starts `interlace run` on a free port with one webhook (max_body 1 MiB), streams the body in
64 KiB chunks until the hub answers, then prints the answer, how much was sent and the hub's RSS
before and after.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TOTAL = 300 << 20


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def post(port: int) -> tuple[str, int]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        b"POST /hooks/shop HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    answer = asyncio.create_task(reader.readline())
    chunk, sent = b"x" * 65536, 0
    while sent < TOTAL and not answer.done():
        writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        try:
            await asyncio.wait_for(writer.drain(), 10)
        except (ConnectionError, TimeoutError):
            break
        sent += len(chunk)
    if not answer.done():
        writer.write(b"0\r\n\r\n")
    line = await asyncio.wait_for(answer, 120)
    writer.close()
    return line.decode().strip(), sent


def main() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    folder = Path(tempfile.mkdtemp())
    (folder / "hub.yaml").write_text(
        f"hub: {{name: rss, port: {port}}}\nowners: {{ops: {{email: ops@example.test}}}}\n"
        "systems: {shop: {connector: webhook}}\n"
        "flows: {orders: {trigger: {system: shop}, on_error: {owner: ops}}}\n"
    )
    interlace = Path(sys.executable).parent / "interlace"
    proc = subprocess.Popen(
        [str(interlace), "run", "hub.yaml"], cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        before = rss_kib(proc.pid)
        answer, sent = asyncio.run(post(port))
        after = rss_kib(proc.pid)
        print(f"{answer}: {sent >> 20} MiB sent before the answer; hub RSS {before >> 10} MiB -> {after >> 10} MiB")
    finally:
        proc.terminate()
        proc.wait()


if __name__ == "__main__":
    main()
