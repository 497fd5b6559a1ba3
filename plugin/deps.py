"""Request dependencies: the app's state, a unit of work per request, and the signed-in user.

Each synchronous dependency costs a hop to the thread pool, so only the ones that touch the database
are synchronous: the state is read on the event loop, and the unit of work opens there (a session
connects lazily, at its first query) and closes in the pool once the response has been sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Annotated

import anyio
from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from core import users
from core.config import Settings
from core.models import User
from core.uow import UnitOfWork


@dataclass
class AppState:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    clock: Callable[[], datetime]
    # Sessions for the read endpoints (`Reading`): on PostgreSQL a pool of its own whose connections run
    # generic plans (see core.db.make_engine); None: the same sessions as everything else.
    read_session_factory: sessionmaker[Session] | None = None

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.session_factory, settings=self.settings, clock=self.clock)

    def read_uow(self) -> UnitOfWork:
        return UnitOfWork(self.read_session_factory or self.session_factory, settings=self.settings,
                          clock=self.clock)


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.deskpilot
    return state


async def get_state(request: Request) -> AppState:
    return app_state(request)


State = Annotated[AppState, Depends(get_state)]


async def get_uow(state: State) -> AsyncIterator[UnitOfWork]:
    """A unit of work for the request; leaving it (rollback unless committed, close) runs in the pool."""
    uow = state.uow().__enter__()
    try:
        yield uow
    except BaseException as exc:
        with anyio.CancelScope(shield=True):  # a client that hung up still gets its session closed
            await run_in_threadpool(uow.__exit__, type(exc), exc, exc.__traceback__)  # a race becomes Conflict
        raise
    with anyio.CancelScope(shield=True):
        await run_in_threadpool(uow.__exit__, None, None, None)


UoW = Annotated[UnitOfWork, Depends(get_uow)]


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def current_user(request: Request, uow: UoW) -> User:
    """The user behind the bearer token (401 without a valid one)."""
    return users.authenticate_token(uow=uow, token=bearer_token(request))


CurrentUser = Annotated[User, Depends(current_user)]


class Reading:
    """A read endpoint's whole database work in its one trip to the thread pool: `with read as (uow, user):`
    opens a read-only unit of work, authenticates the bearer token (401 without a valid one) and closes
    the unit of work on the way out. As separate dependencies, authenticating and closing would each add
    a trip."""

    def __init__(self, state: AppState, token: str | None) -> None:
        self._state, self._token = state, token
        self._uow: UnitOfWork | None = None
        self._generic_plans = True

    def searching(self, q: str | None) -> Reading:
        """A read that searches for `q` (when it has text): its statements are planned for their words,
        so it reads through the general pool, not the read pool's generic plans."""
        if q and q.strip():
            self._generic_plans = False
        return self

    def __enter__(self) -> tuple[UnitOfWork, User]:
        uow = self._open()
        try:
            return uow, users.authenticate_token(uow=uow, token=self._token)
        except BaseException as exc:
            uow.__exit__(type(exc), exc, exc.__traceback__)
            raise

    @contextmanager
    def token_checked_in_core(self) -> Iterator[tuple[UnitOfWork, str | None]]:
        """The read-only unit of work and the bearer token, for a core call that authenticates the token
        itself, in the statement that reads its data (`core.tickets.list_tickets_by_token`)."""
        uow = self._open()
        try:
            yield uow, self._token
        except BaseException as exc:
            uow.__exit__(type(exc), exc, exc.__traceback__)
            raise
        uow.__exit__(None, None, None)

    def _open(self) -> UnitOfWork:
        unit = self._state.read_uow() if self._generic_plans else self._state.uow()
        uow = self._uow = unit.__enter__().read_only()
        return uow

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._uow is not None:
            self._uow.__exit__(exc_type, exc, tb)


async def reading(request: Request) -> Reading:
    return Reading(app_state(request), bearer_token(request))  # the state read directly: one dependency less


Read = Annotated[Reading, Depends(reading)]
