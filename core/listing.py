"""Ticket list views: keyset pages read as plain rows (a read model), not ORM entities.

A page is one query: the page's tickets with owner and contact names and follower and conversation
ids (a text search first asks the full-text index which tickets match). Each view's filter has a
partial index in its keyset order (see core.models), so a page reads about `limit` index entries.
An API page (no search) also carries the check of its reader's token (`token_page`): one round trip.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import (
    BigInteger,
    BindParameter,
    CompoundSelect,
    Integer,
    Select,
    String,
    and_,
    any_,
    bindparam,
    cast,
    exists,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    tuple_,
    type_coerce,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import make_transient_to_detached

from core.errors import ValidationFailed
from core.models import (
    ApiToken,
    Company,
    Contact,
    Conversation,
    Deal,
    Message,
    Ticket,
    User,
    status_label,
    ticket_companies,
    ticket_contacts,
    ticket_deals,
    ticket_followers,
)
from core.search import (
    MIN_QUERY,
    SEARCH_ID_CAP,
    TicketTextMatch,
    custom_plans,
    matching_ticket_ids,
    terms,
    text_matches_each,
)
from core.uow import UnitOfWork

VIEWS = ("all", "open", "unread", "mine", "unassigned", "spam", "trash")
MAX_LIMIT = 100
# Up to this many matches, a search fetches just the matching rows and sorts them; with more, it
# scans the view in order (the matches are then dense enough to fill a page quickly).
SEARCH_ID_LIST_MAX = SEARCH_ID_CAP
FIELDS = (
    "id", "name", "description", "owner_id", "priority", "category", "pipeline", "status", "channel", "contact_id",
    "unread", "summary_text", "summary_model", "summary_generated_at", "summary_covers_message_id", "version",
    "deleted_at", "deleted_reason", "merged_into_id", "created_at", "updated_at", "last_activity_at",
)


class PersonRef(NamedTuple):
    """Who owns a ticket, or who its contact is, as lists show them."""

    id: int
    name: str


@dataclass(slots=True)
class TicketListItem:
    """A ticket as list views show it: its columns, owner and contact names, follower and conversation ids."""

    id: int
    name: str
    description: str
    owner_id: int | None
    priority: str | None
    category: str | None
    pipeline: str
    status: str
    channel: str
    contact_id: int | None
    unread: bool
    summary_text: str | None
    summary_model: str | None
    summary_generated_at: datetime | None
    summary_covers_message_id: int | None
    version: int
    deleted_at: datetime | None
    deleted_reason: str | None
    merged_into_id: int | None
    created_at: datetime
    updated_at: datetime
    last_activity_at: datetime
    owner: PersonRef | None = None
    contact: PersonRef | None = None
    follower_ids: list[int] = field(default_factory=list)
    conversation_ids: list[int] = field(default_factory=list)

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def is_merged(self) -> bool:
        return self.merged_into_id is not None

    @property
    def status_label(self) -> str:
        return status_label(self.pipeline, self.status)


def encode_cursor(last_activity_at: datetime, ticket_id: int) -> str:
    """The opaque keyset cursor after a row."""
    raw = json.dumps([last_activity_at.isoformat(), ticket_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """The (last activity, id) a cursor points after; a validation error when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        stamp, tid = json.loads(raw)
        return datetime.fromisoformat(stamp), int(tid)
    except (ValueError, TypeError) as exc:
        raise ValidationFailed("Invalid cursor; use the next_cursor value from a previous page.",
                               field="cursor") from exc


_TICKETS = Ticket.__table__
_USERS = User.__table__
_CONTACTS = Contact.__table__
_CONVERSATIONS = Conversation.__table__
_TOKENS = ApiToken.__table__
USER_FIELDS = tuple(column.key for column in _USERS.columns)
_PAGE_COLUMNS = 1 + len(USER_FIELDS)  # where a page's own columns start in a `token_page` row


def view_condition(c: Any, view: str, owner: Any = None) -> Any:
    """The WHERE clause of a view over ticket columns `c`; each view has a partial index in its order
    (core.models.Ticket), whose condition is written as this renders. "mine" is the tickets of `owner`
    (an SQL expression), by default the bound parameter `actor_id`."""
    live = and_(c.deleted_at.is_(None), c.merged_into_id.is_(None))
    if view == "all":
        return live
    if view == "open":
        return and_(live, c.status != literal_column("'CLOSED'"))  # a literal: it matches the view's partial index
    if view == "unread":
        return and_(live, c.unread.is_(True))
    if view == "mine":
        return and_(live, c.owner_id == (bindparam("actor_id") if owner is None else owner))
    if view == "unassigned":
        return and_(live, c.owner_id.is_(None))
    if view == "trash":
        return and_(c.deleted_at.is_not(None), c.deleted_reason == "trash", c.merged_into_id.is_(None))
    if view == "spam":  # tickets with a spam conversation (see Ticket.last_spam_at)
        return and_(c.last_spam_at.is_not(None), c.merged_into_id.is_(None))
    raise ValidationFailed(f"Unknown view '{view}'; use one of {', '.join(VIEWS)}.", field="view")


