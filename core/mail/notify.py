"""Follow notifications by email, for users who opted in; sent after the action's commit, never before.

Every in-app notification is written by `core.audit` in the action's session. Session events collect the
new rows and hand them to the process's mail queue once the transaction has committed (a rollback drops
them), so every action that notifies followers also emails the ones who asked for it.
"""

from __future__ import annotations

import logging
from email.message import EmailMessage
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from core import audit
from core.mail import queue
from core.models import Notification, User
from core.permissions import require
from core.uow import UnitOfWork

log = logging.getLogger("deskpilot.mail")
_PENDING = "deskpilot.new_notification_ids"
_installed = False


def _collect(session: Session, flush_context: Any) -> None:
    ids = [obj.id for obj in session.new if isinstance(obj, Notification)]
    if ids:
        session.info.setdefault(_PENDING, []).extend(ids)


def _forget(session: Session) -> None:
    session.info.pop(_PENDING, None)


def _dispatch(session: Session) -> None:
    ids: list[int] = session.info.pop(_PENDING, [])
    if not ids:
        return
    try:
        mail_queue = queue.existing_queue(session.get_bind())
        if mail_queue is None or not mail_queue.settings.smtp_host:
            return
        for ident in sorted(ids):
            mail_queue.submit(queue.Job("notification", ident, mail_queue.settings, mail_queue.clock))
    except Exception:  # runs inside the commit of someone's action, which has succeeded: never fail it
        log.exception("could not queue notification emails %s", ids)


def install() -> None:
    """Listen for new notifications on every session (idempotent; done when a mail queue starts)."""
    global _installed
    if _installed:
        return
    event.listen(Session, "after_flush", _collect)
    event.listen(Session, "after_rollback", _forget)
    event.listen(Session, "after_commit", _dispatch)
    _installed = True


def compose_notification(uow: UnitOfWork, notification: Notification, user: User) -> EmailMessage:
    """A short, automatic email for one notification."""
    email = EmailMessage()
    email["From"] = uow.settings.smtp_from
    email["To"] = user.email
    email["Subject"] = " ".join(f"[deskpilot] {notification.text}".split())[:998]
    email["Auto-Submitted"] = "auto-generated"  # tells autoresponders not to answer
    email["X-Auto-Response-Suppress"] = "All"
    where = f"ticket #{notification.ticket_id}" if notification.ticket_id else "the help desk"
    email.set_content(
        f"{notification.text}\n\nOpen {where} in deskpilot to see what changed.\n\n"
        "You get these emails because you follow the ticket and switched on email notifications "
        "(PUT /api/v1/me/preferences)."
    )
    return email


def deliver_notification(*, uow: UnitOfWork, notification_id: int, attempt: int) -> float | None:
    """Email one notification if its user opted in; returns a retry delay after a temporary failure."""
    from core.mail import outbound

    notification = uow.session.get(Notification, notification_id)
    if notification is None or not uow.settings.smtp_host:
        return None
    user = uow.session.get(User, notification.user_id)
    if user is None or not user.is_active or not user.email_notifications:
        return None
    try:
        outbound.smtp_send(uow.settings, compose_notification(uow, notification, user))
    except outbound.SendFailure as failure:
        if failure.permanent or attempt >= uow.settings.smtp_max_attempts:
            log.warning("notification email %s to user %s failed: %s", notification.id, user.id, failure.reason)
            return None
        return outbound.retry_delay(uow.settings, attempt)
    return None


def set_email_notifications(*, uow: UnitOfWork, actor: User, enabled: bool) -> User:
    """Opt in or out of follow notifications by email (each user decides for themselves)."""
    require(actor, "notification.view")
    if actor.email_notifications != enabled:
        actor.email_notifications = enabled
        audit.record(uow, actor=actor, action="user.preferences", detail={"email_notifications": enabled},
                     notify=False)
        uow.commit()
    return actor
