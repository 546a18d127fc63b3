"""The partner API: what a vendor's system implements so that Spójnia can hand it referrals and learn their fate.

Built here, from the same names the adapter (partner_api.py) uses, and committed as openapi/partner/openapi.json
by `spojnia export-api`; tests/contract/test_partner_contract.py fails when the two differ, and the adapter's
requests are validated against it in tests/integration/test_partner_api.py.
"""

from __future__ import annotations

from typing import Any

from app.domain.code_lists import default_code_lists
from app.domain.partner_links import REPORTABLE
from app.domain.webhooks import EVENT_TYPES

CONTRACT_VERSION = "1.0.0"

DESCRIPTION = """\
The API a record system (POMOST Std, TT-Pomoc, Syriusz Std, an NGO's own tool) implements so that Spójnia, \
the shared layer of the county's social-assistance centres, labour offices and NGOs, can hand it the referrals \
its institution receives, tell it of events, and learn what became of each referral.

Spójnia is the client; your system is the server. One base URL and one bearer token per institution are \
configured in Spójnia (`SPOJNIA_PARTNER_APIS`).

**Authentication.** Every request carries `Authorization: Bearer <token>`, the token you issued to Spójnia for \
that institution. Compare it in constant time and answer 401 when it is wrong; give each institution its own \
token. `Spojnia-Institution` names the institution the request is for (useful when one deployment serves several). \
Outside development Spójnia calls only `https` URLs on public addresses.

**Delivery and idempotency.** Spójnia sends each referral and each event until you answer 2xx, with exponential \
back-off (seconds at first, days at the end), so you may see the same request more than once: after a timeout, \
after a 5xx, after a restart on either side. Every `PUT` and `POST` carries an `Idempotency-Key` that stays the \
same on every retry of the same delivery. Apply a key once and answer any repeat with 2xx as if it were new \
(never 409): `PUT /referrals/{referral_id}` replaces the referral as a whole, so keep exactly one record per \
`referral_id`; `POST /events` is keyed by the event `id` (equal to its `Idempotency-Key`). Deliveries about one \
referral arrive in the order they happened; different referrals may interleave.

**Answers.** 2xx: taken. 5xx, 408, 425, 429, a timeout or no answer: you are unavailable; Spójnia retries, and \
after several such failures in a row stops calling you for a cool-down (a circuit breaker), then tries one call. \
Other 4xx: Spójnia retries with back-off too (a token may be fixed meanwhile) and parks the delivery for an \
administrator when the attempts run out. Answer within the configured timeout (5 s by default); queue slow work \
and answer 202.

**Reporting statuses.** Spójnia pulls `GET /referral-statuses?since=<cursor>` every half minute or so. Report \
the receiver's steps one by one, in the order they happened: `received`, then `accepted` or `rejected` (with a \
`reason`), `in_progress`, `on_hold`, `in_progress` again, and `completed` (with an `outcome_kind`) or `failed` \
(with a `reason`). Spójnia applies a report only where a referral's lifecycle allows it, exactly as if the \
institution's worker had clicked it; anything else (a status the referral cannot take from where it is, a referral \
the institution does not receive, an unknown code) is refused and logged for both sides to see, and the next \
report is still read. A report seen before is ignored, so re-sending a page is harmless.

**Data.** Codes are Spójnia's own code lists (`GET /v1/code-lists` of Spójnia's API). The envelope carries what \
the receiving institution may read of the persons concerned at the time of sending, under the agreement or \
consent it rests on, never the sender's case file; subjects may be fewer than the referral names when a ground \
no longer holds. Spójnia may add properties to what it sends: ignore the ones you do not know.
"""


def _codes(list_name: str) -> list[str]:
    listed = default_code_lists().get(list_name)
    return [c.code for c in listed.codes] if listed else []


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


