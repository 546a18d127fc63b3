"""The load: what each path sends, and wrk driving it with a Lua script that rotates through the requests.

Each path is a list of ready HTTP/1.1 requests (method, target, token, body) built from the sample. wrk runs as a
separate process (`-t` threads, `-c` connections, `--latency`), first for the warm-up, then for the measurement;
its Lua script counts every answer that is not 2xx and keeps the first one, so that a failing path is reported
as FAILED and never as a fast one.
"""

from __future__ import annotations

import http.client
import json
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from bench.hot_paths.data import Sample

PURPOSE = "SHARED_CLIENT_CHECK"
GRAPHQL_FAMILY = (
    "query Family($id: UUID!) { family(id: $id) { id name version members { role since person { id first_name "
    "last_name birth_date enrollments { status since worker { first_name last_name email } } } } } }"
)
POSTGRAPHILE_FAMILY = (
    "query Family($id: UUID!, $inst: UUID!) { familyById(id: $id) { id name version familyMembershipsByFamilyId { "
    "nodes { role since personByPersonId { id firstName lastName birthDate enrollmentsByPersonId(condition: "
    "{institutionId: $inst}) { nodes { status since workerByWorkerId { firstName lastName email } } } } } } } }"
)
POSTGRAPHILE_LOOKUP = (
    "query Lookup($hash: String!) { allPeople(condition: {peselHash: $hash}) { nodes { id firstName lastName "
    "enrollmentsByPersonId(condition: {until: null}) { nodes { since status institutionByInstitutionId { id name "
    "type email phone } workerByWorkerId { firstName lastName email phone } } } } } }"
)


@dataclass(frozen=True, slots=True)
class Call:
    method: str
    target: str
    caller: str | None  # the institution whose token goes in Authorization, if any
    body: dict[str, object] | None = None

    def encode(self, host: str, tokens: dict[str, str]) -> bytes:
        lines = [f"{self.method} {self.target} HTTP/1.1", f"Host: {host}", "Accept: application/json"]
        if self.caller is not None:
            lines.append(f"Authorization: Bearer {tokens[self.caller]}")
        payload = b""
        if self.body is not None:
            payload = json.dumps(self.body, separators=(",", ":")).encode()
            lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


@dataclass(frozen=True, slots=True)
class HotPath:
    key: str
    title: str
    calls: list[Call]


def service_paths(sample: Sample) -> dict[str, HotPath]:
    """The six paths of issue 9, as the service answers them."""
    f, t = sample.period
    return {
        p.key: p
        for p in (
            HotPath(
                "lookup",
                "shared-client lookup (POST /v1/shared-client-lookups)",
                [
                    Call("POST", "/v1/shared-client-lookups", pup, {"pesel": pesel, "purpose": PURPOSE})
                    for pup, pesel, _ in sample.lookups
                ],
            ),
            HotPath(
                "person",
                "person read (GET /v1/persons/{id})",
                [Call("GET", f"/v1/persons/{pid}", ops) for ops, pid in sample.persons],
            ),
            HotPath(
                "family",
                "family read (GET /v1/families/{id})",
                [Call("GET", f"/v1/families/{fid}", ops) for ops, fid in sample.families],
            ),
            HotPath(
                "graphql_family",
                "family over GraphQL (POST /graphql)",
                [
                    Call("POST", "/graphql", ops, {"query": GRAPHQL_FAMILY, "variables": {"id": fid}})
                    for ops, fid in sample.families
                ],
            ),
            HotPath(
                "inbox",
                "referral inbox page (GET /v1/referrals?box=inbox&limit=20)",
                [Call("GET", "/v1/referrals?box=inbox&limit=20", pup) for pup in sample.inboxes],
            ),
            HotPath(
                "report",
                "monitoring report (GET /v1/reports/monitoring)",
                [
                    Call("GET", f"/v1/reports/monitoring?partnership={part}&from={f}&to={t}", pcpr)
                    for pcpr, part in sample.reports
                ],
            ),
        )
    }


def postgraphile_paths(sample: Sample) -> dict[str, HotPath]:
    """PostGraphile's equivalents: the plain lookup by blind index (computed here) and the family graph."""
    return {
        "lookup": HotPath(
            "lookup",
            "PostGraphile plain lookup (allPeople by pesel_hash)",
            [
                Call("POST", "/graphql", None, {"query": POSTGRAPHILE_LOOKUP, "variables": {"hash": digest}})
                for _, _, digest in sample.lookups
            ],
        ),
        "graphql_family": HotPath(
            "graphql_family",
            "PostGraphile family graph (familyById)",
            [
                Call("POST", "/graphql", None, {"query": POSTGRAPHILE_FAMILY, "variables": {"id": fid, "inst": ops}})
                for ops, fid in sample.families
            ],
        ),
    }


