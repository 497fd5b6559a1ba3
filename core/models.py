"""Domain model mapped with SQLAlchemy 2. Rules that belong to one entity live on it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

PRIORITIES = ("LOW", "MEDIUM", "HIGH", "URGENT")
CATEGORIES = ("PRODUCT_ISSUE", "BILLING_ISSUE", "FEATURE_REQUEST", "GENERAL_INQUIRY")
CHANNELS = ("email", "chat", "form", "phone")
DIRECTIONS = ("incoming", "outgoing", "comment")
DELIVERY_STATUSES = ("queued", "sent", "failed")  # None: nothing to deliver (notes, incoming, phone, form)
DEFAULT_PIPELINE = "support"
PIPELINES: dict[str, dict[str, Any]] = {
    "support": {
        "label": "Support Pipeline",
        "statuses": {
            "NEW": "New",
            "WAITING_ON_CONTACT": "Waiting on contact",
            "WAITING_ON_US": "Waiting on us",
            "CLOSED": "Closed",
        },
    }
}
HELP_DESK = "help_desk"
INBOX = "inbox"


def status_label(pipeline: str, status: str) -> str:
    """A status as agents read it ("Waiting on us"), or the status itself when the pipeline has no label."""
    return str(PIPELINES.get(pipeline, {}).get("statuses", {}).get(status, status))


def utcnow() -> datetime:
    """Timezone-aware now; the one clock default for columns."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes and always hands back aware UTC (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value

    def result_processor(self, dialect: Any, coltype: Any) -> Any:
        """On SQLite, parse the stored text with the C `fromisoformat` and attach UTC in one step (a list page
        reads hundreds of these; SQLAlchemy's generic path runs a regex and then the method above). On
        PostgreSQL the column is a timestamptz, which the driver already hands back aware."""
        if dialect.name == "postgresql":
            return None  # a timestamptz comes from the driver aware already: nothing to do per value
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        fallback = super().result_processor(dialect, coltype)

        def process(value: Any) -> datetime | None:
            if value is None:
                return None
            try:
                return datetime.fromisoformat(value + "+00:00")  # stored as UTC without an offset
            except (TypeError, ValueError):
                parsed = fallback(value) if fallback else value
                return parsed.replace(tzinfo=UTC) if isinstance(parsed, datetime) and parsed.tzinfo is None else parsed

        return process


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


IdType = BigInteger().with_variant(Integer(), "sqlite")


# A ticket in the list views (not in the trash, not merged away). The partial indexes' conditions are
# written as core.listing.view_condition renders them: a database uses a partial index only for a query
# whose WHERE clause carries the index's own terms, literals included.
LIVE = "deleted_at IS NULL AND merged_into_id IS NULL"
PG_VIEW_INDEXES = {"live": LIVE, "open": f"{LIVE} AND status != 'CLOSED'", "unassigned": f"{LIVE} AND owner_id IS NULL",
                   "unread": f"{LIVE} AND unread IS true"}
POSTGRESQL_ONLY_INDEXES = frozenset(f"ix_tickets_{name}_activity" for name in PG_VIEW_INDEXES)


def exists_on(dialect: str, name: str | None, type_: str) -> bool:
    """Whether a schema object of the models exists on `dialect` (for schema comparisons): the indexes
    made for PostgreSQL alone do not on SQLite."""
    return not (type_ == "index" and dialect != "postgresql" and name in POSTGRESQL_ONLY_INDEXES)


def _where(condition: str) -> dict[str, Any]:
    """A partial index's WHERE clause, for both databases."""
    return {"sqlite_where": text(condition), "postgresql_where": text(condition)}


def _assoc(name: str, other: str, other_col: str) -> Table:
    return Table(
        name,
        Base.metadata,
        Column("ticket_id", IdType, ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True),
        Column(other_col, IdType, ForeignKey(f"{other}.id", ondelete="CASCADE"), primary_key=True),
    )