UUID = {"type": "string", "format": "uuid"}
DATE = {"type": "string", "format": "date"}
DATE_TIME = {"type": "string", "format": "date-time"}
TEXT = {"type": "string"}


def schemas() -> dict[str, Any]:
    return {
        "ReferralEnvelope": {
            "type": "object",
            "description": "A referral the institution receives: who, why, what is asked for, by when.",
            "required": [
                "referral_id",
                "sender_id",
                "receiver_id",
                "status",
                "reason",
                "instrument",
                "priority",
                "justification",
                "respond_by",
                "due",
                "sent_at",
                "forwarded_from",
                "subjects",
            ],
            "properties": {
                "referral_id": UUID,
                "sender_id": {**UUID, "description": "The sending institution (Spójnia's id)."},
                "receiver_id": {**UUID, "description": "Your institution."},
                "status": {"type": "string", "description": "The referral's status in Spójnia when it was sent."},
                "reason": {"type": "string", "description": "A code of ReasonForAssistance."},
                "instrument": {"$ref": "#/components/schemas/Instrument"},
                "priority": {"type": "string", "enum": ["routine", "urgent", "asap"]},
                "justification": {"type": "string", "description": "The sender's words; may be empty."},
                "respond_by": {**_nullable(DATE), "description": "Answer (receive, accept or reject) by this day."},
                "due": {**_nullable(DATE), "description": "When the service is wanted by, if the sender said."},
                "sent_at": _nullable(DATE_TIME),
                "forwarded_from": {
                    **_nullable(UUID),
                    "description": "The referral this one was forwarded from, by the institution that sent it on.",
                },
                "subjects": {"type": "array", "items": {"$ref": "#/components/schemas/Subject"}},
            },
        },
        "Instrument": {
            "type": "object",
            "required": ["code_list", "code"],
            "properties": {
                "code_list": {"type": "string", "enum": ["LabourMarketInstrument", "AssistanceForm"]},
                "code": {"type": "string"},
            },
        },
        "Subject": {
            "type": "object",
            "description": "A person the referral is about, as far as your institution may know them.",
            "required": ["person_id", "first_name", "last_name", "birth_date", "pesel"],
            "properties": {
                "person_id": {**UUID, "description": "Spójnia's id of the person: keep it to match them later."},
                "first_name": TEXT,
                "last_name": TEXT,
                "birth_date": _nullable(DATE),
                "pesel": {**_nullable({"type": "string", "pattern": "^[0-9]{11}$"})},
            },
        },
        "Event": {
            "type": "object",
            "description": "A thin event, as Spójnia's webhooks carry it: read details with your own rights.",
            "required": ["id", "type", "occurred_at", "subject", "data"],
            "properties": {
                "id": {**UUID, "description": "The event's id; the same as the Idempotency-Key."},
                "type": {"type": "string", "enum": sorted(EVENT_TYPES)},
                "occurred_at": DATE_TIME,
                "subject": {
                    "type": "object",
                    "required": ["type", "id"],
                    "properties": {"type": {"type": "string"}, "id": UUID},
                },
                "data": {"type": "object", "additionalProperties": _nullable(TEXT)},
            },
        },
        "StatusReport": {
            "type": "object",
            "description": "A step your institution took on a referral it received.",
            "required": ["referral_id", "status", "at"],
            "properties": {
                "referral_id": UUID,
                "status": {"type": "string", "enum": sorted(s.value for s in REPORTABLE)},
                "at": {**DATE_TIME, "description": "When it happened, with a time zone."},
                "reason": {
                    **_nullable(
                        {"type": "string", "enum": _codes("ReferralRejectionReason") + _codes("ReferralFailureReason")}
                    ),
                    "description": "For `rejected` a ReferralRejectionReason, for `failed` a ReferralFailureReason.",
                },
                "outcome_kind": {
                    **_nullable({"type": "string", "enum": _codes("OutcomeKind")}),
                    "description": "For `completed`: the outcome (OutcomeKind), recorded for every person concerned.",
                },
                "note": {**_nullable(TEXT), "description": "A worker's note, kept in the referral's history."},
            },
        },
        "StatusPage": {
            "type": "object",
            "required": ["items", "next_cursor"],
            "properties": {
                "items": {"type": "array", "items": {"$ref": "#/components/schemas/StatusReport"}},
                "next_cursor": {
                    **_nullable(TEXT),
                    "description": "Opaque; Spójnia asks `since` it next time. Null or unchanged: nothing new.",
                },
            },
        },
        "ChangeBatch": {
            "type": "object",
            "description": "Persons, their status at your institution and households changed since the cursor.",
            "required": ["next_cursor"],
            "properties": {
                "persons": {"type": "array", "items": {"$ref": "#/components/schemas/SourcePerson"}},
                "enrollments": {"type": "array", "items": {"$ref": "#/components/schemas/SourceEnrollment"}},
                "households": {"type": "array", "items": {"$ref": "#/components/schemas/SourceHousehold"}},
                "next_cursor": _nullable(TEXT),
            },
        },
        "SourcePerson": {
            "type": "object",
            "required": ["external_ref", "first_name", "last_name"],
            "properties": {
                "external_ref": {**TEXT, "description": "The person's id in your system."},
                "first_name": TEXT,
                "last_name": TEXT,
                "pesel": _nullable(TEXT),
                "birth_date": _nullable(DATE),
                "sex": _nullable(TEXT),
                "id_doc_kind": _nullable(TEXT),
                "id_doc_number": _nullable(TEXT),
                "id_doc_country": _nullable(TEXT),
                "address_teryt": _nullable(TEXT),
            },
        },
        "SourceEnrollment": {
            "type": "object",
            "required": ["person_ref", "status"],
            "properties": {
                "person_ref": TEXT,
                "status": TEXT,
                "since": _nullable(DATE),
                "until": _nullable(DATE),
                "worker_name": _nullable(TEXT),
                "worker_ref": _nullable(TEXT),
                "registered_unemployed": {
                    **_nullable({"type": "boolean"}),
                    "description": "Your own view of whether the person is registered unemployed at a PUP.",
                },
            },
        },
        "SourceHousehold": {
            "type": "object",
            "required": ["external_ref", "members"],
            "properties": {
                "external_ref": TEXT,
                "name": {**_nullable(TEXT), "description": "The family's name in your system."},
                "members": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["person_ref", "role"],
                        "properties": {"person_ref": TEXT, "role": TEXT},
                    },
                },
            },
        },
        "ContractActions": {
            "type": "object",
            "required": ["actions"],
            "properties": {
                "actions": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["contract_id", "action", "responsible_institution_id", "due", "person_ids"],
                        "properties": {
                            "contract_id": UUID,
                            "action": TEXT,
                            "responsible_institution_id": _nullable(UUID),
                            "due": _nullable(DATE),
                            "person_ids": {"type": "array", "items": UUID},
                        },
                    },
                }
            },
        },
    }


