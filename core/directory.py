"""Contacts, companies and deals: minimal CRM records that tickets are associated with."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select

from core.models import Company, Contact, Deal, User
from core.permissions import require
from core.uow import UnitOfWork

KINDS: dict[str, Any] = {"contacts": Contact, "companies": Company, "deals": Deal}


def search_records(*, uow: UnitOfWork, actor: User, kind: str, q: str | None = None, limit: int = 50) -> list[Any]:
    """Contacts, companies or deals whose name (or email/domain) contains `q`."""
    require(actor, "ticket.view")
    model = KINDS[kind]
    stmt = select(model).order_by(model.name, model.id).limit(max(1, min(limit, 200)))
    if q and q.strip():
        pattern = f"%{q.strip()}%"
        conditions = [model.name.ilike(pattern)]
        if model is Contact:
            conditions.append(Contact.email.ilike(pattern))
        if model is Company:
            conditions.append(Company.domain.ilike(pattern))
        stmt = stmt.where(or_(*conditions))
    return list(uow.session.scalars(stmt))


def list_agents(*, uow: UnitOfWork, actor: User) -> list[User]:
    """Active users, for owner and assignee pickers."""
    require(actor, "ticket.view")
    return list(uow.session.scalars(select(User).where(User.is_active.is_(True)).order_by(User.name, User.id)))
