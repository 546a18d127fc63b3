"""What SQL one request of each path issues, from PostgreSQL's own log.

For the trace only, the bench database gets `log_statement = 'all'` (and `log_parameter_max_length = 0`: no bound
values in the server log); a server started after that logs every statement its connections run. Each path is
called a few times to warm caches and prepared statements, then once more between two looks at the end of the
log file; the lines of the bench database in between are that request's statements, one per round trip (BEGIN
and COMMIT included). A "BEGIN; ROLLBACK;" pair is SQLAlchemy's pool_pre_ping, whose empty query between the two is
not logged: it is counted as a round trip too.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from bench.hot_paths.load import HotPath, send

STATEMENT = re.compile(r"LOG:  (?:statement|execute [^:]*): (.*)$")


@dataclass(slots=True)
class PathTrace:
    key: str
    status: int
    statements: list[str] = field(default_factory=list)

    @property
    def pings(self) -> int:
        """SQLAlchemy's pool_pre_ping on checkout: BEGIN, an empty query (not logged), ROLLBACK."""
        return sum(
            1 for a, b in zip(self.statements, self.statements[1:], strict=False) if (a, b) == ("BEGIN;", "ROLLBACK;")
        )

    @property
    def round_trips(self) -> int:
        """Statements logged, plus the empty query of each pre-ping that the log leaves out."""
        return len(self.statements) + self.pings


async def log_file(admin_dsn: str) -> Path | None:
    """The server's log file when this process can read it (the logging collector's, or Debian's default)."""
    connection = await asyncpg.connect(admin_dsn)
    try:
        current = await connection.fetchval("SELECT pg_current_logfile()")
        data_directory = await connection.fetchval("SHOW data_directory")
        major = int(await connection.fetchval("SHOW server_version_num")) // 10000
    finally:
        await connection.close()
    candidates = []
    if current:
        candidates.append(Path(current) if Path(current).is_absolute() else Path(data_directory) / current)
    candidates.append(Path(f"/var/log/postgresql/postgresql-{major}-main.log"))
    for candidate in candidates:
        try:
            with candidate.open("rb"):
                return candidate
        except OSError:
            continue
    return None


async def set_logging(admin_dsn: str, database: str, on: bool) -> None:
    connection = await asyncpg.connect(admin_dsn)
    try:
        if on:
            await connection.execute(f"ALTER DATABASE \"{database}\" SET log_statement = 'all'")
            await connection.execute(f'ALTER DATABASE "{database}" SET log_parameter_max_length = 0')
        else:
            await connection.execute(f'ALTER DATABASE "{database}" RESET log_statement')
            await connection.execute(f'ALTER DATABASE "{database}" RESET log_parameter_max_length')
    finally:
        await connection.close()


def _statements(text: str, database: str) -> list[str]:
    """Statements of the database's sessions, multi-line ones joined, whitespace collapsed."""
    found: list[str] = []
    current: list[str] | None = None
    marker = f"@{database} "
    for line in text.splitlines():
        if line.startswith(("\t", " ")) and current is not None:
            current.append(line.strip())
            continue
        if current is not None:
            found.append(" ".join(" ".join(current).split()))
            current = None
        if marker in line:
            match = STATEMENT.search(line)
            if match:
                current = [match.group(1)]
    if current is not None:
        found.append(" ".join(" ".join(current).split()))
    return found


def trace_paths(
    port: int, paths: list[HotPath], tokens: dict[str, str], log: Path, database: str, warm: int = 3
) -> list[PathTrace]:
    traces = []
    for path in paths:
        calls = path.calls[: warm + 1]
        for call in calls[:-1]:
            send(port, call, tokens)
        time.sleep(0.3)
        before = log.stat().st_size
        status, _ = send(port, calls[-1], tokens)
        time.sleep(0.5)
        with log.open("rb") as file:
            file.seek(before)
            text = file.read().decode("utf-8", "replace")
        traces.append(PathTrace(path.key, status, _statements(text, database)))
    return traces


def shorten(statement: str, width: int = 150) -> str:
    """A statement cut to its gist: the column lists of SELECT and INSERT elided."""
    text = re.sub(r"^SELECT .+? FROM ", "SELECT … FROM ", statement)
    text = re.sub(r"^INSERT INTO (\S+) \(.+?\) VALUES", r"INSERT INTO \1 (…) VALUES", text)
    return text if len(text) <= width else text[: width - 1] + "…"