def send(port: int, call: Call, tokens: dict[str, str]) -> tuple[int, bytes]:
    """One request, on a connection of its own."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        head, _, body = call.encode(f"127.0.0.1:{port}", tokens).partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        headers = dict(line.split(": ", 1) for line in lines[1:] if not line.startswith("Host:"))
        connection.request(call.method, call.target, body=body or None, headers=headers)
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


def check_answer(key: str, status: int, body: bytes) -> str | None:
    """What is wrong with a path's answer, or None: a 2xx that is empty or refused is no fast path either."""
    if not 200 <= status <= 299:
        return f"HTTP {status}: {body[:300].decode('utf-8', 'replace')}"
    try:
        doc = json.loads(body)
    except ValueError:
        return f"not JSON: {body[:200]!r}"
    if isinstance(doc, dict) and doc.get("errors"):
        return f"GraphQL errors: {json.dumps(doc['errors'])[:300]}"
    data = doc.get("data") if isinstance(doc, dict) else None
    if key == "lookup":
        if data is not None:  # PostGraphile
            nodes = data["allPeople"]["nodes"]
            served = nodes[0]["enrollmentsByPersonId"]["nodes"] if nodes else []
        else:
            served = doc["matches"][0]["served_at"] if doc["matches"] else []
        if len(served) < 2:
            return f"the shared client is found served at {len(served)} institution(s), not at the centre and the PUP"
    elif key == "graphql_family":
        family = (data or {}).get("family") or (data or {}).get("familyById")
        members = (family or {}).get("members") or (family or {}).get("familyMembershipsByFamilyId", {}).get("nodes")
        if not members:
            return "no family, or a family without members"
    elif key == "family" and not doc.get("members"):
        return "a family without members"
    elif key == "person" and not doc.get("enrollments"):
        return "the person without the caller's enrollment"
    elif key == "inbox" and not doc.get("items"):
        return "an empty inbox"
    elif key == "report" and not doc.get("persons_served"):
        return "a report of nobody"
    return None


# ---------------------------------------------------------------------------------------------------------------
# wrk

LUA = r"""
local requests = dofile("%(data)s")
local graphql = %(graphql)s
local index = 0
local threads = {}
bad = 0
statuses = ""
sample = ""

function setup(thread)
  thread:set("first", #threads * 7919)
  table.insert(threads, thread)
end

function init(args)
  index = (first or 0) %% #requests
end

function request()
  index = index %% #requests + 1
  return requests[index]
end

function response(status, headers, body)
  local failed = status < 200 or status > 299
  local code = tostring(status)
  -- GraphQL answers errors with a 200: an "errors" member fails the request too.
  if not failed and graphql and string.find(body or "", '"errors":', 1, true) then
    failed = true
    code = "graphql-errors"
  end
  if failed then
    bad = bad + 1
    if not string.find(statuses, "," .. code .. ",", 1, true) then
      statuses = statuses .. "," .. code .. ","
    end
    if sample == "" then
      sample = code .. " " .. string.sub(body or "", 1, 400)
    end
  end
end

local function quote(s)
  return '"' .. string.gsub(s, '[%%c"\\]', function(c) return string.format("\\u%%04x", string.byte(c)) end) .. '"'
end

function done(summary, latency, requests)
  local bad_total, codes, first = 0, "", ""
  for _, thread in ipairs(threads) do
    bad_total = bad_total + thread:get("bad")
    codes = codes .. thread:get("statuses")
    if first == "" then first = thread:get("sample") end
  end
  local e = summary.errors
  io.write("WRKJSON {")
  io.write(string.format('"requests":%%d,"duration_us":%%d,"bytes":%%d,', summary.requests, summary.duration,
    summary.bytes))
  io.write(string.format('"connect_errors":%%d,"read_errors":%%d,"write_errors":%%d,"timeouts":%%d,"status_errors":%%d,',
    e.connect, e.read, e.write, e.timeout, e.status))
  io.write(string.format('"non_2xx":%%d,"statuses":%%s,"first_failure":%%s,', bad_total, quote(codes), quote(first)))
  io.write(string.format('"p50_us":%%d,"p90_us":%%d,"p99_us":%%d,"max_us":%%d,"mean_us":%%.1f',
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
  io.write("}\n")
end
"""


