"""Request dependencies: the app's state, a unit of work per request, and the signed-in user."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

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

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.session_factory, settings=self.settings, clock=self.clock)


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.deskpilot
    return state


State = Annotated[AppState, Depends(get_state)]


def get_uow(state: State) -> Iterator[UnitOfWork]:
    with state.uow() as uow:
        yield uow


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
