"""A real HTTP server imitating a vendor's record system that implements the partner API (openapi/partner/).

It keeps what a careful vendor keeps: one referral per id (PUT replaces it), each Idempotency-Key applied once,
and the status reports its workers recorded, served from a cursor. A test can take it down (nothing listens on
its port), make it slow (it answers after the client's timeout, having applied the request all the same), or
make it answer 500; every request is recorded with its Idempotency-Key, whatever the answer.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class VendorRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    answer: int = 0

    @property
    def key(self) -> str | None:
        return self.headers.get("idempotency-key")


@dataclass
class FakeVendor:
    token: str = "vendor-issued-token-7f3c9a"
    failures_left: int = 0  # answer 500 this many times (after recording the request, before applying it)
    failing_method: str | None = None  # only requests of this method fail (None: any)
    slow_requests: int = 0  # this many requests are answered only after `delay_seconds`
    delay_seconds: float = 0.0
    page_size: int = 50
    requests: list[VendorRequest] = field(default_factory=list)
    referrals: dict[str, dict[str, Any]] = field(default_factory=dict)  # one envelope per referral id
    events: dict[str, dict[str, Any]] = field(default_factory=dict)  # by Idempotency-Key
    applied: list[str] = field(default_factory=list)  # Idempotency-Keys in the order they changed anything
    statuses: list[Any] = field(default_factory=list)  # what the vendor's workers recorded, oldest first
    # Pages of changes (persons, enrollments, households), oldest first; the cursor is the number of pages read.
    changes: list[dict[str, Any]] = field(default_factory=list)
    port: int = 0
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # the server's life -----------------------------------------------------------------------------------

    def start(self) -> FakeVendor:
        """Listen (again on the same port, after `stop`)."""
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Down: nothing listens on the port any more; connections are refused."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/partner-api/v1"

    # what the tests read ---------------------------------------------------------------------------------

    def made(self, method: str, prefix: str = "") -> list[VendorRequest]:
        with self._lock:
            return [r for r in self.requests if r.method == method and r.path.startswith(prefix)]

    def report(self, referral_id: str, status: str, **extra: Any) -> None:
        """A worker records a step in the vendor's system; Spójnia will pull it."""
        with self._lock:
            self.statuses.append({"referral_id": referral_id, "status": status, "at": _now(), **extra})

    # serving ---------------------------------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        vendor = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                self._serve()

            def do_POST(self) -> None:
                self._serve()

            def do_GET(self) -> None:
                self._serve()

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                raw = self.rfile.read(int(self.headers.get("content-length", 0))).decode()
                request = VendorRequest(
                    method=self.command,
                    path=parts.path.removeprefix("/partner-api/v1"),
                    query=parse_qs(parts.query),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=json.loads(raw) if raw else None,
                )
                with vendor._lock:
                    vendor.requests.append(request)
                    slow = vendor.slow_requests > 0
                    vendor.slow_requests -= 1 if slow else 0
                    failing = vendor.failures_left > 0 and vendor.failing_method in (None, self.command)
                    vendor.failures_left -= 1 if failing else 0
                if request.headers.get("authorization") != f"Bearer {vendor.token}":
                    self._answer(request, 401)
                    return
                if failing:
                    self._answer(request, 500)
                    return
                status, body = vendor._apply(request)
                if slow:
                    time.sleep(vendor.delay_seconds)  # applied, but the answer comes after the client gave up
                self._answer(request, status, body)

            def _answer(self, request: VendorRequest, status: int, body: Any = None) -> None:
                request.answer = status
                payload = json.dumps(body).encode() if body is not None else b""
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the client hung up (it timed out)

            def log_message(self, *args: object) -> None:
                pass

        return Handler

    def _apply(self, request: VendorRequest) -> tuple[int, Any]:
        with self._lock:
            if request.method == "PUT" and request.path.startswith("/referrals/"):
                # A repeat of a key is answered as the first was, and changes nothing.
                if request.key not in self.applied:
                    self.referrals[request.path.removeprefix("/referrals/")] = request.body
                    self.applied.append(str(request.key))
                return 204, None
            if request.method == "POST" and request.path == "/events":
                if request.key not in self.applied:
                    self.events[str(request.key)] = request.body
                    self.applied.append(str(request.key))
                return 202, None
            if request.method == "GET" and request.path == "/referral-statuses":
                start = int(request.query.get("since", ["0"])[0])
                items = self.statuses[start : start + self.page_size]
                return 200, {"items": items, "next_cursor": str(start + len(items))}
            if request.method == "GET" and request.path == "/changes":
                since = request.query.get("since", [None])[0]
                start = int(since or 0)
                if start >= len(self.changes):
                    return 200, {"persons": [], "enrollments": [], "households": [], "next_cursor": since}
                return 200, {"next_cursor": str(start + 1), **self.changes[start]}
            if request.method == "POST" and request.path == "/contract-actions":
                return 204, None
            return 404, None


def _now() -> str:
    return datetime.now(UTC).isoformat()
