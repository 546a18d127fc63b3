"""A real HTTP server standing in for a partner system that receives Spójnia's webhooks."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class Received:
    headers: dict[str, str]
    body: str
    payload: dict[str, Any]


@dataclass
class WebhookReceiver:
    """Verifies every request with the subscription's secret, as a partner would, and records it."""

    secret: str = ""
    failures_left: int = 0  # answer 503 this many times first: a partner that is down for a while
    delay_seconds: float = 0.0
    received: list[Received] = field(default_factory=list)
    rejected: int = 0
    requests: int = 0
    _server: ThreadingHTTPServer | None = None

    def start(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                receiver.requests += 1
                body = self.rfile.read(int(self.headers.get("content-length", 0))).decode()
                if receiver.delay_seconds:
                    time.sleep(receiver.delay_seconds)
                if receiver.failures_left > 0:
                    receiver.failures_left -= 1
                    self._answer(503)
                    return
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    payload = Webhook(receiver.secret).verify(body, headers)
                except WebhookVerificationError:
                    receiver.rejected += 1
                    self._answer(401)
                    return
                receiver.received.append(Received(headers=headers, body=body, payload=payload))
                self._answer(204)

            def _answer(self, status: int) -> None:
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def types(self) -> list[str]:
        return [r.payload["type"] for r in self.received]

    def ids(self) -> list[str]:
        return [r.headers["webhook-id"] for r in self.received]

    def post_raw(self, body: str, headers: dict[str, str]) -> int:
        """Send a request as if from Spójnia, to see what the receiver accepts."""
        import urllib.request

        request = urllib.request.Request(self.url, data=body.encode(), headers=headers, method="POST")  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - loopback test server
                return int(response.status)
        except urllib.error.HTTPError as error:
            return int(error.code)


def wait_until(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)