def _id_list(table: Any, column: str, c: Any) -> Any:
    """The ids in `table.column` for ticket `c.id`, comma-separated (so a page is one round trip)."""
    return (select(func.aggregate_strings(cast(table.c[column], String), ","))
            .where(table.c.ticket_id == c.id).scalar_subquery())


@lru_cache(maxsize=128)
def _page_statement(view: str, source: str, after: bool, dialect: str = "sqlite", by_token: bool = False,
                    ) -> Select[Any] | CompoundSelect[Any]:
    """The page query of a view, built once: everything that varies per request is a bound parameter.

    `source` is "all" (the view as it is), "ids" (only the tickets in :ids, looked up by primary key),
    "match" (tickets matching the full-text query, found by scanning the view in order) or "name" (a
    short query: a substring of the name). The page is picked first and then joined to names and id
    lists, so those are read for its rows only.

    `by_token`: the page of the holder of the API token whose hash is :token_hash, read together with
    that user's row (see `token_page`): first the user's row (`part` 0), then one row per ticket (`part`
    1); no row at all when nobody holds the token.
    """
    c: Any = _TICKETS.c
    if source == "ids":
        # The LIMIT keeps the database from merging this into the outer query (and then scanning a
        # whole view for these few ids): they are looked up by primary key and sorted instead. On
        # PostgreSQL the ids travel as one array, so the statement (and its plan) is the same each time.
        wanted = (_TICKETS.c.id == any_(bindparam("ids", type_=ARRAY(BigInteger))) if dialect == "postgresql"
                  else _TICKETS.c.id.in_(bindparam("ids", expanding=True)))
        c = select(_TICKETS).where(wanted).limit(bindparam("id_count")).subquery("matched").c
    holder = _token_user_id() if by_token else None
    page = select(*(c[name] for name in FIELDS)).where(view_condition(c, view, holder))
    if source == "match":
        # Many tickets match: check them one by one in the view's order until the page is full.
        matches = text_matches_each(c) if dialect == "postgresql" else TicketTextMatch.parametrized()
        page = page.where(or_(matches, c.id == bindparam("number")))
    elif source == "name":
        page = page.where(or_(c.name.ilike(bindparam("like")), c.id == bindparam("number")))
    if after:
        # Typed as the columns: inside a row comparison the values would not take the columns' types.
        stamp: BindParameter[datetime] = bindparam("after_stamp", type_=_TICKETS.c.last_activity_at.type)
        tid: BindParameter[int] = bindparam("after_id", type_=_TICKETS.c.id.type)
        # A row comparison, not "a < x OR (a = x AND b < y)": it is one range of the view's index, so even
        # a generic plan (prepared, values unknown) starts at the cursor instead of reading the view up to it.
        page = page.where(tuple_(c.last_activity_at, c.id) < tuple_(stamp, tid))
    # Written into the SQL, as core.db.sql_limit does (a bound LIMIT made PostgreSQL plan every run afresh).
    rows = bindparam("page_rows", type_=Integer, literal_execute=True)
    p = page.order_by(c.last_activity_at.desc(), c.id.desc()).limit(rows).subquery("page").c
    listed = (
        select(*(p[name] for name in FIELDS), _USERS.c.name, _CONTACTS.c.name,
               _id_list(ticket_followers, "user_id", p), _id_list(_CONVERSATIONS, "id", p))
        .select_from(p.id.table.outerjoin(_USERS, _USERS.c.id == p.owner_id)
                     .outerjoin(_CONTACTS, _CONTACTS.c.id == p.contact_id))
    )
    if not by_token:
        return listed.order_by(p.last_activity_at.desc(), p.id.desc())
    # The holder's row, then the page's rows (read only if the token is anyone's), sorted once, at the end.
    # Each part leaves the other's columns NULL, typed as those columns so that both parts read back alike.
    shown = listed.subquery("listed")
    token = _TOKENS.c.token_hash == bindparam("token_hash")
    users = [_USERS.c[name].label(f"user_{name}") for name in USER_FIELDS]
    nothing = [type_coerce(null(), c.type).label(f"ticket_{n}") for n, c in enumerate(shown.c)]
    holder = select(literal_column("0", Integer).label("part"), *users, *nothing).select_from(
        _TOKENS.join(_USERS, _USERS.c.id == _TOKENS.c.user_id)).where(token)
    page_part = select(literal_column("1", Integer), *(type_coerce(null(), c.type) for c in users), *shown.c).where(
        exists().where(token))
    both = union_all(holder, page_part)
    columns = list(both.selected_columns)
    ticket = dict(zip(FIELDS, columns[1 + len(users):], strict=False))
    return both.order_by(columns[0], ticket["last_activity_at"].desc(), ticket["id"].desc())


