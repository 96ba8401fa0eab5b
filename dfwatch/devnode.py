"""Fetch, start and stop a throwaway single-node Elasticsearch for tests and local dev.

The integ-test-zip distribution comes from Maven Central (via mvn) and is cached outside the
repo. Elasticsearch refuses to run as root, so as root the node runs as an unprivileged system
user ($DFWATCH_ES_USER, default dfwatch-es; created with `useradd --system` if missing).
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import ctypes
import fcntl
import http.client
import json
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_VERSION = "8.19.21"
DEBIAN_JDK17 = "/usr/lib/jvm/java-17-openjdk-amd64"
_ARTIFACT = "org.elasticsearch.distribution.integ-test-zip:elasticsearch:{}:zip"
_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never proxy loopback
_PRCTL = getattr(ctypes.CDLL(None), "prctl", None)  # looked up before any fork; Linux only
_HTTP_ERRORS = (OSError, ValueError, KeyError, StopIteration, http.client.HTTPException)


class NodeError(RuntimeError):
    """Fetching or starting the dev node failed; the message says what and why."""


def cache_dir() -> Path:
    env = os.environ.get("DFWATCH_CACHE_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "dfwatch"


def _unzip(archive: Path, dest: Path) -> None:
    """Extract and restore the Unix modes zipfile drops (directories last)."""
    with zipfile.ZipFile(archive) as zf:
        modes = [(Path(zf.extract(i, dest)), (i.external_attr >> 16) & 0o7777)
                 for i in zf.infolist()]
    for path, mode in sorted(modes, key=lambda pm: pm[0].is_dir()):
        if mode:
            path.chmod(mode)


def ensure_distribution(version: str | None = None) -> Path:
    """Return the unpacked ES home for *version*; fetches with mvn only if not cached."""
    ver = version or os.environ.get("DFWATCH_ES_VERSION") or DEFAULT_VERSION
    cache, artifact = cache_dir(), _ARTIFACT.format(ver)
    home = cache / f"elasticsearch-{ver}"
    if (home / "bin" / "elasticsearch").exists():
        return home
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".lock", "a") as lock:  # closing it releases the lock
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (home / "bin" / "elasticsearch").exists():  # a concurrent caller just finished
            return home
        cmd = ["mvn", "-q", "-B", "dependency:copy", f"-Dartifact={artifact}",
               f"-DoutputDirectory={cache / 'downloads'}"]
        try:
            res = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        except FileNotFoundError:
            raise NodeError(f"cannot fetch {artifact}: 'mvn' is not on PATH") from None
        archive = cache / "downloads" / f"elasticsearch-{ver}.zip"
        if res.returncode != 0 or not archive.is_file():
            tail = "\n".join((res.stdout + res.stderr).strip().splitlines()[-30:])
            raise NodeError(f"mvn could not fetch {artifact} (exit {res.returncode}):\n{tail}")
        tmp = Path(tempfile.mkdtemp(prefix=".unpack-", dir=cache))
        try:
            _unzip(archive, tmp)
            shutil.rmtree(home, ignore_errors=True)  # a leftover without bin/elasticsearch
            os.rename(tmp / home.name, home)
        except (OSError, zipfile.BadZipFile) as exc:
            raise NodeError(f"cannot unpack {archive} into {home}: {exc}") from exc
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        archive.unlink()  # ~/.m2 keeps a copy
    return home


def java_home() -> str:
    if env := os.environ.get("ES_JAVA_HOME"):
        return env
    if os.access(f"{DEBIAN_JDK17}/bin/java", os.X_OK):
        return DEBIAN_JDK17
    if java := shutil.which("java"):
        return str(Path(java).resolve().parent.parent)
    raise NodeError("no Java found: set ES_JAVA_HOME to a JDK 17+ (or install openjdk-17-jdk)")


def _service_user() -> pwd.struct_passwd | None:
    """None unless root; then the unprivileged account ES runs as (created if missing)."""
    if os.geteuid() != 0:
        return None
    name, err = os.environ.get("DFWATCH_ES_USER", "dfwatch-es"), "useradd not found"
    with contextlib.suppress(KeyError):
        return pwd.getpwnam(name)
    with contextlib.suppress(FileNotFoundError):
        err = subprocess.run(["useradd", "--system", "--user-group", "--no-create-home",
                              "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", name],
                             capture_output=True, text=True).stderr.strip()
    try:  # also right when a concurrent useradd won the race
        return pwd.getpwnam(name)
    except KeyError:
        raise NodeError(f"Elasticsearch cannot run as root and creating system user {name!r} "
                        f"failed ({err}); create it, or run as a non-root user") from None


def _prepare(home: Path, user: pwd.struct_passwd | None) -> tuple[Path, Path]:
    """Make the node's temp dir (config copy, data, logs, tmp); return (workdir, home to run)."""
    workdir = Path(tempfile.mkdtemp(prefix="dfwatch-es-"))
    try:
        run_home = home
        reachable = user is None or all(  # e.g. not when the cache is under /root (mode 0700)
            p.stat().st_mode & stat.S_IXOTH or p.stat().st_uid == user.pw_uid
            for p in (home, *home.parents))
        if not reachable:
            run_home = workdir / "home"  # hard links (copies across filesystems): fast
            shutil.copytree(home, run_home, copy_function=_link_or_copy)
        shutil.copytree(home / "config", workdir / "config")
        for sub in ("data", "logs", "tmp"):
            (workdir / sub).mkdir()
        if user is not None:  # never chown the hard-linked home: it would chown the cache
            os.chown(workdir, user.pw_uid, user.pw_gid)
            for sub in ("config", "data", "logs", "tmp"):
                for dirpath, _dirs, files in os.walk(workdir / sub):
                    for p in (dirpath, *(os.path.join(dirpath, f) for f in files)):
                        os.chown(p, user.pw_uid, user.pw_gid)
    except OSError as exc:
        shutil.rmtree(workdir, ignore_errors=True)
        raise NodeError(f"cannot prepare the node's directory {workdir}: {exc}") from exc
    return workdir, run_home


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _free_ports() -> tuple[int, int]:
    with socket.socket() as a, socket.socket() as b:
        a.bind(("127.0.0.1", 0))
        b.bind(("127.0.0.1", 0))
        return a.getsockname()[1], b.getsockname()[1]