ticket_contacts = _assoc("ticket_contacts", "contacts", "contact_id")
ticket_companies = _assoc("ticket_companies", "companies", "company_id")
ticket_deals = _assoc("ticket_deals", "deals", "deal_id")
ticket_followers = _assoc("ticket_followers", "users", "user_id")


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    is_super_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    account_access: Mapped[bool] = mapped_column(Boolean, default=False)
    delete_tickets: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    email_notifications: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user", cascade="all, delete-orphan")

    def has_flag(self, flag: str) -> bool:
        return bool(getattr(self, flag))


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    user_id: Mapped[int] = mapped_column(IdType, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100), default="default")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(back_populates="tokens")


class Inbox(Base):
    __tablename__ = "inboxes"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)


class Company(Base):
    __tablename__ = "companies"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    domain: Mapped[str | None] = mapped_column(String(200))


class Contact(Base):
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    company_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("companies.id", ondelete="SET NULL"))


class Deal(Base):
    __tablename__ = "deals"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    amount: Mapped[int | None] = mapped_column(BigInteger)
    company_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("companies.id", ondelete="SET NULL"))


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_listing", "deleted_at", "merged_into_id", "last_activity_at", "id"),
        # Partial: only aliases have merged_into_id, and "IS NULL" must not lure SQLite to this index.
        Index("ix_tickets_merged_into_id", "merged_into_id", **_where("merged_into_id IS NOT NULL")),
        # One index per list view, in the views' keyset order (core.listing); partial, so each holds its rows.
        Index("ix_tickets_unmerged_activity", "last_activity_at", "id", **_where("merged_into_id IS NULL")),
        Index("ix_tickets_live_owner", "owner_id", "last_activity_at", "id",
              **_where("deleted_at IS NULL AND merged_into_id IS NULL")),
        Index("ix_tickets_deleted_activity", "deleted_reason", "last_activity_at", "id",
              **_where("deleted_at IS NOT NULL")),
        Index("ix_tickets_spam_activity", "last_activity_at", "id",
              **_where("last_spam_at IS NOT NULL AND merged_into_id IS NULL")),
        # PostgreSQL only: SQLite, with no statistics, kept to ix_tickets_listing for these views anyway.
        *(Index(f"ix_tickets_{name}_activity", "last_activity_at", "id", postgresql_where=text(where))
          .ddl_if(dialect="postgresql") for name, where in PG_VIEW_INDEXES.items()),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    owner_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("users.id", ondelete="SET NULL"), index=True)
    priority: Mapped[str | None] = mapped_column(String(20))
    category: Mapped[str | None] = mapped_column(String(40))
    pipeline: Mapped[str] = mapped_column(String(40), default=DEFAULT_PIPELINE)
    status: Mapped[str] = mapped_column(String(40), default="NEW")
    channel: Mapped[str] = mapped_column(String(20), default="email")
    contact_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("contacts.id", ondelete="SET NULL"))
    unread: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    summary_text: Mapped[str | None] = mapped_column(Text)
    summary_model: Mapped[str | None] = mapped_column(String(200))
    summary_generated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    summary_covers_message_id: Mapped[int | None] = mapped_column(IdType)
    version: Mapped[int] = mapped_column(Integer, default=1)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_reason: Mapped[str | None] = mapped_column(String(20))
    deleted_by_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("users.id", ondelete="SET NULL"))
    merged_into_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("tickets.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The latest spam_at of its conversations (NULL: none is spam), for the spam view's index. Kept by
    # the database's triggers on conversations (migration 0004); the application never writes it.
    last_spam_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __mapper_args__ = {"version_id_col": version}

    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    contact: Mapped[Contact | None] = relationship()
    contacts: Mapped[list[Contact]] = relationship(secondary=ticket_contacts, order_by="Contact.id")
    companies: Mapped[list[Company]] = relationship(secondary=ticket_companies, order_by="Company.id")
    deals: Mapped[list[Deal]] = relationship(secondary=ticket_deals, order_by="Deal.id")
    followers: Mapped[list[User]] = relationship(secondary=ticket_followers, order_by="User.id")
    conversations: Mapped[list[Conversation]] = relationship(
        back_populates="ticket", order_by="Conversation.id"
    )

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def is_merged(self) -> bool:
        return self.merged_into_id is not None

    @property
    def status_label(self) -> str:
        return status_label(self.pipeline, self.status)

    def touch(self, now: datetime) -> None:
        self.updated_at = now
        self.last_activity_at = now


class Conversation(Base):
    __tablename__ = "conversations"
    # The spam view asks "has this ticket a spam conversation?" for each ticket it scans.
    __table_args__ = (Index("ix_conversations_spam_ticket", "ticket_id", **_where("spam_at IS NOT NULL")),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    location: Mapped[str] = mapped_column(String(20), default=HELP_DESK)
    inbox_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("inboxes.id", ondelete="SET NULL"), index=True)
    ticket_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    assignee_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("users.id", ondelete="SET NULL"))
    contact_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("contacts.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(20), default="open")
    spam_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_message_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    ticket: Mapped[Ticket | None] = relationship(back_populates="conversations")
    inbox: Mapped[Inbox | None] = relationship()
    contact: Mapped[Contact | None] = relationship()
    messages: Mapped[list[Message]] = relationship(
        back_populates="conversation", order_by="(Message.sent_at, Message.id)", cascade="all, delete-orphan"
    )


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_conversation_sent", "conversation_id", "sent_at", "id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(IdType, ForeignKey("conversations.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(20))
    sender_name: Mapped[str] = mapped_column(String(200), default="")
    sender_email: Mapped[str | None] = mapped_column(String(320))
    author_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("users.id", ondelete="SET NULL"))
    subject: Mapped[str | None] = mapped_column(String(998))
    text: Mapped[str] = mapped_column(Text, default="")
    html: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    email_message_id: Mapped[str | None] = mapped_column(String(998), unique=True)
    in_reply_to: Mapped[str | None] = mapped_column(String(998))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivery_status: Mapped[str | None] = mapped_column(String(20), index=True)
    delivery_error: Mapped[str | None] = mapped_column(String(1000))
    delivery_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    sent_via_smtp_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    conversation: Mapped[Conversation] = relationship(back_populates="messages")
    # selectin: a thread lists every message's attachments, so load them in one query, not one per message.
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="message", order_by="Attachment.id", lazy="selectin", cascade="all, delete-orphan",
        passive_deletes=True,
    )


class Attachment(Base):
    """A file on a message; the bytes live in an attachment store under `storage_key`."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    message_id: Mapped[int] = mapped_column(IdType, ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    message: Mapped[Message] = relationship(back_populates="attachments")


class AttachmentBlob(Base):
    """Attachment bytes for the database store (the disk store keeps files instead)."""

    __tablename__ = "attachment_blobs"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class AuditEvent(Base):
    """Who did what, when. Ids are plain integers so history outlives purged rows."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(IdType)
    action: Mapped[str] = mapped_column(String(60))
    ticket_id: Mapped[int | None] = mapped_column(IdType, index=True)
    conversation_id: Mapped[int | None] = mapped_column(IdType, index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_unread", "user_id", "read_at", "id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    user_id: Mapped[int] = mapped_column(IdType, ForeignKey("users.id", ondelete="CASCADE"))
    ticket_id: Mapped[int | None] = mapped_column(IdType)
    event_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("audit_events.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(60))
    text: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WorkspaceSettings(Base):
    """One row: AI access toggles (super admins only) and model overrides."""

    __tablename__ = "workspace_settings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, default=1)
    ai_conversation_data: Mapped[bool] = mapped_column(Boolean, default=False)
    ai_copilot: Mapped[bool] = mapped_column(Boolean, default=False)
    llm_model: Mapped[str | None] = mapped_column(String(200))
    llm_api_base: Mapped[str | None] = mapped_column(String(500))
    llm_temperature: Mapped[float | None] = mapped_column()
    ai_redact_pii: Mapped[bool] = mapped_column(Boolean, default=True)
    ai_language: Mapped[str | None] = mapped_column(String(40))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
