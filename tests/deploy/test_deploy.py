"""The deployment files: docker-compose.yml against the Compose Specification's JSON schema
(vendored: tests/deploy/compose-spec.json, Apache-2.0, as the check-jsonschema package on
PyPI ships it), the Dockerfile's shape, and deploy/nginx.conf checked and run by nginx
where nginx is installed (its upstream pointed at 127.0.0.1)."""

import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import jsonschema
import pytest
import yaml

from tests.service_thread import serving

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
NGINX = shutil.which("nginx") or next(
    (path for path in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(path).exists()), None)
needs_nginx = pytest.mark.skipif(NGINX is None, reason="nginx is not installed")


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_file_follows_the_compose_specification():
    schema = json.loads((HERE / "compose-spec.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(compose())


def test_compose_scales_the_service_behind_nginx_with_health_checks():
    services = compose()["services"]
    service = services["gradserve"]
    assert "ports" not in service and "container_name" not in service  # --scale works
    assert "/v1/health/ready" in " ".join(service["healthcheck"]["test"])
    nginx = services["nginx"]
    assert nginx["depends_on"]["gradserve"]["condition"] == "service_healthy"
    assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in nginx["volumes"]
    assert "/v1/health/ready" in " ".join(nginx["healthcheck"]["test"])
    assert services["prometheus"]["profiles"] == ["monitoring"]
    for volume in nginx["volumes"] + services["prometheus"]["volumes"]:
        assert (ROOT / volume.split(":")[0]).is_file(), volume


def test_prometheus_scrapes_every_replica():
    config = yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text())
    [job] = config["scrape_configs"]
    assert job["dns_sd_configs"] == [{"names": ["gradserve"], "type": "A", "port": 8000}]


def test_the_image_is_multi_stage_slim_non_root_warmed_and_health_checked():
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines()]
    stages = [i for i, line in enumerate(lines) if line.startswith("FROM ")]
    assert len(stages) >= 2 and all("slim" in lines[i] for i in stages)
    final = lines[stages[-1]:]
    users = [line.split()[1] for line in final if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    assert "RUN python -m service.warmup" in final
    assert final.index("RUN python -m service.warmup") > final.index(f"USER {users[-1]}")
    [healthcheck] = [i for i, line in enumerate(final) if line.startswith("HEALTHCHECK")]
    assert "/v1/health/ready" in final[healthcheck + 1]


def local_nginx_config(tmp_path: Path, upstream_port: int, listen_port: int) -> Path:
    text = (ROOT / "deploy" / "nginx.conf").read_text()
    assert "server gradserve:8000" in text and "listen 8080;" in text
    text = text.replace("server gradserve:8000", f"server 127.0.0.1:{upstream_port}")
    text = text.replace("listen 8080;", f"listen 127.0.0.1:{listen_port};")
    text = text.replace("/tmp/", f"{tmp_path}/")  # pid and temporary files
    path = tmp_path / "nginx.conf"
    path.write_text(text)
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@needs_nginx
def test_nginx_accepts_the_configuration(tmp_path):
    config = local_nginx_config(tmp_path, free_port(), free_port())
    result = subprocess.run([NGINX, "-t", "-c", str(config), "-p", str(tmp_path), "-e", "stderr"],
                            check=False, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr


@pytest.fixture
def gradserve_port() -> Iterator[int]:
    with serving() as port:
        yield port


def run_nginx(tmp_path: Path, upstream_port: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    config = local_nginx_config(tmp_path, upstream_port, port)
    process = subprocess.Popen([NGINX, "-c", str(config), "-p", str(tmp_path), "-e", "stderr",
                                "-g", "daemon off;"], stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url, timeout=1)
            return process, url
        except httpx.TransportError:
            assert time.monotonic() < deadline and process.poll() is None, "nginx did not start"
            time.sleep(0.05)


@needs_nginx
def test_nginx_proxies_keeps_request_ids_and_answers_its_errors_as_problems(
        tmp_path, gradserve_port):
    process, url = run_nginx(tmp_path, gradserve_port)
    try:
        health = httpx.get(url + "/v1/health/ready", headers={"X-Request-ID": "lb-1"})
        assert health.json() == {"status": "ok"} and health.headers["X-Request-ID"] == "lb-1"
        assert httpx.get(url + "/metrics").status_code == 404
    finally:
        process.terminate()
        process.wait(10)
    down_dir = tmp_path / "down"
    down_dir.mkdir()
    process, url = run_nginx(down_dir, free_port())  # nothing listens upstream
    try:
        unavailable = httpx.get(url + "/v1/ops")
        assert unavailable.status_code == 503 and unavailable.headers["Retry-After"] == "1"
        assert unavailable.headers["content-type"] == "application/problem+json"
        assert unavailable.json()["status"] == 503
    finally:
        process.terminate()
        process.wait(10)
