"""A small fake of Stripe's API, served over real HTTP on loopback, for the official SDK.

It answers only what timebank calls: creating Checkout Sessions (with Stripe's
idempotency-key semantics), retrieving a PaymentIntent with its charge's
balance transaction expanded, and retrieving a balance transaction. It also
serves the "Checkout page" a session's url points at, so a browser can land
there. Requests are recorded for tests to inspect. Nothing leaves the machine.
"""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

SECRET_KEY = "sk_test_timebank_fake_0123456789"
CHECKOUT_PAGE_TITLE = "Fake Stripe Checkout"


@dataclass
class Recorded:
    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]


@dataclass
class FakeStripe:
    base_url: str = ""
    requests: list[Recorded] = field(default_factory=list)
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Stripe ids the tests make up, answered by the GET endpoints.
    payment_intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    balance_transactions: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures_left: int = 0  # answer this many coming calls with a 500
    _idempotent: dict[str, tuple[dict[str, str], dict[str, Any]]] = field(default_factory=dict)
    _numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # What tests set up ---------------------------------------------------------------

    def add_payment(
        self, payment_intent_id: str, *, fee_pence: int | None, charge_id: str | None = None
    ) -> None:
        """A PaymentIntent whose latest charge has a balance transaction with `fee_pence`."""
        number = next(self._numbers)
        charge: dict[str, Any] = {"id": charge_id or f"ch_fake_{number}", "object": "charge"}
        if fee_pence is not None:
            balance_transaction = self.add_balance_transaction(f"txn_fake_{number}", fee_pence)
            charge["balance_transaction"] = balance_transaction["id"]
        self.payment_intents[payment_intent_id] = {
            "id": payment_intent_id,
            "object": "payment_intent",
            "currency": "gbp",
            "latest_charge": charge,
        }

    def add_balance_transaction(
        self, balance_transaction_id: str, fee_pence: int
    ) -> dict[str, Any]:
        found = {
            "id": balance_transaction_id,
            "object": "balance_transaction",
            "currency": "gbp",
            "fee": fee_pence,
        }
        self.balance_transactions[balance_transaction_id] = found
        return found

    def created_sessions(self) -> list[Recorded]:
        return [r for r in self.requests if (r.method, r.path) == ("POST", "/v1/checkout/sessions")]

    # Answers ----------------------------------------------------------------------------

    def answer(self, recorded: Recorded) -> tuple[int, dict[str, Any] | str]:
        with self._lock:
            self.requests.append(recorded)
            if recorded.path.startswith("/pay/"):
                return 200, _checkout_page(recorded.path.removeprefix("/pay/"))
            if recorded.headers.get("authorization") != f"Bearer {SECRET_KEY}":
                return 401, _error("invalid_request_error", "Invalid API Key provided")
            if self.failures_left > 0:
                self.failures_left -= 1
                return 500, _error("api_error", "Something went wrong on Stripe's end.")
            return self._route(recorded)

    def _route(self, recorded: Recorded) -> tuple[int, dict[str, Any]]:
        if (recorded.method, recorded.path) == ("POST", "/v1/checkout/sessions"):
            return self._create_session(recorded)
        kind, _, object_id = recorded.path.removeprefix("/v1/").partition("/")
        if recorded.method == "GET" and kind == "payment_intents":
            return self._retrieve_payment_intent(object_id, recorded.params)
        if recorded.method == "GET" and kind == "balance_transactions":
            return _found(self.balance_transactions.get(object_id))
        return 404, _error("invalid_request_error", f"Unrecognized request URL ({recorded.path})")

    def _create_session(self, recorded: Recorded) -> tuple[int, dict[str, Any]]:
        key = recorded.headers.get("idempotency-key")
        if key is not None and key in self._idempotent:
            params, response = self._idempotent[key]
            if params != recorded.params:
                return 400, _error(
                    "idempotency_error",
                    "Keys for idempotent requests can only be used with the same parameters.",
                )
            return 200, response
        session_id = f"cs_test_fake_{next(self._numbers)}"
        params = recorded.params
        session = {
            "id": session_id,
            "object": "checkout.session",
            "url": f"{self.base_url}/pay/{session_id}",
            "mode": params.get("mode"),
            "currency": "gbp",
            "amount_total": int(params.get("line_items[0][price_data][unit_amount]", "0")),
            "client_reference_id": params.get("client_reference_id"),
            "metadata": {
                name.removeprefix("metadata[").removesuffix("]"): value
                for name, value in params.items()
                if name.startswith("metadata[")
            },
            "payment_status": "unpaid",
            "status": "open",
        }
        self.sessions[session_id] = session
        if key is not None:
            self._idempotent[key] = (params, session)
        return 200, session

    def _retrieve_payment_intent(
        self, object_id: str, params: dict[str, str]
    ) -> tuple[int, dict[str, Any]]:
        intent = self.payment_intents.get(object_id)
        if intent is None:
            return _found(None)
        expanded = json.loads(json.dumps(intent))
        expand = {value for name, value in params.items() if name.startswith("expand[")}
        charge = expanded["latest_charge"]
        if "latest_charge.balance_transaction" in expand and "balance_transaction" in charge:
            charge["balance_transaction"] = self.balance_transactions[charge["balance_transaction"]]
        elif "latest_charge" not in {e.split(".")[0] for e in expand}:
            expanded["latest_charge"] = charge["id"]
        return 200, expanded


def _found(found: dict[str, Any] | None) -> tuple[int, dict[str, Any]]:
    if found is None:
        return 404, _error("invalid_request_error", "No such object")
    return 200, found


def _error(kind: str, message: str) -> dict[str, Any]:
    return {"error": {"type": kind, "message": message}}


def _checkout_page(session_id: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{CHECKOUT_PAGE_TITLE}</title></head><body><main>"
        f"<h1>{CHECKOUT_PAGE_TITLE}</h1><p>Session {session_id}</p></main></body></html>"
    )


def _handler_for(fake: FakeStripe) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def _serve(self, method: str) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length).decode() if length else parts.query
            recorded = Recorded(
                method=method,
                path=parts.path,
                params=dict(parse_qsl(body, keep_blank_values=True)),
                headers={name.lower(): value for name, value in self.headers.items()},
            )
            status, answer = fake.answer(recorded)
            if isinstance(answer, str):
                payload, content_type = answer.encode(), "text/html; charset=utf-8"
            else:
                payload, content_type = json.dumps(answer).encode(), "application/json"
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("Request-Id", f"req_fake_{len(fake.requests)}")
            if status >= 500:
                self.send_header("Stripe-Should-Retry", "false")  # keeps failing tests quick
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            del format, args  # quiet: pytest shows failures, not every request

    return Handler


class FakeStripeServer:
    """Start with `with FakeStripeServer() as fake:`; it listens on 127.0.0.1, a free port."""

    def __init__(self) -> None:
        self.fake = FakeStripe()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self.fake))
        self._server.daemon_threads = True
        host, port = self._server.server_address[:2]
        self.fake.base_url = f"http://{host!s}:{port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeStripe:
        self._thread.start()
        return self.fake

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
