"""dfwatch.devnode against a real Elasticsearch node (no mocks): one node start per module."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from dfwatch import devnode

pytestmark = pytest.mark.elasticsearch
ROOT = Path(__file__).resolve().parents[1]
_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))
# 127.0.0.1 and ::ffff:127.0.0.1 as /proc/net/tcp{,6} spell them
LOOPBACK = {"0100007F", "0000000000000000FFFF00000100007F"}


@pytest.fixture(scope="module")
def node() -> Iterator[devnode.RunningNode]:
    running = devnode.start()
    print(f"\ndev node {running.version} at {running.url}, "
          f"started in {running.startup_seconds:.1f}s")
    yield running
    running.stop()


def _get(url: str) -> Any:
    with _HTTP.open(url, timeout=30) as resp:
        return json.load(resp)


def _listen_addresses(port: int) -> set[str]:
    """Hex local addresses of LISTEN sockets on *port*, straight from the kernel."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            addr, hexport = local.split(":")
            if state == "0A" and int(hexport, 16) == port:
                found.add(addr)
    return found


def _live_group_members(pgid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                pids.append(int(entry.name))
    return pids


def _fake_tool(directory: Path, name: str, script: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_text("#!/bin/sh\n" + script)
    (directory / name).chmod(0o755)


def test_node_is_real_current_and_loopback_only(node: devnode.RunningNode) -> None:
    assert node.version.startswith("8.19."), node.version
    assert node.url.startswith("http://127.0.0.1:")
    (info,) = _get(f"{node.url}/_nodes/_local/http,transport")["nodes"].values()
    assert info["version"] == node.version
    for section in ("http", "transport"):
        bound = info[section]["bound_address"]
        assert bound and all(a.startswith("127.0.0.1:") for a in bound), bound
        port = int(info[section]["publish_address"].rsplit(":", 1)[1])
        listening = _listen_addresses(port)
        assert listening and listening <= LOOPBACK, (section, listening)
    assert _get(f"{node.url}/_cluster/health")["cluster_name"] == "dfwatch-dev"
    # This distribution has no rest-root module: GET / (client.info(), ping()) is not served.
    with pytest.raises(urllib.error.HTTPError) as excinfo:
        _get(node.url + "/")
    assert excinfo.value.code == 405
    if os.geteuid() == 0:  # ES refuses root: it must run as the unprivileged service user
        status = Path(f"/proc/{node.pid}/status").read_text()
        uid = int(next(ln for ln in status.splitlines() if ln.startswith("Uid:")).split()[1])
        assert uid == pwd.getpwnam(os.environ.get("DFWATCH_ES_USER", "dfwatch-es")).pw_uid


def test_index_and_search_with_python_client(node: devnode.RunningNode) -> None:
    es = Elasticsearch(node.url, request_timeout=30)
    try:
        es.indices.create(index="devnode-smoke",
                          settings={"number_of_shards": 1, "number_of_replicas": 0})
        es.index(index="devnode-smoke", id="1", refresh=True,
                 document={"title": "Police publish deepfake crime figures", "count": 42})
        res = es.search(index="devnode-smoke", query={"match": {"title": "figures"}})
        assert res["hits"]["total"]["value"] == 1
        assert res["hits"]["hits"][0]["_source"]["count"] == 42
        assert es.cluster.health(index="devnode-smoke")["status"] == "green"
    finally:
        es.options(ignore_status=404).indices.delete(index="devnode-smoke")
        es.close()


def test_ensure_distribution_is_cached_and_skips_mvn(
    node: devnode.RunningNode, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = devnode.ensure_distribution()
    assert home == node.home and home.is_relative_to(devnode.cache_dir())
    mtime = (home / "bin" / "elasticsearch").stat().st_mtime_ns
    _fake_tool(tmp_path / "bin", "mvn", f"touch {tmp_path}/mvn-called\nexit 1\n")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    assert devnode.ensure_distribution() == home
    assert not (tmp_path / "mvn-called").exists(), "mvn ran although the distribution was cached"
    assert (home / "bin" / "elasticsearch").stat().st_mtime_ns == mtime
    out = subprocess.run([sys.executable, "-m", "dfwatch.devnode", "fetch"], capture_output=True,
                         text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0 and out.stdout.strip() == str(home), out.stderr


def test_fresh_fetch_runs_mvn_once_for_concurrent_callers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_mvn = shutil.which("mvn")
    assert real_mvn, "mvn must be installed"
    _fake_tool(tmp_path / "bin", "mvn", f'echo x >> {tmp_path}/mvn-calls\nexec {real_mvn} "$@"\n')
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    monkeypatch.setenv("DFWATCH_CACHE_DIR", str(tmp_path / "cache"))
    version = os.environ.get("DFWATCH_ES_VERSION", devnode.DEFAULT_VERSION)
    with ThreadPoolExecutor(2) as pool:
        homes = list(pool.map(lambda _: devnode.ensure_distribution(), range(2)))
    home = tmp_path / "cache" / f"elasticsearch-{version}"
    assert homes == [home, home]
    assert (tmp_path / "mvn-calls").read_text() == "x\n"
    for tool in ("elasticsearch", "elasticsearch-cli", "elasticsearch-env"):
        assert os.access(home / "bin" / tool, os.X_OK), f"{tool} lost its executable bit"
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == [
        ".lock", "downloads", home.name]  # no half-unpacked temp dirs, zip removed


def test_mvn_failure_is_a_readable_node_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_tool(tmp_path / "bin", "mvn", "echo '[ERROR] Could not resolve (fake)' >&2\nexit 1\n")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    monkeypatch.setenv("DFWATCH_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(devnode.NodeError) as excinfo:
        devnode.ensure_distribution("8.19.21")
    message = str(excinfo.value)
    assert "mvn could not fetch" in message and "elasticsearch:8.19.21:zip" in message
    assert "[ERROR] Could not resolve (fake)" in message


def test_bad_java_home_gives_readable_node_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ES_JAVA_HOME", "/nonexistent/jdk")
    with pytest.raises(devnode.NodeError, match=r"'/nonexistent/jdk' has no executable bin/java"):
        devnode.start()
    # A java that exists but cannot start: the error carries the node's log tail.
    fake_jdk = Path(tempfile.mkdtemp(prefix="dfwatch-fakejdk-"))  # not tmp_path: 0700 parents
    try:
        fake_jdk.chmod(0o755)
        _fake_tool(fake_jdk / "bin", "java", "echo 'fake-jdk: cannot start the JVM' >&2\nexit 3\n")
        before = set(Path(tempfile.gettempdir()).glob("dfwatch-es-*"))
        with pytest.raises(devnode.NodeError) as excinfo:
            devnode.start(java=str(fake_jdk), timeout=60)
        message = str(excinfo.value)
        assert "exited with code" in message and "fake-jdk: cannot start the JVM" in message
        assert set(Path(tempfile.gettempdir()).glob("dfwatch-es-*")) <= before  # cleaned up
    finally:
        shutil.rmtree(fake_jdk)


def test_stop_leaves_no_process_and_no_workdir(node: devnode.RunningNode) -> None:
    """Runs last in this module: it stops the shared node (fixture teardown re-stops: no-op)."""
    members = _live_group_members(node.pid)
    assert node.pid in members and len(members) >= 2, members  # launcher JVM + server JVM
    http_port = int(node.url.rsplit(":", 1)[1])
    with node:  # context-manager exit == stop()
        pass
    assert _live_group_members(node.pid) == []
    assert not node.alive() and not node.workdir.exists()
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", http_port)):
        pass
    node.stop()  # idempotent
