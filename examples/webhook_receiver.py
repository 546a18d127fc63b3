"""A minimal partner endpoint for Spójnia's webhooks: verifies each signature, prints the event.

    .venv/bin/python examples/webhook_receiver.py --port 9000 --secret whsec_...

A real integration does the same check (with any Standard Webhooks library), answers 2xx
quickly, keeps the `webhook-id` to ignore a repeated delivery, and then fetches the details
it needs from the API with its own token.
"""

from __future__ import annotations

import argparse
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--secret", required=True, help="the subscription's secret, whsec_...")
    args = parser.parse_args()
    verifier = Webhook(args.secret)
    seen: set[str] = set()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            try:
                event = verifier.verify(body, dict(self.headers.items()))
            except WebhookVerificationError:
                self.send_response(401)
                self.end_headers()
                print("rejected: bad signature", flush=True)  # noqa: T201
                return
            self.send_response(204)
            self.end_headers()
            if self.headers["webhook-id"] in seen:
                return
            seen.add(self.headers["webhook-id"])
            print(json.dumps(event, ensure_ascii=False), flush=True)  # noqa: T201

        def log_message(self, *args: object) -> None:
            pass

    print(f"listening on http://127.0.0.1:{args.port}/hooks", flush=True)  # noqa: T201
    ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
