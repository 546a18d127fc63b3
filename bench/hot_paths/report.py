"""The figures of a run: a table per worker count, the targets of issue 9, 1 vs 2 workers, and the JSON file."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.hot_paths.load import Result
from bench.hot_paths.servers import Memory

SERVICE = "service"
RAW = "raw asyncpg"
POSTGRAPHILE = "PostGraphile"

# path -> (baseline server, least ratio of the service's req/s to the baseline's)
RATIO_TARGETS = {
    "lookup": (RAW, 0.8),
    "person": (RAW, 0.8),
    "family": (RAW, 0.8),
    "graphql_family": (POSTGRAPHILE, 1.0),
}
TAIL_TARGET = 3.0  # p99 at most this many times p50
MEMORY_TARGET_MB = 200.0
ORDER = ["lookup", "person", "family", "graphql_family", "inbox", "report"]
SHORT = {
    "lookup": "shared-client lookup",
    "person": "person read (REST)",
    "family": "family read (REST)",
    "graphql_family": "family over GraphQL",
    "inbox": "referral inbox page",
    "report": "monitoring report",
}


@dataclass(slots=True)
class Run:
    workers: int
    results: list[Result] = field(default_factory=list)
    memory: dict[str, list[Memory]] = field(default_factory=dict)

    def get(self, server: str, key: str) -> Result | None:
        return next((r for r in self.results if r.server == server and r.key == key), None)


@dataclass(slots=True)
class Target:
    name: str
    workers: int
    measured: str
    goal: str
    met: bool


def _ms(value: float) -> str:
    return f"{value:.2f}" if value < 100 else f"{value:.0f}"


def _cell(result: Result | None) -> tuple[str, str, str, str]:
    if result is None:
        return "-", "-", "-", "-"
    if result.failed:
        return "FAILED", "-", "-", "-"
    return f"{result.rps:,.0f}", _ms(result.p50_ms), _ms(result.p99_ms), f"{result.tail:.1f}"


def evaluate(runs: list[Run]) -> list[Target]:
    targets: list[Target] = []
    for run in runs:
        for key in ORDER:
            service = run.get(SERVICE, key)
            if service is None:
                continue
            if service.failed:
                targets.append(Target(f"{SHORT[key]} answers 2xx", run.workers, failure(service), "no errors", False))
                continue
            if key in RATIO_TARGETS:
                server, least = RATIO_TARGETS[key]
                base = run.get(server, key)
                if base is not None and not base.failed and base.rps:
                    ratio = service.rps / base.rps
                    targets.append(Target(f"{SHORT[key]} vs {server}", run.workers, f"{ratio:.2f}x", f">= {least}x",
                                          ratio >= least))  # fmt: skip
                elif base is not None:
                    targets.append(Target(f"{SHORT[key]} vs {server}", run.workers, "baseline failed", f">= {least}x",
                                          False))  # fmt: skip
            targets.append(Target(f"{SHORT[key]} p99/p50", run.workers, f"{service.tail:.1f}", f"<= {TAIL_TARGET:.0f}",
                                  service.tail <= TAIL_TARGET))  # fmt: skip
        workers = [m for m in run.memory.get(SERVICE, []) if m.role == "worker"]
        if workers:
            largest = max(m.rss_mb for m in workers)
            targets.append(Target("service worker resident memory", run.workers, f"{largest:.0f} MB",
                                  f"< {MEMORY_TARGET_MB:.0f} MB", largest < MEMORY_TARGET_MB))  # fmt: skip
    return targets


def failure(result: Result) -> str:
    if result.error:
        return result.error[:80]
    if result.problem:
        return result.problem[:200]
    parts = []
    if result.non_2xx:
        parts.append(f"{result.non_2xx} non-2xx ({', '.join(map(str, result.statuses))})")
    if result.socket_errors:
        parts.append(f"{result.socket_errors} socket errors")
    return "; ".join(parts) or "no requests"


def table(run: Run) -> str:
    header = (
        f"{'path':<22} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'p99/p50':>7} | {'baseline':<13} {'req/s':>8} "
        f"{'p50 ms':>7} {'p99 ms':>7} {'ratio':>6} {'target':>7}"
    )
    lines = [header, "-" * len(header)]
    for key in ORDER:
        service = run.get(SERVICE, key)
        if service is None:
            continue
        rps, p50, p99, tail = _cell(service)
        base_name, least = RATIO_TARGETS.get(key, ("", 0.0))
        base = run.get(base_name, key) if base_name else None
        b_rps, b_p50, b_p99, _ = _cell(base)
        ratio = "-"
        if base is not None and not base.failed and not service.failed and base.rps:
            ratio = f"{service.rps / base.rps:.2f}x"
        goal = f">={least}x" if base_name else "-"
        lines.append(
            f"{SHORT[key]:<22} {rps:>8} {p50:>7} {p99:>7} {tail:>7} | {base_name or '-':<13} {b_rps:>8} {b_p50:>7} "
            f"{b_p99:>7} {ratio:>6} {goal:>7}"
        )
        if key == "lookup":
            outside = run.get(POSTGRAPHILE, "lookup")
            if outside is not None:
                o_rps, o_p50, o_p99, _ = _cell(outside)
                beside = "-"
                if not outside.failed and not service.failed and outside.rps:
                    beside = f"{service.rps / outside.rps:.2f}x"
                lines.append(
                    f"{'':<22} {'':>8} {'':>7} {'':>7} {'':>7} | {'PostGraphile':<13} {o_rps:>8} {o_p50:>7} "
                    f"{o_p99:>7} {beside:>6} {'(info)':>7}"
                )
    for failed in [r for r in run.results if r.failed]:
        lines.append(f"  FAILED {failed.server} {failed.key}: {failure(failed)}")
        if failed.first_failure:
            lines.append(f"         first: {failed.first_failure[:300]}")
    memory = run.memory.get(SERVICE, [])
    if memory:
        lines.append(
            "service memory after the run: "
            + ", ".join(f"{m.role} {m.pid} {m.rss_mb:.0f} MB (peak {m.peak_mb:.0f})" for m in memory)
        )
    for name in (RAW, POSTGRAPHILE):
        others = [m for m in run.memory.get(name, []) if m.role == "worker"]
        if others:
            lines.append(f"{name} memory: " + ", ".join(f"{m.rss_mb:.0f} MB" for m in others))
    return "\n".join(lines)


def scaling(runs: list[Run]) -> dict[str, dict[str, float]]:
    """Each path's req/s by worker count, service and baselines."""
    out: dict[str, dict[str, float]] = {}
    for run in runs:
        for r in run.results:
            if not r.failed:
                out.setdefault(f"{r.server}: {r.key}", {})[str(run.workers)] = round(r.rps, 1)
    return out