def _header(name: str, description: str, *, required: bool = True) -> dict[str, Any]:
    return {"name": name, "in": "header", "required": required, "description": description, "schema": TEXT}


IDEMPOTENCY_KEY = {"$ref": "#/components/parameters/IdempotencyKey"}
INSTITUTION = {"$ref": "#/components/parameters/SpojniaInstitution"}
SINCE = {
    "name": "since",
    "in": "query",
    "required": False,
    "description": "The `next_cursor` of your previous answer; absent on the first call.",
    "schema": TEXT,
}


def _taken(description: str) -> dict[str, Any]:
    return {
        "200": {"description": description},
        "201": {"description": description},
        "202": {"description": description + " (to be processed later)"},
        "204": {"description": description},
        "401": {"description": "The token is wrong."},
        "4XX": {"description": "Refused: retried with back-off, then parked for an administrator."},
        "5XX": {"description": "Unavailable: retried with back-off; counts towards the circuit breaker."},
    }


def partner_openapi() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the partner API."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Spójnia partner API",
            "version": CONTRACT_VERSION,
            "summary": "What a record system implements to receive referrals and events from Spójnia "
            "and report back their statuses.",
            "description": DESCRIPTION,
            "license": {"name": "EUPL-1.2", "identifier": "EUPL-1.2"},
        },
        "servers": [
            {
                "url": "https://{your-host}/{base-path}",
                "description": "The base URL configured in Spójnia",
                "variables": {"your-host": {"default": "example.org"}, "base-path": {"default": "spojnia"}},
            }
        ],
        "security": [{"bearer": []}],
        "paths": {
            "/referrals/{referral_id}": {
                "put": {
                    "operationId": "putReferral",
                    "summary": "Take or replace a referral your institution receives",
                    "description": "Sent when a referral is sent or forwarded to your institution. Idempotent: "
                    "keep one record per `referral_id`; a repeat (same Idempotency-Key) changes nothing and "
                    "is answered 2xx.",
                    "parameters": [
                        {"name": "referral_id", "in": "path", "required": True, "schema": UUID},
                        IDEMPOTENCY_KEY,
                        INSTITUTION,
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ReferralEnvelope"}}},
                    },
                    "responses": _taken("Taken."),
                }
            },
            "/events": {
                "post": {
                    "operationId": "receiveEvent",
                    "summary": "Learn of an event concerning your institution",
                    "description": "Every other event your institution is told of (a referral you sent was "
                    "accepted or completed, one you received was cancelled...). Apply each `id` once.",
                    "parameters": [IDEMPOTENCY_KEY, INSTITUTION],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Event"}}},
                    },
                    "responses": _taken("Taken."),
                }
            },
            "/referral-statuses": {
                "get": {
                    "operationId": "listReferralStatuses",
                    "summary": "The steps your institution took on referrals it received, since a cursor",
                    "parameters": [SINCE, INSTITUTION],
                    "responses": {
                        "200": {
                            "description": "Reports recorded after the cursor, oldest first (a page of them).",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/StatusPage"}}},
                        },
                        "401": {"description": "The token is wrong."},
                    },
                }
            },
            "/changes": {
                "get": {
                    "operationId": "listChanges",
                    "summary": "Optional: persons, their status and households changed since a cursor",
                    "description": "Spójnia imports the changes (`spojnia sync pull`) as it imports a file of "
                    "your system: each person with their status at your institution and the households they live "
                    "in. Every person an enrollment or a household names must be among the persons of the same "
                    "answer (else the row is refused); a batch with a refused row is asked for again from the same "
                    "cursor, and a null next_cursor keeps the one asked from. Answer 404 if you do not offer it.",
                    "parameters": [SINCE, INSTITUTION],
                    "responses": {
                        "200": {
                            "description": "Changes after the cursor.",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ChangeBatch"}}},
                        },
                        "404": {"description": "Not offered."},
                    },
                }
            },
            "/contract-actions": {
                "post": {
                    "operationId": "receiveContractActions",
                    "summary": "Optional: the actions of family contracts your institution is responsible for",
                    "parameters": [IDEMPOTENCY_KEY, INSTITUTION],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ContractActions"}}},
                    },
                    "responses": _taken("Taken."),
                }
            },
        },
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The token your system issued to Spójnia for this institution.",
                }
            },
            "parameters": {
                "IdempotencyKey": _header(
                    "Idempotency-Key",
                    "The same on every retry of one delivery: the delivery's id for a referral, the event's id "
                    "for an event. Apply it once; answer a repeat with 2xx.",
                ),
                "SpojniaInstitution": _header(
                    "Spojnia-Institution", "The institution (Spójnia's id) the request is for.", required=False
                ),
            },
            "schemas": schemas(),
        },
    }
