"""`HttpRecordSystem`: a partner's system that implements Spójnia's partner API (openapi/partner/openapi.json).

One instance per institution. Each call is a single HTTP request with the partner's timeout; retrying with
back-off and the circuit breaker are the partner relay's (app/adapters/events/partner_relay.py), which keeps
both in the database so that nothing is lost while the partner is down. A failed call raises
`PartnerCallFailed`, saying whether it looks like the partner is down (no answer, a timeout, 5xx, 408, 429),
which is what the circuit breaker counts.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

import httpx

from app.domain.code_lists import CodeLists
from app.domain.errors import FieldError, InvalidInput
from app.domain.ids import ReferralId
from app.domain.partner_links import PartnerEndpoint
from app.domain.record_systems import (
    ChangeBatch,
    ContractActionSummary,
    RecordSystemKind,
    ReferralEnvelope,
    SourceEnrollment,
    SourceHousehold,
    SourceHouseholdMember,
    SourcePerson,
    StatusReport,
)
from app.domain.webhooks import is_private_address

USER_AGENT = "Spojnia-PartnerApi/1"
# Answers that mean "not now" rather than "no": the call is retried and counts towards the circuit breaker.
UNAVAILABLE = frozenset({408, 425, 429})


class PartnerCallFailed(Exception):
    """A call to a partner's system that did not succeed; the message never carries the token."""

    def __init__(self, error: str, *, status_code: int | None = None, partner_down: bool) -> None:
        super().__init__(error)
        self.error = error[:500]
        self.status_code = status_code
        self.partner_down = partner_down