def _token_user_id() -> Any:
    """The id of the user holding the API token whose hash is :token_hash."""
    return select(_TOKENS.c.user_id).where(_TOKENS.c.token_hash == bindparam("token_hash")).scalar_subquery()


def list_page(
    *, uow: UnitOfWork, actor: User, view: str = "all", q: str | None = None, limit: int = 50,
    cursor: str | None = None, id_list_max: int = SEARCH_ID_LIST_MAX,
) -> tuple[list[TicketListItem], str | None]:
    """A page of a view (optionally searched), most recent activity first, and the cursor for the next."""
    params = page_parameters(view=view, limit=limit, cursor=cursor)
    params["actor_id"] = actor.id
    text = (q or "").strip()
    if not text:
        return _page(uow, view, "all", cursor, params, limit)
    return _search_page(uow, view, text, cursor, params, limit, id_list_max)


def page_parameters(*, view: str, limit: int, cursor: str | None) -> dict[str, Any]:
    """The checked request of a page: a validation error for an unknown view, a limit out of range or a
    cursor that is not one of ours."""
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed(f"limit must be between 1 and {MAX_LIMIT}.", field="limit")
    if view not in VIEWS:
        view_condition(_TICKETS.c, view)  # raises the validation error
    params: dict[str, Any] = {"page_rows": limit + 1}
    if cursor:
        params["after_stamp"], params["after_id"] = decode_cursor(cursor)
    return params


def token_page(uow: UnitOfWork, *, token_hash: str, view: str, params: dict[str, Any], limit: int,
               ) -> tuple[User | None, list[TicketListItem], str | None]:
    """The holder of an API token (None when nobody holds it) and a page of a view as they see it, read in
    one statement: an API list request's whole database work is then one round trip, not two. The page
    must not be shown before the caller has checked the user (active, allowed to view tickets).

    The user is built from its row detached from the session, as a closed session leaves what it loaded."""
    dialect = uow.session.get_bind().dialect.name
    statement = _page_statement(view, "all", "after_id" in params, dialect, by_token=True)
    rows = uow.read_rows(statement, {**params, "token_hash": token_hash})
    if not rows or rows[0][0] != 0:
        return None, [], None
    holder = User(**dict(zip(USER_FIELDS, rows[0][1:_PAGE_COLUMNS], strict=True)))
    make_transient_to_detached(holder)
    return holder, *_listed([row[_PAGE_COLUMNS:] for row in rows[1:]], limit)


def _search_page(uow: UnitOfWork, view: str, text: str, cursor: str | None, params: dict[str, Any], limit: int,
                 id_list_max: int) -> tuple[list[TicketListItem], str | None]:
    """A page of the tickets matching `text`. Only the statements whose best plan depends on the words
    are planned for them (`custom_plans`): fetching a page by a list of ids is planned the same for any
    ids, so it keeps a prepared plan (planning it each time cost PostgreSQL more than running it)."""
    params["number"] = int(text) if text.isdigit() and len(text) < 19 else -1
    with custom_plans(uow.session):
        ids = matching_ticket_ids(uow.session, text, cap=id_list_max)
    if ids is not None:
        if not ids:
            return [], None
        params["ids"], params["id_count"] = ids, len(ids)
        return _page(uow, view, "ids", cursor, params, limit)
    if len(text) < MIN_QUERY or not terms(text):
        source, params["like"] = "name", f"%{text}%"
    else:
        source = "match"
        params.update(TicketTextMatch.parameters(text))
    with custom_plans(uow.session):
        return _page(uow, view, source, cursor, params, limit)


