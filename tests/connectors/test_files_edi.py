"""The files connector with the `x12` format: a partner's file is read set by set from a local or
an SFTP folder (its 997 coming out after the sets), and records are written as X12 files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from connectors.test_files_sftp import ListIngress, settings, sftp_server  # noqa: F401 - the fixture
from interlace.connectors.files import FilesConnector, FilesSettings, FilesSinkOptions, FilesSourceOptions
from interlace.connectors.files.source import FolderSource
from interlace.message import Message

SAMPLES = Path(__file__).parents[1] / "formats" / "x12" / "samples"
X12: dict[str, Any] = {
    "type": "x12",
    "us": {"id": "ACMEDIST"},
    "partners": {"globex": {"id": "GLOBEX", "delimiters": {"segment": "~", "newline": True}}},
}


async def _read(connector: FilesConnector) -> list[Any]:
    source = connector.source("f", FilesSourceOptions(pattern="*.x12"))
    assert isinstance(source, FolderSource)
    ingress = ListIngress()
    await connector.probe()
    try:
        assert await source.poll(ingress) == 0
        assert await source.poll(ingress) == 1
    finally:
        await connector.close()
    return [item.body for item in ingress.items]


async def test_a_local_folder_reads_each_set_then_the_997(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "po.x12").write_bytes((SAMPLES / "850.x12").read_bytes())
    connector = FilesConnector("partner", FilesSettings.model_validate({"path": tmp_path / "in", "format": X12}))
    bodies = await _read(connector)
    assert [(b["kind"], b["set"]) for b in bodies] == [
        ("document", "850"),
        ("document", "850"),
        ("acknowledgement", "997"),
    ]
    assert bodies[0]["document"]["BEG"]["BEG03"] == "PO-1001"
    assert (tmp_path / "in" / "archive" / "po.x12").exists()


async def test_a_rejected_set_goes_to_error_with_its_reason(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    bad = (SAMPLES / "850.x12").read_text().replace("SE*5*0002~", "SE*9*0002~")
    (tmp_path / "in" / "po.x12").write_text(bad)
    connector = FilesConnector("partner", FilesSettings.model_validate({"path": tmp_path / "in", "format": X12}))
    bodies = await _read(connector)
    assert [b["kind"] for b in bodies] == ["document", "acknowledgement"]
    assert bodies[1]["document"]["AK9"]["AK901"] == "P"
    report = json.loads((tmp_path / "in" / "error" / "po.x12.report.json").read_text())
    assert report["records"][0]["record"] == 2
    assert (
        "set 0002 (850)" in report["records"][0]["message"]
        and "SE01 says 9 segments" in report["records"][0]["message"]
    )


async def test_an_sftp_folder_reads_and_the_sink_writes_x12_there(sftp_server: tuple[Path, int, Path]) -> None:  # noqa: F811
    root, port, known = sftp_server
    (root / "outbox" / "po.x12").write_bytes((SAMPLES / "multi.x12").read_bytes())
    bodies = await _read(FilesConnector("partner", settings(port, known, X12)))
    assert [b["set"] for b in bodies] == ["850", "850", "997", "850", "997"]
    connector = FilesConnector("partner", settings(port, known, X12))
    sink = connector.sink(FilesSinkOptions(name="997-{message_id}{ext}"))
    try:
        result = await sink.deliver(Message(id="a1", flow="acks", body=bodies[2]), "d1")
    finally:
        await connector.close()
    assert result == {"file": "997-a1.x12", "records": 1}
    written = (root / "outbox" / "997-a1.x12").read_text()
    assert written.startswith("ISA*00*          *00*          *ZZ*ACMEDIST       *ZZ*GLOBEX         *")
    assert "\nAK1*PO*101~\nAK2*850*0001~\nAK5*A~\n" in written and written.endswith("IEA*1*000000001~\n")
