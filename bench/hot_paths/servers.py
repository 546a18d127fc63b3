"""The servers under test, each a process of its own on the loopback: the service as production runs it
(`spojnia serve`, uvicorn), the raw-asyncpg baseline under the same uvicorn settings, and PostGraphile 4."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.hot_paths.keys import CACHE, KeyDir

REPO = Path(__file__).resolve().parents[2]
NODE_DIR = CACHE / "node"
POSTGRAPHILE = NODE_DIR / "node_modules" / ".bin" / "postgraphile"


@dataclass(slots=True)
class Memory:
    pid: int
    role: str
    rss_mb: float
    peak_mb: float


@dataclass(slots=True)
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    workers: int
    ready_path: str = "/health/ready"
    memory: list[Memory] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}; see {self.log}")
            if self._answers() and self._all_workers_up():
                return
            time.sleep(0.3)
        raise RuntimeError(f"{self.name} did not become ready in {timeout:.0f} s; see {self.log}")

    def _answers(self) -> bool:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
        try:
            if self.ready_path == "/graphql":
                body = b'{"query":"{__typename}"}'
                connection.request("POST", "/graphql", body=body, headers={"Content-Type": "application/json"})
            else:
                connection.request("GET", self.ready_path)
            return connection.getresponse().status == 200
        except (OSError, http.client.HTTPException):
            return False
        finally:
            connection.close()

    def _all_workers_up(self) -> bool:
        return self.workers == 1 or len(self.worker_pids()) >= self.workers

    def worker_pids(self) -> list[int]:
        """The processes that serve requests: the server itself alone, or the children of a supervisor."""
        if self.workers == 1:
            return [self.process.pid]
        return [pid for pid in descendants(self.process.pid) if _is_worker(pid)]

    def measure_memory(self) -> list[Memory]:
        self.memory = [Memory(pid, "worker", *_rss(pid)) for pid in self.worker_pids() if _rss(pid) != (0.0, 0.0)]
        if self.workers > 1:
            self.memory.append(Memory(self.process.pid, "supervisor", *_rss(self.process.pid)))
        return self.memory

    def stop(self) -> None:
        if self.process.poll() is None:
            # The server was started in a process group of its own: the group holds its workers, and only them.
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def descendants(pid: int) -> list[int]:
    found: list[int] = []
    pending = [pid]
    while pending:
        current = pending.pop()
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for child in children:
                found.append(int(child))
                pending.append(int(child))
    return found


def _is_worker(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return False
    # uvicorn's workers are spawned by multiprocessing; PostGraphile's by node's cluster module.
    return ("spawn_main" in cmdline and "resource_tracker" not in cmdline) or "postgraphile" in cmdline


def _rss(pid: int) -> tuple[float, float]:
    """VmRSS and VmHWM (peak) of a process, in MB."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0, 0.0
    values = {}
    for line in status.splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            key, amount, _ = line.split()
            values[key] = int(amount) / 1024
    return round(values.get("VmRSS:", 0.0), 1), round(values.get("VmHWM:", 0.0), 1)


def _spawn(name: str, argv: list[str], env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        out.write(f"\n=== {name}: {' '.join(argv)}\n".encode())
        out.flush()
        return subprocess.Popen(  # noqa: S603 - our own commands
            argv, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def start_service(keys: KeyDir, database_url: str, port: int, workers: int) -> Server:
    """`spojnia serve` exactly as production starts it, with the run's settings in the environment."""
    env = {**_base_env(), **keys.service_env(database_url)}
    argv = [str(Path(sys.executable).parent / "spojnia"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    argv += ["--workers", str(workers)]
    # Run from the key directory: whatever the service writes beside itself lands there, not in the repository.
    log = keys.path / f"service-{workers}w.log"
    return Server("service", port, _spawn("service", argv, env, keys.path, log), log, workers)


def start_raw(keys: KeyDir, dsn: str, port: int, workers: int, pool_size: int) -> Server:
    env = {
        **_base_env(),
        "PYTHONPATH": str(REPO),
        "BENCH_RAW_DSN": dsn,
        "BENCH_RAW_POOL": str(pool_size),
        "SPOJNIA_PESEL__KEY_FILE": str(keys.pesel_keys),
    }
    argv = [sys.executable, "-m", "bench.hot_paths.raw_app", "--port", str(port), "--workers", str(workers)]
    log = keys.path / f"raw-{workers}w.log"
    return Server("raw asyncpg", port, _spawn("raw", argv, env, keys.path, log), log, workers, "/health")


def ensure_postgraphile() -> Path | None:
    """PostGraphile 4 installed by npm into a cache outside the repository; None when that fails."""
    if POSTGRAPHILE.exists():
        return POSTGRAPHILE
    NODE_DIR.mkdir(parents=True, exist_ok=True)
    package = NODE_DIR / "package.json"
    if not package.exists():
        package.write_text(json.dumps({"name": "spojnia-bench-node", "private": True}))
    print(f"installing postgraphile@4 into {NODE_DIR} ...")
    try:
        done = subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "postgraphile@4"],  # noqa: S607
            cwd=NODE_DIR,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        print(f"npm install postgraphile@4 failed: {error}")
        return None
    if done.returncode != 0 or not POSTGRAPHILE.exists():
        print(f"npm install postgraphile@4 failed ({done.returncode}):\n{done.stderr[-2000:]}")
        return None
    return POSTGRAPHILE


def start_postgraphile(binary: Path, keys: KeyDir, dsn: str, port: int, workers: int, pool_size: int) -> Server:
    argv = [str(binary), "-c", dsn, "-s", "public", "-n", "127.0.0.1", "-p", str(port), "--disable-query-log"]
    argv += ["--disable-graphiql", "-m", str(pool_size)]
    if workers > 1:
        argv += ["--cluster-workers", str(workers)]
    log = keys.path / f"postgraphile-{workers}w.log"
    env = {**_base_env(), "NODE_ENV": "production"}
    return Server("PostGraphile", port, _spawn("postgraphile", argv, env, keys.path, log), log, workers, "/graphql")


def _base_env() -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR")
    return {k: v for k, v in os.environ.items() if k in keep}