def _page(uow: UnitOfWork, view: str, source: str, cursor: str | None, params: dict[str, Any],
          limit: int) -> tuple[list[TicketListItem], str | None]:
    dialect = uow.session.get_bind().dialect.name
    rows = uow.session.execute(_page_statement(view, source, bool(cursor), dialect), params).all()
    return _listed(rows, limit)


def _listed(rows: Sequence[Any], limit: int) -> tuple[list[TicketListItem], str | None]:
    """A page's items from its rows (one more than `limit` when there is a next page) and the next cursor."""
    more = len(rows) > limit
    items = [_item(row) for row in rows[:limit]]
    next_cursor = encode_cursor(items[-1].last_activity_at, items[-1].id) if more and items else None
    return items, next_cursor


_OWNER_NAME, _CONTACT_NAME, _FOLLOWERS, _CONVERSATION_IDS = (len(FIELDS) + n for n in range(4))


def _ids(joined: str | None) -> list[int]:
    return sorted(map(int, joined.split(","))) if joined else []


_OWNER_ID, _CONTACT_ID = FIELDS.index("owner_id"), FIELDS.index("contact_id")


def _item(row: Any) -> TicketListItem:
    """A list item from its row, every field passed at once (a page builds fifty of these per request)."""
    owner, contact = row[_OWNER_NAME], row[_CONTACT_NAME]
    values = (
        *row[:_OWNER_NAME],
        None if owner is None or row[_OWNER_ID] is None else PersonRef(row[_OWNER_ID], owner),
        None if contact is None or row[_CONTACT_ID] is None else PersonRef(row[_CONTACT_ID], contact),
        _ids(row[_FOLLOWERS]), _ids(row[_CONVERSATION_IDS]),
    )
    return TicketListItem(*values)


@dataclass(frozen=True, slots=True)
class TicketRelations:
    """What a full ticket shows besides its own columns, read in one round trip (not one per relationship)."""

    follower_ids: list[int]
    conversation_ids: list[int]
    merged_from_ids: list[int]
    contacts: list[PersonRef]
    companies: list[PersonRef]
    deals: list[PersonRef]
    latest_message_id: int | None


def _named(assoc: Any, table: Any, column: str, kind: int) -> Select[Any]:
    return (select(literal(kind), table.c.id, table.c.name).join(assoc, assoc.c[column] == table.c.id)
            .where(assoc.c.ticket_id == bindparam("ticket_id")))


_RELATIONS = union_all(
    select(literal(0), ticket_followers.c.user_id, cast(null(), String))
    .where(ticket_followers.c.ticket_id == bindparam("ticket_id")),
    select(literal(1), _CONVERSATIONS.c.id, cast(null(), String))
    .where(_CONVERSATIONS.c.ticket_id == bindparam("ticket_id")),
    _named(ticket_contacts, Contact.__table__, "contact_id", 2),
    _named(ticket_companies, Company.__table__, "company_id", 3),
    _named(ticket_deals, Deal.__table__, "deal_id", 4),
    select(literal(5), _TICKETS.c.id, cast(null(), String)).where(_TICKETS.c.merged_into_id == bindparam("ticket_id")),
    select(literal(6), func.max(Message.__table__.c.id), cast(null(), String))
    .join(_CONVERSATIONS, _CONVERSATIONS.c.id == Message.__table__.c.conversation_id)
    .where(_CONVERSATIONS.c.ticket_id == bindparam("ticket_id"), _CONVERSATIONS.c.spam_at.is_(None)),
)


def ticket_relations(uow: UnitOfWork, ticket_id: int) -> TicketRelations:
    """Followers, conversations, merge aliases (at any depth), associations and the newest live message."""
    found: dict[int, list[tuple[int, str | None]]] = {kind: [] for kind in range(7)}
    for kind, ref, name in uow.session.execute(_RELATIONS, {"ticket_id": ticket_id}):
        if ref is not None:
            found[kind].append((ref, name))
    aliases = [ref for ref, _ in found[5]]
    frontier = aliases
    while frontier and len(aliases) < 10_000:  # aliases of aliases: rare, one query per level
        frontier = list(uow.session.scalars(select(Ticket.id).where(Ticket.merged_into_id.in_(frontier))))
        aliases.extend(frontier)

    def ids(kind: int) -> list[int]:
        return sorted(ref for ref, _ in found[kind])

    def refs(kind: int) -> list[PersonRef]:
        return [PersonRef(ref, name or "") for ref, name in sorted(found[kind])]

    latest = found[6][0][0] if found[6] else None
    return TicketRelations(ids(0), ids(1), sorted(aliases), refs(2), refs(3), refs(4), latest)