def _get_json(url: str, timeout: float = 10.0) -> Any:
    with _HTTP.open(url, timeout=timeout) as resp:
        return json.load(resp)


def _group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes in process group *pgid*, from /proc."""
    pids = []
    for entry in filter(lambda e: e.name.isdigit(), os.scandir("/proc")):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                pids.append(int(entry.name))
    return pids


def _terminate(proc: subprocess.Popen[bytes], timeout: float) -> None:
    """SIGTERM the whole process group, SIGKILL whatever is left after *timeout*."""
    for sig, limit in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        deadline = time.monotonic() + limit
        while proc.poll() is None or _group_members(proc.pid):  # poll() reaps the leader
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)
        else:
            return


@dataclass
class RunningNode:
    url: str
    pid: int
    home: Path
    workdir: Path
    startup_seconds: float
    version: str
    _proc: subprocess.Popen[bytes] = field(repr=False, compare=False)

    def alive(self) -> bool:
        return self._proc.poll() is None

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the node's whole process group and delete its workdir. Idempotent."""
        atexit.unregister(self.stop)
        _terminate(self._proc, timeout)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> RunningNode:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start(version: str | None = None, heap: str = "1g", timeout: float = 180.0,
          java: str | None = None) -> RunningNode:
    """Start a fresh node on free 127.0.0.1 ports and wait for yellow health."""
    jhome = java or java_home()
    if not os.access(Path(jhome, "bin", "java"), os.X_OK):
        raise NodeError(f"Java home {jhome!r} has no executable bin/java; set ES_JAVA_HOME")
    home, user = ensure_distribution(version), _service_user()
    workdir, run_home = _prepare(home, user)
    http_port, transport_port = _free_ports()
    settings = {
        "discovery.type": "single-node", "xpack.security.enabled": "false",
        "network.host": "127.0.0.1", "http.port": http_port, "transport.port": transport_port,
        "path.data": workdir / "data", "path.logs": workdir / "logs",
        "cluster.name": "dfwatch-dev", "cluster.routing.allocation.disk.threshold_enabled": "false",
    }
    cmd = [str(run_home / "bin" / "elasticsearch"), *(f"-E{k}={v}" for k, v in settings.items())]
    env = {**os.environ, "ES_JAVA_HOME": jhome, "ES_PATH_CONF": str(workdir / "config"),
           "ES_JAVA_OPTS": f"-Xms{heap} -Xmx{heap}", "ES_TMPDIR": str(workdir / "tmp"),
           "HOME": str(workdir)}
    env.pop("JAVA_HOME", None)  # ES ignores it with a warning
    kw: dict[str, Any] = {} if user is None else {
        "user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
    # preexec_fn runs after the uid switch (which resets it): PR_SET_PDEATHSIG SIGTERMs the
    # launcher if we die. It fires when the *thread* that forked exits, so main thread only.
    if threading.current_thread() is threading.main_thread() and _PRCTL is not None:
        kw["preexec_fn"] = lambda: _PRCTL(1, signal.SIGTERM)
    log, t0 = workdir / "logs" / "console.log", time.monotonic()
    try:
        with open(log, "ab") as out:
            proc = subprocess.Popen(cmd, cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True, **kw)
    except OSError as exc:
        shutil.rmtree(workdir, ignore_errors=True)
        raise NodeError(f"cannot launch {cmd[0]}: {exc}") from exc
    node = RunningNode(f"http://127.0.0.1:{http_port}", proc.pid, home, workdir, 0.0, "", proc)
    atexit.register(node.stop)
    problem = ""
    try:
        while not problem:
            if proc.poll() is not None:
                problem = f"exited with code {proc.returncode} during startup"
            elif time.monotonic() - t0 > timeout:
                problem = f"was not healthy after {timeout:.0f}s"
            else:
                with contextlib.suppress(*_HTTP_ERRORS):
                    health = _get_json(f"{node.url}/_cluster/health?wait_for_status=yellow"
                                       "&timeout=1s")
                    if health["status"] in ("yellow", "green"):
                        node.startup_seconds = time.monotonic() - t0
                        # GET / (client.info(), HEAD / ping()) lives in the rest-root module, which
                        # this distribution lacks (405): read the version from node info instead.
                        nodes = _get_json(f"{node.url}/_nodes/_local/http")["nodes"]
                        node.version = next(iter(nodes.values()))["version"]
                        return node
                time.sleep(0.25)
        _terminate(proc, 10.0)
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
    finally:
        if problem or not node.version:  # failed, timed out, or interrupted (e.g. Ctrl-C)
            node.stop(10.0)
    raise NodeError(f"Elasticsearch ({run_home}, java {jhome}) {problem}; last log lines:\n{tail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dfwatch.devnode", description=__doc__)
    parser.add_argument("--es-version", help=f"default: $DFWATCH_ES_VERSION or {DEFAULT_VERSION}")
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("fetch", help="download + unpack the distribution, print its home")
    run = sub.add_parser("start", help="run a dev node until Ctrl-C / SIGTERM")
    run.add_argument("--heap", default="1g")
    run.add_argument("--timeout", type=float, default=180.0)
    args = parser.parse_args(argv)
    try:
        if args.cmd == "fetch":
            print(ensure_distribution(args.es_version))
            return 0
        node = start(args.es_version, heap=args.heap, timeout=args.timeout)
    except NodeError as exc:
        print(f"devnode: {exc}", file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"Elasticsearch {node.version} at {node.url} (pid {node.pid}), "
          f"started in {node.startup_seconds:.1f}s; Ctrl-C to stop", flush=True)
    try:
        while node.alive():
            time.sleep(0.5)
        log = (node.workdir / "logs" / "console.log").read_text(errors="replace")
        print("devnode: the node exited:", *log.splitlines()[-40:], sep="\n", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        node.stop()


if __name__ == "__main__":
    sys.exit(main())