def _off_contract(response: httpx.Response, problem: Exception) -> PartnerCallFailed:
    """The partner answered, but not as the contract says: retried, not counted as the partner being down."""
    return PartnerCallFailed(
        f"the answer does not follow the contract: {problem}", status_code=response.status_code, partner_down=False
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class ReceivedReport:
    """One item of a status page: the report, or why it could not be read; `key` identifies it for good."""

    key: str
    status: str
    report: StatusReport | None
    problem: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusPage:
    items: Sequence[ReceivedReport]
    next_cursor: str | None


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def envelope_json(envelope: ReferralEnvelope) -> dict[str, Any]:
    """The ReferralEnvelope of the contract."""
    return {
        "referral_id": str(envelope.referral_id),
        "sender_id": str(envelope.sender_id),
        "receiver_id": str(envelope.receiver_id),
        "status": envelope.status,
        "reason": envelope.reason,
        "instrument": {"code_list": envelope.instrument_code_list, "code": envelope.instrument_code},
        "priority": envelope.priority,
        "justification": envelope.justification,
        "respond_by": _iso(envelope.respond_by),
        "due": _iso(envelope.due),
        "sent_at": _iso(envelope.sent_at),
        "forwarded_from": str(envelope.forwarded_from) if envelope.forwarded_from else None,
        "subjects": [
            {
                "person_id": s.external_ref,
                "first_name": s.first_name,
                "last_name": s.last_name,
                "birth_date": _iso(s.birth_date),
                "pesel": s.pesel,
            }
            for s in envelope.subjects
        ],
    }


def contract_actions_json(actions: Sequence[ContractActionSummary]) -> dict[str, Any]:
    return {
        "actions": [
            {
                "contract_id": str(a.contract_id),
                "action": a.action,
                "responsible_institution_id": str(a.responsible_institution_id)
                if a.responsible_institution_id
                else None,
                "due": _iso(a.due),
                "person_ids": [str(p) for p in a.person_ids],
            }
            for a in actions
        ]
    }


def _canonical(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _optional_bool(item: Mapping[str, Any], name: str) -> bool | None:
    value = item.get(name)
    if value is not None and not isinstance(value, bool):
        raise ValueError(f"'{name}' must be true, false or null")
    return value


def _optional_str(item: Mapping[str, Any], name: str) -> str | None:
    value = item.get(name)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"'{name}' must be a string or null")
    return value


def _moment(raw: object) -> datetime:
    if not isinstance(raw, str):
        raise ValueError("'at' must be a date-time string")
    moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("'at' must carry a time zone")
    return moment


def parse_status_item(item: object) -> ReceivedReport:
    """A status report of the contract; a malformed one is kept with its problem, to be logged as rejected."""
    key = hashlib.sha256(_canonical(item)).hexdigest()
    status = str(item.get("status"))[:40] if isinstance(item, dict) else "?"
    try:
        if not isinstance(item, dict):
            raise ValueError("a status report must be an object")
        if not isinstance(item.get("status"), str):
            raise ValueError("'status' must be a string")
        report = StatusReport(
            referral_id=ReferralId(UUID(str(item.get("referral_id")))),
            status=item["status"],
            at=_moment(item.get("at")),
            outcome_kind=_optional_str(item, "outcome_kind"),
            note=_optional_str(item, "note"),
            reason=_optional_str(item, "reason"),
        )
    except (ValueError, TypeError) as problem:
        return ReceivedReport(key=key, status=status, report=None, problem=f"malformed status report: {problem}")
    return ReceivedReport(key=key, status=status, report=report)


def parse_status_page(body: object) -> StatusPage:
    if not isinstance(body, dict) or not isinstance(body.get("items"), list):
        raise ValueError("the answer must be an object with a list of items")
    cursor = body.get("next_cursor")
    if cursor is not None and not isinstance(cursor, str):
        raise ValueError("'next_cursor' must be a string or null")
    return StatusPage(items=[parse_status_item(i) for i in body["items"]], next_cursor=cursor)


def _day(raw: object) -> date | None:
    return date.fromisoformat(str(raw)) if raw is not None else None


def parse_changes(body: object) -> ChangeBatch:
    if not isinstance(body, dict):
        raise ValueError("the answer must be an object")
    persons = [
        SourcePerson(
            external_ref=str(p["external_ref"]),
            first_name=str(p["first_name"]),
            last_name=str(p["last_name"]),
            pesel=_optional_str(p, "pesel"),
            birth_date=_day(p.get("birth_date")),
            sex=_optional_str(p, "sex"),
            id_doc_kind=_optional_str(p, "id_doc_kind"),
            id_doc_number=_optional_str(p, "id_doc_number"),
            id_doc_country=_optional_str(p, "id_doc_country"),
            address_teryt=_optional_str(p, "address_teryt"),
        )
        for p in body.get("persons") or []
    ]
    enrollments = [
        SourceEnrollment(
            person_ref=str(e["person_ref"]),
            status=str(e["status"]),
            since=_day(e.get("since")),
            until=_day(e.get("until")),
            worker_name=_optional_str(e, "worker_name"),
            worker_ref=_optional_str(e, "worker_ref"),
            registered_unemployed=_optional_bool(e, "registered_unemployed"),
        )
        for e in body.get("enrollments") or []
    ]
    households = [
        SourceHousehold(
            external_ref=str(h["external_ref"]),
            members=[SourceHouseholdMember(person_ref=str(m["person_ref"]), role=str(m["role"])) for m in h["members"]],
            name=_optional_str(h, "name"),
        )
        for h in body.get("households") or []
    ]
    cursor = body.get("next_cursor")
    return ChangeBatch(
        persons=persons,
        enrollments=enrollments,
        households=households,
        next_cursor=str(cursor) if cursor is not None else None,
    )


async def resolves_to_private(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if is_private_address(host):
        return True
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return False  # the call itself will fail and be retried
    return any(is_private_address(str(info[4][0])) for info in infos)


class HttpRecordSystem:
    """The RecordSystem port over the partner API. Codes travel as Spójnia's own (the contract names the lists)."""

    kind = RecordSystemKind.PARTNER_API

    def __init__(
        self,
        endpoint: PartnerEndpoint,
        http: httpx.AsyncClient,
        codes: CodeLists,
        *,
        allow_private_targets: bool,
    ) -> None:
        self.endpoint = endpoint
        self.http = http
        self.codes = codes
        self.allow_private_targets = allow_private_targets

    def __repr__(self) -> str:
        return f"HttpRecordSystem({self.endpoint.institution_id}, {self.endpoint.base_url!r})"

    def _url(self, path: str) -> str:
        return self.endpoint.base_url.rstrip("/") + path

    async def call(
        self,
        method: str,
        path: str,
        *,
        body: object | None = None,
        params: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> httpx.Response:
        """One request; the 2xx answer, or PartnerCallFailed."""
        url = self._url(path)
        if not self.allow_private_targets and await resolves_to_private(url):
            raise PartnerCallFailed("refused: the URL resolves to a private or loopback address", partner_down=False)
        headers = {
            "authorization": f"Bearer {self.endpoint.token}",
            "user-agent": USER_AGENT,
            "accept": "application/json",
            "spojnia-institution": str(self.endpoint.institution_id),
        }
        if idempotency_key is not None:
            headers["idempotency-key"] = idempotency_key
        content = None
        if body is not None:
            headers["content-type"] = "application/json"
            content = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        try:
            response = await self.http.request(
                method,
                url,
                content=content,
                params=params,
                headers=headers,
                timeout=self.endpoint.timeout_seconds,
                follow_redirects=False,
            )
        except httpx.HTTPError as failure:
            # The exception's text names the failure (a refused connection, a timeout), never the headers.
            raise PartnerCallFailed(f"{failure.__class__.__name__}: {str(failure)[:200]}", partner_down=True) from None
        if not response.is_success:
            raise PartnerCallFailed(
                f"HTTP {response.status_code}",
                status_code=response.status_code,
                partner_down=response.status_code >= 500 or response.status_code in UNAVAILABLE,
            )
        return response

    @staticmethod
    def _json(response: httpx.Response) -> object:
        try:
            return response.json()
        except ValueError:
            raise PartnerCallFailed(
                "the answer is not JSON", status_code=response.status_code, partner_down=False
            ) from None

    async def send_referral(self, envelope: ReferralEnvelope, *, idempotency_key: str) -> int:
        """PUT the envelope; the status code of the 2xx answer."""
        response = await self.call(
            "PUT",
            f"/referrals/{envelope.referral_id}",
            body=envelope_json(envelope),
            idempotency_key=idempotency_key,
        )
        return response.status_code

    async def send_event(self, payload: Mapping[str, object], *, idempotency_key: str) -> int:
        """POST a thin event (the webhook payload); the status code of the 2xx answer."""
        response = await self.call("POST", "/events", body=dict(payload), idempotency_key=idempotency_key)
        return response.status_code

    async def push_referral(self, envelope: ReferralEnvelope, *, idempotency_key: str | None = None) -> None:
        key = idempotency_key or hashlib.sha256(_canonical(envelope_json(envelope))).hexdigest()
        await self.send_referral(envelope, idempotency_key=key)

    async def push_contract_actions(self, actions: Sequence[ContractActionSummary]) -> None:
        body = contract_actions_json(actions)
        await self.call(
            "POST", "/contract-actions", body=body, idempotency_key=hashlib.sha256(_canonical(body)).hexdigest()
        )

    async def pull_status_page(self, since: str | None) -> StatusPage:
        response = await self.call("GET", "/referral-statuses", params={"since": since} if since else None)
        try:
            return parse_status_page(self._json(response))
        except ValueError as problem:
            raise _off_contract(response, problem) from None

    async def pull_statuses(self, since: str | None) -> tuple[Sequence[StatusReport], str | None]:
        page = await self.pull_status_page(since)
        return [i.report for i in page.items if i.report is not None], page.next_cursor

    async def pull_changes(self, since: str | None) -> ChangeBatch:
        response = await self.call("GET", "/changes", params={"since": since} if since else None)
        try:
            return parse_changes(self._json(response))
        except (ValueError, KeyError, TypeError) as problem:
            raise _off_contract(response, problem) from None

    def _known(self, code_list: str, code: str) -> str:
        listed = self.codes.get(code_list)
        if listed is None or listed.get(code) is None:
            message = f"'{code}' is not a code of {code_list}"
            raise InvalidInput(message, [FieldError("code", message)])
        return code

    def to_shared_code(self, code_list: str, vendor_code: str) -> str:
        return self._known(code_list, vendor_code)

    def to_vendor_code(self, code_list: str, shared_code: str) -> str:
        return self._known(code_list, shared_code)
