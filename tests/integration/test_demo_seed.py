"""The demo workspace seeds once, with working logins, and shows up in the ticket views."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select

from core import users
from core.demo.seed import load_seed_data, seed
from core.models import Conversation, Inbox, Message, Ticket, User
from core.uow import UnitOfWork
from core.workspace import load_settings


def test_demo_seed_creates_workspace_once(uow_factory: Callable[[], UnitOfWork]) -> None:
    data = load_seed_data()
    with uow_factory() as uow:
        created, logins = seed(uow=uow)
    assert created
    assert len(logins) == len(data["users"])
    with uow_factory() as uow:
        count = uow.session.scalar(select(func.count()).select_from(Ticket))
        assert count == len(data["tickets"]) >= 40
        assert uow.session.scalar(select(func.count()).select_from(Inbox)) >= 3
        channels = set(uow.session.scalars(select(Ticket.channel)))
        assert {"email", "chat"} <= channels
        messages = uow.session.scalar(select(func.count()).select_from(Message))
        assert messages >= 3 * count
        assert uow.session.scalar(select(func.count()).select_from(Conversation).where(
            Conversation.location == "inbox")) == len(data["inbox_conversations"])
        settings = load_settings(uow)
        assert settings.ai_conversation_data and settings.ai_copilot
        token_user = users.authenticate_token(uow=uow, token=logins[0].token)
        assert token_user.email == logins[0].email
        assert users.authenticate_password(uow=uow, email=logins[1].email, password=logins[1].password)
        admins = uow.session.scalar(select(func.count()).select_from(User).where(User.is_super_admin.is_(True)))
        assert admins >= 1
    with uow_factory() as uow:
        again, fresh = seed(uow=uow)
        assert not again, "seeding twice changes nothing"
        assert [f.email for f in fresh] == [login.email for login in logins]
        assert users.authenticate_token(uow=uow, token=fresh[0].token).email == logins[0].email
        assert uow.session.scalar(select(func.count()).select_from(Ticket)) == count
