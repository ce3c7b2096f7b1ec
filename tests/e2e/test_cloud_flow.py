"""docs/cloud.md's walk-through, run with the real `interlace` command: `interlace oauth login`
(the authorization code grant, a person saying yes), then `interlace run` reading new CSV objects
from a bucket (moto's S3 server), mapping each row and POSTing it to an OAuth2-protected,
rate-limited API (an authlib authorization server), each order once."""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from cloud_support import ACCESS_KEY, CLIENT_SECRET, SECRET_KEY, boto, new_bucket, s3_server, saas_server
from support import BIN, HubProcess, free_port, interlace

DOC = Path(__file__).resolve().parents[2] / "docs" / "cloud.md"


def walk_through() -> str:
    section = DOC.read_text().split("## Walk-through", 1)[1].split("\n## ", 1)[0]
    found = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert found is not None
    return found.group(1)


def wait_for(what: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_new_objects_in_a_bucket_reach_an_oauth2_api_once(tmp_path: Path) -> None:
    login_port = free_port()
    with s3_server() as endpoint, saas_server(redirect_uri=f"http://127.0.0.1:{login_port}/callback") as (saas, url):
        s3 = boto(endpoint)
        bucket = new_bucket(s3)
        env = {
            "LAKE_BUCKET": bucket, "LAKE_ENDPOINT": endpoint, "LAKE_KEY_ID": ACCESS_KEY, "LAKE_SECRET": SECRET_KEY,
            "CRM_URL": url, "CRM_CLIENT_SECRET": CLIENT_SECRET, "CRM_TOKEN_KEY": "a-long-random-token-key-0123",
            "LOGIN_PORT": str(login_port),
        }  # fmt: skip
        config = tmp_path / "hub.yaml"
        config.write_text(walk_through())
        os.environ.update(env)  # the hub processes inherit them
        try:
            checked = interlace("check", str(config), cwd=tmp_path)
            assert checked.returncode == 0, checked.stdout + checked.stderr

            login = subprocess.Popen([str(BIN / "interlace"), "oauth", "login", str(config), "crm"], cwd=tmp_path,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
            assert login.stdout is not None
            authorize = login.stdout.readline().strip()
            assert authorize.startswith(f"{url}/authorize?"), authorize
            answer = httpx.get(authorize, timeout=30)  # the person says yes...
            assert answer.status_code == 302
            assert httpx.get(answer.headers["location"], timeout=30).status_code == 200  # ...and is sent back
            assert login.wait(60) == 0, login.stderr.read() if login.stderr else ""
            assert saas.token_requests == ["authorization_code"]

            s3.put_object(Bucket=bucket, Key="orders/0001.csv", Body=b"id,email,total\nA1,Ann@Example.test,10.50\n"
                          b"A2,bob@example.test,3\n")  # fmt: skip
            s3.put_object(Bucket=bucket, Key="returns/0001.csv", Body=b"id,email,total\nR1,x@example.test,1\n")
            hub = HubProcess(config, free_port(), log=tmp_path / "hub.log")
            hub.start()
            try:
                s3.put_object(Bucket=bucket, Key="orders/0002.csv", Body=b"id,email,total\nA3,cy@example.test,7.25\n")
                wait_for(lambda: len(saas.orders) == 3)
                time.sleep(1.5)  # another poll or two: nothing is read twice
            finally:
                hub.stop()
        finally:
            for name in env:
                os.environ.pop(name, None)
        bodies = sorted(saas.orders.values(), key=lambda o: o["order_no"])
        assert bodies == [
            {"order_no": "A1", "email": "ann@example.test", "total": 10.5},
            {"order_no": "A2", "email": "bob@example.test", "total": 3},
            {"order_no": "A3", "email": "cy@example.test", "total": 7.25},
        ]
        posts = [c for c in saas.api_calls if c[1] == "/api/orders"]
        assert len(posts) == 3  # each order POSTed once, none refused
        assert saas.token_requests == ["authorization_code"]  # the token `oauth login` stored, from the store
