"""Users, contacts, companies and deals (for pickers and the associations sidebar)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query

from core import directory
from plugin.deps import CurrentUser, UoW
from plugin.schemas import RefOut, UserOut

router = APIRouter(tags=["directory"])


@router.get("/me", response_model=UserOut)
def me(user: CurrentUser) -> UserOut:
    return UserOut.build(user)


@router.get("/users", response_model=list[UserOut])
def list_users(uow: UoW, user: CurrentUser) -> list[UserOut]:
    return [UserOut.build(u) for u in directory.list_agents(uow=uow, actor=user)]


@router.get("/records/{kind}", response_model=list[RefOut])
def search_records(
    kind: Literal["contacts", "companies", "deals"], uow: UoW, user: CurrentUser,
    q: str | None = Query(None, max_length=200), limit: int = Query(50, ge=1, le=200),
) -> list[RefOut]:
    records = directory.search_records(uow=uow, actor=user, kind=kind, q=q, limit=limit)
    return [RefOut(id=r.id, name=r.name) for r in records]
