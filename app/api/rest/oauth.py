"""Spójnia's own OAuth2 client-credentials endpoint (RFC 6749 §4.4) and its public keys."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any
from urllib.parse import unquote

from fastapi import APIRouter, Form, Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from app.api.deps import ContainerDep
from app.domain.services.clients import authenticate_client

router = APIRouter(tags=["oauth"])


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "Bearer"  # noqa: S105 - the RFC 6749 token type, not a secret
    expires_in: int
    scope: str


class OAuthError(BaseModel):
    error: str
    error_description: str | None = None


def _oauth_error(status: int, error: str, description: str) -> JSONResponse:
    # RFC 6749 §5.2 fixes this shape for token errors; it is not a problem document.
    headers = {"Cache-Control": "no-store"}
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="spojnia"'
    return JSONResponse({"error": error, "error_description": description}, status_code=status, headers=headers)


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        raw = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = raw.partition(":")
    return (unquote(client_id), unquote(secret)) if sep else None


@router.post(
    "/oauth/token",
    operation_id="issueToken",
    summary="Get an access token (client credentials)",
    response_model=TokenOut,
    responses={
        400: {"model": OAuthError, "description": "RFC 6749 error"},
        401: {"model": OAuthError, "description": "invalid_client"},
    },
)
async def issue_token(
    app: ContainerDep,
    grant_type: Annotated[str, Form()],
    scope: Annotated[str | None, Form(max_length=1000)] = None,
    client_id: Annotated[str | None, Form(max_length=100)] = None,
    client_secret: Annotated[str | None, Form(max_length=200)] = None,
    authorization: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    if app.issuer is None:
        return _oauth_error(
            400, "unsupported_grant_type", "this deployment takes tokens from its OpenID Connect provider"
        )
    if grant_type != "client_credentials":
        return _oauth_error(400, "unsupported_grant_type", "only client_credentials is supported")
    credentials = _basic_credentials(authorization) or (
        (client_id, client_secret) if client_id and client_secret else None
    )
    if credentials is None:
        return _oauth_error(401, "invalid_client", "client authentication is required")
    client = await authenticate_client(app.ctx, *credentials)
    if client is None:
        return _oauth_error(401, "invalid_client", "unknown client or wrong secret")
    requested = frozenset(scope.split()) if scope else None
    if requested is not None and not requested <= client.scopes:
        return _oauth_error(400, "invalid_scope", "the client is not registered for some of these scopes")
    scopes = client.grant(requested)
    token = app.issuer.issue(subject=client.client_id, institution_id=client.institution_id, scopes=scopes)
    body = TokenOut(access_token=token.access_token, expires_in=token.expires_in, scope=" ".join(sorted(scopes)))
    return JSONResponse(body.model_dump(), headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


@router.get("/oauth/jwks.json", operation_id="getJwks", summary="Public keys of Spójnia's own tokens")
async def jwks(app: ContainerDep) -> dict[str, Any]:
    return app.issuer.jwks() if app.issuer else {"keys": []}
