"""What every command of `spojnia` needs: the composed service for one piece of work, closed after it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from app.bootstrap import Container, bootstrap
from app.config import Settings

T = TypeVar("T")


def with_container(work: Callable[[Container], Awaitable[T]]) -> T:
    async def run() -> T:
        app = bootstrap(Settings())
        try:
            return await work(app)
        finally:
            await app.aclose()

    return asyncio.run(run())
