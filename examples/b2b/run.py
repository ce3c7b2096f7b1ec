"""The B2B example, end to end on this machine (docs/edi.md):

1. starts an SFTP server (asyncssh, on an OS-chosen port of 127.0.0.1) with Globex's inbox and
   outbox, and the hub (`interlace run hub.yaml`) reading and writing them;
2. drops Globex's purchase order (globex-850.x12) in the inbox, as Globex would;
3. waits for the order rows in the ERP (erp.db) and the 997 in the outbox;
4. adds a shipment row to the ERP, as the warehouse would, and waits for the 856 and 810;
5. prints what arrived where, and stops.

Run from the repository root: `.venv/bin/python examples/b2b/run.py` (`--keep` leaves the hub
and the SFTP server running until Ctrl-C).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import asyncssh

HERE = Path(__file__).resolve().parent
SFTP_ROOT = HERE / ".sftp"
STATE = HERE / "state"
USER, PASSWORD = "globex", os.environ.get("PARTNER_SFTP_PASSWORD", "globex-demo-password")


class _Server(asyncssh.SSHServer):
    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return username == USER and password == PASSWORD


async def start_sftp() -> tuple[asyncssh.SSHAcceptor, int]:
    for folder in ("inbox", "outbox"):
        (SFTP_ROOT / folder).mkdir(parents=True, exist_ok=True)
    key = asyncssh.generate_private_key("ssh-ed25519")
    server = await asyncssh.listen(
        "127.0.0.1",
        0,
        server_host_keys=[key],
        server_factory=_Server,
        sftp_factory=lambda chan: asyncssh.SFTPServer(chan, chroot=str(SFTP_ROOT).encode()),
    )
    port = int(server.sockets[0].getsockname()[1])
    (STATE / "known_hosts").write_text(f"[127.0.0.1]:{port} {key.export_public_key().decode()}")
    return server, port


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def wait_for(what: str, check: object, hub: subprocess.Popen[bytes], timeout: float = 90.0) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()  # type: ignore[operator]
        if found:
            return found
        if hub.poll() is not None:
            raise SystemExit(f"b2b: the hub stopped (exit {hub.returncode}) while waiting for {what}")
        await asyncio.sleep(0.2)
    raise SystemExit(f"b2b: no {what} after {timeout:.0f} s (see {HERE / '.interlace' / 'hub.log'})")


def rows(sql: str) -> list[tuple[object, ...]]:
    if not (HERE / "erp.db").exists():
        return []
    with sqlite3.connect(HERE / "erp.db") as db:
        try:
            return list(db.execute(sql))
        except sqlite3.OperationalError:
            return []  # the hub has not created the tables yet


def outbox(prefix: str) -> list[Path]:
    return sorted(p for p in (SFTP_ROOT / "outbox").glob(f"{prefix}*.x12") if not p.name.startswith("."))


async def main(keep: bool) -> int:
    for old in (SFTP_ROOT, STATE, HERE / ".interlace"):
        shutil.rmtree(old, ignore_errors=True)
    for old in HERE.glob("erp.db*"):
        old.unlink()
    STATE.mkdir()
    (HERE / ".interlace").mkdir()
    server, sftp_port = await start_sftp()
    port = free_port()
    env = {**os.environ, "SFTP_PORT": str(sftp_port), "PARTNER_SFTP_PASSWORD": PASSWORD}
    interlace = Path(sys.executable).with_name("interlace")
    log = (HERE / ".interlace" / "hub.log").open("wb")
    hub = subprocess.Popen(
        [str(interlace), "run", "hub.yaml", "--port", str(port), "--log-level", "warning"],
        cwd=HERE,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        print(f"b2b: SFTP server on 127.0.0.1:{sftp_port} ({SFTP_ROOT}), hub on 127.0.0.1:{port}")
        upload = SFTP_ROOT / "inbox" / ".po-1001.x12.part"
        upload.write_bytes((HERE / "globex-850.x12").read_bytes())
        upload.rename(SFTP_ROOT / "inbox" / "po-1001.x12")
        print("b2b: Globex dropped inbox/po-1001.x12 (two 850 purchase orders)")
        orders = await wait_for(
            "orders in the ERP",
            lambda: (
                len(rows("SELECT 1 FROM orders")) == 2
                and rows("SELECT po_number, partner, ship_to, line_count, total FROM orders ORDER BY po_number")
            ),
            hub,
        )
        for order in orders:  # type: ignore[attr-defined]
            print(f"b2b: ERP order row {order}")
        (ack,) = await wait_for("997 in the outbox", lambda: outbox("997-"), hub)  # type: ignore[misc]
        print(f"b2b: the 997 for Globex is outbox/{ack.name}:\n{ack.read_text()}")
        with sqlite3.connect(HERE / "erp.db") as db:
            db.execute(
                "INSERT INTO shipments (shipment_no, po_number, ship_date, ship_time, carrier, bill_of_lading,"
                " cartons, weight, invoice_no) VALUES"
                " ('SHIP-7001', 'PO-1001', '20240108', '1400', 'UPSN', 'BOL-88812', 2, 31.5, 'INV-9001')"
            )
        print("b2b: the warehouse shipped PO-1001 (a row in shipments)")
        (sent,) = await wait_for("856 and 810 in the outbox", lambda: outbox("asn-invoice-"), hub)  # type: ignore[misc]
        print(f"b2b: the ship notice and invoice for Globex are outbox/{sent.name}:\n{sent.read_text()}")
        if keep:
            print("b2b: running; Ctrl-C stops the hub and the SFTP server")
            await asyncio.Event().wait()
        return 0
    finally:
        hub.send_signal(signal.SIGTERM)
        try:
            hub.wait(timeout=20)
        except subprocess.TimeoutExpired:
            hub.kill()
        log.close()
        server.close()
        await server.wait_closed()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true", help="keep the hub and the SFTP server running")
    try:
        sys.exit(asyncio.run(main(parser.parse_args().keep)))
    except KeyboardInterrupt:
        sys.exit(130)
