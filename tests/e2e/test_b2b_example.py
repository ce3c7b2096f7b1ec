"""The B2B example runs as docs/edi.md says: Globex's 850 over SFTP becomes ERP order rows and a
997 back, and a shipment row becomes an 856 and an 810 in Globex's outbox."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from interlace.formats import codec_for, parse_format

EXAMPLE = Path(__file__).parents[2] / "examples" / "b2b"


def test_the_b2b_example_runs_end_to_end() -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLE / "run.py")], capture_output=True, text=True, timeout=240, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ERP order row ('PO-1001', 'globex', 'Globex Store 12', 2, 245)" in done.stdout
    outbox = EXAMPLE / ".sftp" / "outbox"
    codec = codec_for(parse_format({"type": "x12", "partners": {"acme": {"id": "ACMEDIST"}}}))
    sent = {}
    for path in sorted(outbox.glob("*.x12")):
        with path.open("rb") as stream:
            for record in codec.read(stream, name=path.name):
                assert record.error is None, record.error
                assert record.value is not None
                if record.value["kind"] == "document":
                    sent[record.value["set"]] = record.value["document"]
    assert sorted(sent) == ["810", "856", "997"]
    assert sent["997"]["AK9"] == {"AK901": "A", "AK902": "2", "AK903": "2", "AK904": "2"}
    items = sent["856"]["HL_loop"][0]["HL_loop"][0]["HL_loop"]
    assert [(i["LIN"]["LIN03"], i["SN1"]["SN102"]) for i in items] == [("WIDGET-A", "10"), ("GADGET-B", "3")]
    assert sent["810"]["TDS"] == {"TDS01": "24500"} and sent["810"]["BIG"]["BIG02"] == "INV-9001"


def test_the_b2b_flows_pass_their_own_tests() -> None:
    env = {**os.environ, "SFTP_PORT": "22", "PARTNER_SFTP_PASSWORD": "unused"}
    interlace = Path(sys.executable).with_name("interlace")
    done = subprocess.run(
        [str(interlace), "test", str(EXAMPLE / "hub.yaml")], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "6 test(s), 0 failed" in done.stdout