@dataclass(slots=True)
class Result:
    key: str
    title: str
    server: str
    workers: int
    requests: int = 0
    seconds: float = 0.0
    rps: float = 0.0
    p50_ms: float = 0.0
    p90_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    non_2xx: int = 0
    socket_errors: int = 0
    statuses: list[str] = field(default_factory=list)  # HTTP statuses of failures, or "graphql-errors"
    first_failure: str = ""
    problem: str = ""  # what was wrong with the answer checked before the load
    error: str = ""

    @property
    def failed(self) -> bool:
        return bool(self.error or self.problem) or self.non_2xx > 0 or self.socket_errors > 0 or self.requests == 0

    @property
    def tail(self) -> float:
        return self.p99_ms / self.p50_ms if self.p50_ms else 0.0


def _lua_string(raw: bytes) -> str:
    out = []
    for byte in raw:
        ch = chr(byte)
        if ch in '"\\':
            out.append("\\" + ch)
        elif 32 <= byte < 127:
            out.append(ch)
        else:
            out.append(f"\\{byte:03d}")
    return '"' + "".join(out) + '"'


def write_script(directory: Path, name: str, requests: list[bytes], graphql: bool) -> Path:
    """The requests as a Lua table in a data file, and the script that rotates through them."""
    directory.mkdir(parents=True, exist_ok=True)
    data = directory / f"{name}.data.lua"
    data.write_text("return {\n" + ",\n".join(_lua_string(r) for r in requests) + "\n}\n")
    script = directory / f"{name}.lua"
    script.write_text(LUA % {"data": str(data), "graphql": "true" if graphql else "false"})
    return script


def wrk_binary() -> str | None:
    return shutil.which("wrk")


def run_wrk(url: str, script: Path, seconds: float, connections: int, threads: int) -> dict[str, float | str]:
    argv = [wrk_binary() or "wrk", "-t", str(threads), "-c", str(connections), "-d", f"{max(1, round(seconds))}s"]
    argv += ["--timeout", "10s", "--latency", "-s", str(script), url]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 120, check=False)  # noqa: S603
    match = re.search(r"^WRKJSON (\{.*\})$", done.stdout, re.MULTILINE)
    if done.returncode != 0 or match is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
    parsed: dict[str, float | str] = json.loads(match.group(1))
    return parsed


def measure(
    path: HotPath,
    server_name: str,
    url: str,
    host: str,
    tokens: dict[str, str],
    work_dir: Path,
    *,
    warmup: float,
    duration: float,
    connections: int,
    threads: int,
) -> Result:
    result = Result(path.key, path.title, server_name, 0)
    port = int(host.rsplit(":", 1)[1])
    try:
        status, body = send(port, path.calls[0], tokens)
        result.problem = check_answer(path.key, status, body) or ""
    except (OSError, http.client.HTTPException) as error:
        result.problem = f"no answer: {error}"
    requests = [c.encode(host, tokens) for c in path.calls]
    graphql = any(c.target == "/graphql" for c in path.calls)
    script = write_script(work_dir, f"{server_name.split()[0].lower()}-{path.key}", requests, graphql)
    try:
        if warmup > 0:
            run_wrk(url, script, warmup, connections, threads)
        raw = run_wrk(url, script, duration, connections, threads)
    except (RuntimeError, subprocess.TimeoutExpired, OSError) as error:
        result.error = str(error)
        return result
    result.requests = int(raw["requests"])
    result.seconds = float(raw["duration_us"]) / 1e6
    result.rps = result.requests / result.seconds if result.seconds else 0.0
    result.p50_ms = float(raw["p50_us"]) / 1000
    result.p90_ms = float(raw["p90_us"]) / 1000
    result.p99_ms = float(raw["p99_us"]) / 1000
    result.max_ms = float(raw["max_us"]) / 1000
    result.non_2xx = int(raw["non_2xx"])
    result.socket_errors = sum(int(raw[k]) for k in ("connect_errors", "read_errors", "write_errors", "timeouts"))
    result.statuses = sorted({s for s in str(raw["statuses"]).split(",") if s})
    result.first_failure = str(raw["first_failure"])
    return result