def scaling_table(runs: list[Run]) -> str:
    if len(runs) < 2:
        return ""
    counts = [r.workers for r in runs]
    header = f"{'service path':<22} " + " ".join(f"{f'{w} worker(s)':>12}" for w in counts) + f" {'gain':>6}"
    lines = [header, "-" * len(header)]
    for key in ORDER:
        values = [run.get(SERVICE, key) for run in runs]
        if all(v is None for v in values):
            continue
        cells = [("FAILED" if v.failed else f"{v.rps:,.0f}") if v else "-" for v in values]
        first, last = values[0], values[-1]
        gain = "-"
        if first and last and not first.failed and not last.failed and first.rps:
            gain = f"{last.rps / first.rps:.2f}x"
        lines.append(f"{SHORT[key]:<22} " + " ".join(f"{c:>12}" for c in cells) + f" {gain:>6}")
    return "\n".join(lines)


def targets_table(targets: list[Target]) -> str:
    lines = [f"{'target':<48} {'workers':>7} {'measured':>16} {'goal':>9}  ", "-" * 88]
    for t in targets:
        lines.append(f"{t.name:<48} {t.workers:>7} {t.measured:>16} {t.goal:>9}  {'ok' if t.met else 'MISSED'}")
    return "\n".join(lines)


def write_json(path: Path, document: dict[str, Any], runs: list[Run], targets: list[Target]) -> None:
    document = {
        **document,
        "runs": [
            {
                "workers": run.workers,
                "results": [{**asdict(r), "failed": r.failed, "p99_over_p50": round(r.tail, 2)} for r in run.results],
                "memory": {name: [asdict(m) for m in ms] for name, ms in run.memory.items()},
            }
            for run in runs
        ],
        "scaling": scaling(runs),
        "targets": [asdict(t) for t in targets],
        "all_targets_met": all(t.met for t in targets) and bool(targets),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
