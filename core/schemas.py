"""Validated input for core actions (shared by the REST API, the web UI and the CLI)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

Priority = Literal["LOW", "MEDIUM", "HIGH", "URGENT"]
Category = Literal["PRODUCT_ISSUE", "BILLING_ISSUE", "FEATURE_REQUEST", "GENERAL_INQUIRY"]
Channel = Literal["email", "chat", "form", "phone"]
Direction = Literal["incoming", "outgoing", "comment"]
# Deliberately loose: one @, no spaces, a dot in the domain. Mail servers do the real checking.
EmailStr = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_lower=True, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ContactIn(Strict):
    name: str = Field("", max_length=200)
    email: EmailStr | None = None


class MessageIn(Strict):
    direction: Direction = "incoming"
    sender_name: str = Field("", max_length=200)
    sender_email: EmailStr | None = None
    subject: str | None = Field(None, max_length=998)
    text: str = Field(..., min_length=1, max_length=1_000_000)
    html: str | None = Field(None, max_length=5_000_000)
    sent_at: datetime | None = None


class TicketCreate(Strict):
    name: str = Field(..., min_length=1, max_length=300)
    description: str = Field("", max_length=100_000)
    priority: Priority | None = None
    category: Category | None = None
    pipeline: str = "support"
    status: str = "NEW"
    owner_id: int | None = None
    channel: Channel = "email"
    contact: ContactIn | None = None
    messages: list[MessageIn] = Field(default_factory=list, max_length=1000)
    inbox_id: int | None = None

    @field_validator("name")
    @classmethod
    def _one_line(cls, value: str) -> str:
        return " ".join(value.split())


class TicketUpdate(Strict):
    name: str | None = Field(None, min_length=1, max_length=300)
    description: str | None = Field(None, max_length=100_000)
    owner_id: int | None = None
    priority: Priority | None = None
    category: Category | None = None
    pipeline: str | None = None
    status: str | None = None
    version: int | None = None
    name_source: Literal["manual", "ai"] = "manual"

    @field_validator("name")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        return " ".join(value.split()) if value is not None else None


class AssociationChange(Strict):
    kind: Literal["contacts", "companies", "deals"]
    id: int
