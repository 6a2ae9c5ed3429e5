"""`pip install ./client` in a fresh virtual environment (no system site-packages) brings
only httpx and numpy, and the README's quick-start runs there against a service started
in another process."""

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import venv
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_readme_quick_start_in_a_fresh_venv(tmp_path):
    port = free_port()
    service = subprocess.Popen([sys.executable, "-m", "service", "--port", str(port)], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        venv.create(tmp_path / "venv", with_pip=True)
        python = tmp_path / "venv" / "bin" / "python"
        source = shutil.copytree(ROOT / "client", tmp_path / "client",
                                 ignore=shutil.ignore_patterns("*.egg-info", "build", "__pycache__"))
        subprocess.run([python, "-m", "pip", "install", "--quiet", str(source)], check=True,
                       timeout=600)
        installed = subprocess.run([python, "-m", "pip", "list", "--format=freeze"], check=True,
                                   capture_output=True, text=True).stdout
        names = {line.split("==")[0].lower() for line in installed.split()}
        assert {"gradserve", "httpx", "numpy"} <= names
        assert not names & {"tensorflow", "fastapi", "pydantic", "uvicorn", "numba"}
        typed = "import importlib.resources as r; print(r.files('gradserve').joinpath('py.typed').is_file())"
        assert subprocess.run([python, "-c", typed], capture_output=True, text=True, cwd=tmp_path,
                              check=True).stdout.strip() == "True"

        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/v1/health/ready").status_code == 200:
                    break
            except httpx.TransportError:
                assert time.monotonic() < deadline and service.poll() is None, "no service"
                time.sleep(0.2)

        readme = (ROOT / "client" / "README.md").read_text()
        quick_start = re.search(r"## Quick start.*?```python\n(.*?)```", readme, re.DOTALL).group(1)
        result = subprocess.run([python, "-c", quick_start], capture_output=True, text=True,
                                cwd=tmp_path, timeout=120, check=False,
                                env={**os.environ, "GRADSERVE_BASE_URL": url, "PYTHONPATH": ""})
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == ["36.0", "[12.", "12.", "12.]"]
    finally:
        service.terminate()
        service.wait(30)
