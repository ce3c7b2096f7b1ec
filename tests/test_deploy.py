"""What docs/deploy.md ships, checked without a cluster or a registry: the Kubernetes manifests
against the API's schemas (kubernetes-validate, whose schemas come inside the package: checked
here with the network shut), the hub config they carry against Interlace's own loader, the
commands they and the systemd units run against the real CLI, and the Dockerfile by parsing it
and building what its build stage builds (the wheel) from exactly the files it copies."""

from __future__ import annotations

import configparser
import os
import shlex
import shutil
import socket
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from support import ROOT, interlace

DEPLOY = ROOT / "deploy"
MANIFESTS = sorted((DEPLOY / "kubernetes").glob("*.yaml"))
KUBERNETES = "1.30.0"
"""The oldest Kubernetes the manifests are written for (strict: an unknown field is an error)."""


def resources() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in MANIFESTS:
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                found.append((f"{path.name}:{doc['kind']}/{doc['metadata']['name']}", doc))
    return found


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No connection leaves this process: a validator that fetched a schema would fail here."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("the network is shut for this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.mark.parametrize("name,resource", resources(), ids=[n for n, _ in resources()])
def test_each_manifest_is_valid_kubernetes(name: str, resource: dict[str, Any], offline: None) -> None:
    import kubernetes_validate

    try:
        kubernetes_validate.validate(resource, KUBERNETES, strict=True)
    except kubernetes_validate.ValidationError as exc:
        pytest.fail(f"{name}: {exc.message} at {'/'.join(map(str, exc.path))}")


def test_the_manifests_hold_what_the_roles_need() -> None:
    found = dict(resources())
    kinds = sorted(n.split(":", 1)[1] for n in found)
    assert kinds == [
        "ConfigMap/interlace-config",
        "Deployment/interlace-serve",
        "Deployment/interlace-worker",
        "HorizontalPodAutoscaler/interlace-worker",
        "PodDisruptionBudget/interlace-serve",
        "Secret/interlace-secrets",
        "Service/interlace",
    ]
    serve = found["serve.yaml:Deployment/interlace-serve"]["spec"]["template"]["spec"]["containers"][0]
    worker = found["worker.yaml:Deployment/interlace-worker"]["spec"]["template"]["spec"]["containers"][0]
    assert serve["args"][0] == "serve" and worker["args"][0] == "worker"
    assert "--port" in worker["args"], "the worker serves /health for its probe"
    for container in (serve, worker):
        assert container["args"][1] == "/etc/interlace/hub.yaml"
        assert container["volumeMounts"][0]["mountPath"] == "/etc/interlace"


def test_the_config_they_carry_is_a_valid_hub_config(tmp_path: Path) -> None:
    [config_map] = [r for n, r in resources() if n.startswith("configmap.yaml:")]
    (tmp_path / "hub.yaml").write_text(config_map["data"]["hub.yaml"])
    env = {"INTERLACE_STORE": "postgresql://127.0.0.1:5432/test?schema=deploy", "ERP_DSN": "postgresql://x@db/erp"}
    result = interlace("validate", str(tmp_path / "hub.yaml"), env=env)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_commands_they_run_exist() -> None:
    commands = [r["spec"]["template"]["spec"]["containers"][0]["args"] for n, r in resources() if ":Deployment/" in n]
    for unit in (DEPLOY / "systemd").glob("*.service"):
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        parser.read_string(unit.read_text())
        for key in ("ExecStart", "ExecReload"):
            if parser.has_option("Service", key):
                argv = shlex.split(parser.get("Service", key))
                assert argv[0] == "/opt/interlace/bin/interlace", unit.name
                commands.append(argv[1:])
    options: dict[str, set[str]] = {}
    for argv in commands:
        options.setdefault(argv[0], set()).update(a for a in argv if a.startswith("--"))
    assert set(options) == {"serve", "worker", "reload"}
    for command, used in options.items():
        usage = interlace(command, "--help", env={"COLUMNS": "200"})
        assert usage.returncode == 0, usage.stderr
        for option in used:
            assert option in usage.stdout, f"interlace {command} has no {option}"


def test_the_dockerfile_and_what_its_build_stage_builds(tmp_path: Path) -> None:
    from dockerfile_parse import DockerfileParser

    parsed = DockerfileParser(path=str(ROOT / "Dockerfile"))
    steps = parsed.structure
    images = [s["value"].split()[0] for s in steps if s["instruction"] == "FROM"]
    assert len(images) == 2 and all(":" in i and not i.endswith(":latest") for i in images), images
    final = steps[max(i for i, s in enumerate(steps) if s["instruction"] == "FROM") :]
    user = [s["value"] for s in final if s["instruction"] == "USER"]
    assert user and user[-1] not in ("root", "0"), "the hub runs as an unprivileged user"
    assert [s["value"] for s in final if s["instruction"] == "ENTRYPOINT"] == ['["interlace"]']
    assert [s["value"] for s in final if s["instruction"] == "EXPOSE"] == ["8080"]
    # the build stage, run here: its COPY lines into a folder of their own, then its wheel build
    context = tmp_path / "context"
    context.mkdir()
    for step in steps:
        if step["instruction"] == "COPY" and "--from" not in step["value"]:
            *sources, _target = step["value"].split()
            for source in sources:
                path = ROOT / source
                assert path.exists(), f"the Dockerfile copies {source}, which is not in the repository"
                if path.is_dir():
                    shutil.copytree(path, context / source, ignore=shutil.ignore_patterns("__pycache__"))
                else:
                    shutil.copy(path, context / source)
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
         "--wheel-dir", str(tmp_path / "wheels"), str(context)],
        capture_output=True, text=True, timeout=300, env={**os.environ, "PIP_NO_CACHE_DIR": "1"},
    )  # fmt: skip
    assert build.returncode == 0, build.stdout + build.stderr
    [wheel] = (tmp_path / "wheels").glob("interlace-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        assert {"interlace/hub.py", "interlace/backends/postgresql.py", "interlace/py.typed"} <= names
        [entry_points] = [n for n in names if n.endswith("entry_points.txt")]
        assert "interlace = interlace.cli.main:main" in archive.read(entry_points).decode()
