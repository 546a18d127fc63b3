"""Code lists (dictionaries) as data: each code with names, legal basis and validity.

The lists live in `code_lists.json` so that a change of law adds rows, not code.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources

from app.domain.errors import FieldError, InvalidInput


@dataclass(frozen=True, slots=True, kw_only=True)
class Code:
    code: str
    name_pl: str
    name_en: str
    legal_basis: str
    valid_from: date
    valid_to: date | None
    group: str | None = None

    def valid_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


@dataclass(frozen=True, slots=True, kw_only=True)
class CodeList:
    name: str
    description: str
    codes: tuple[Code, ...]

    def get(self, code: str) -> Code | None:
        return next((c for c in self.codes if c.code == code), None)


class CodeLists:
    """All code lists of one version; `require` is how every coded field is validated."""

    def __init__(self, version: str, lists: Iterable[CodeList]) -> None:
        self.version = version
        self._lists: Mapping[str, CodeList] = {cl.name: cl for cl in lists}

    def names(self) -> list[str]:
        return sorted(self._lists)

    def get(self, name: str) -> CodeList | None:
        return self._lists.get(name)

    def require(self, list_name: str, code: str, *, field: str, on: date) -> Code:
        found = self._lists[list_name].get(code)
        if found is None:
            message = f"'{code}' is not a code of {list_name}"
        elif not found.valid_on(on):
            message = f"'{code}' of {list_name} is not valid on {on.isoformat()}"
        else:
            return found
        raise InvalidInput(message, [FieldError(field, message)])


def _parse_code(raw: Mapping[str, str | None]) -> Code:
    valid_to = raw.get("valid_to")
    return Code(
        code=str(raw["code"]),
        name_pl=str(raw["name_pl"]),
        name_en=str(raw["name_en"]),
        legal_basis=str(raw["legal_basis"]),
        valid_from=date.fromisoformat(str(raw["valid_from"])),
        valid_to=date.fromisoformat(valid_to) if valid_to else None,
        group=raw.get("group"),
    )


@cache
def default_code_lists() -> CodeLists:
    text = resources.files("app.domain").joinpath("code_lists.json").read_text("utf-8")
    document = json.loads(text)
    return CodeLists(
        document["version"],
        (
            CodeList(
                name=name,
                description=body["description"],
                codes=tuple(_parse_code(c) for c in body["codes"]),
            )
            for name, body in document["lists"].items()
        ),
    )
