"""Ticket search (full-text index) and list views at the core level, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, delete, event, text

from core.actions.delete import delete_ticket
from core.actions.spam import mark_spam
from core.listing import VIEWS, TicketListItem, encode_cursor, list_page
from core.models import Conversation, User
from core.schemas import MessageIn, TicketCreate, TicketUpdate
from core.tickets import add_message, create_ticket, list_tickets_by_token, update_ticket
from core.uow import UnitOfWork
from tests.support import Clock, create_user

UowFactory = Callable[[], UnitOfWork]
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def actor(uow_factory: UowFactory) -> tuple[int, str]:
    """A user's id and API token."""
    user, token = create_user(uow_factory, "searcher@desk.example", permissions=("delete_tickets",), password=None)
    return user.id, token


@pytest.fixture
def actor_id(actor: tuple[int, str]) -> int:
    return actor[0]


def _ticket(uow_factory: UowFactory, name: str, text_: str = "Hello, please help.", **extra: object) -> int:
    with uow_factory() as uow:
        return create_ticket(uow=uow, actor=None, data=TicketCreate(
            name=name, messages=[MessageIn(sender_name="Casey", sender_email="casey@shop.example", text=text_)],
            **extra)).id  # type: ignore[arg-type]


def _find(uow_factory: UowFactory, actor_id: int, q: str, view: str = "all", **kw: object) -> list[int]:
    found: list[int] = []
    cursor = None
    with uow_factory() as uow:
        actor = uow.session.get(User, actor_id)
        assert actor is not None
        while True:
            items, cursor = list_page(uow=uow, actor=actor, view=view, q=q, limit=2, cursor=cursor,
                                      **kw)  # type: ignore[arg-type]
            found.extend(item.id for item in items)
            if not cursor:
                return found


def test_search_matches_word_prefixes_in_names_descriptions_and_messages(uow_factory: UowFactory,
                                                                         actor_id: int) -> None:
    refund = _ticket(uow_factory, "Refund for order 10482")
    sso = _ticket(uow_factory, "Question about plans", "Which plan has SSO and SCIM?")
    described = _ticket(uow_factory, "Printer", description="The Zebra labeller jams twice a day")
    assert _find(uow_factory, actor_id, "refu") == [refund]
    assert _find(uow_factory, actor_id, "REFUND ord 1048") == [refund], "every word, any case, as a prefix"
    assert _find(uow_factory, actor_id, "sso scim") == [sso], "message text is searched"
    assert _find(uow_factory, actor_id, "zebra lab") == [described], "descriptions are searched"
    assert _find(uow_factory, actor_id, "fund") == [], "words match from their start, not in the middle"
    assert _find(uow_factory, actor_id, "refund scim") == [], "all words in one name, description or message"


def test_short_queries_match_names_as_substrings_and_numbers_match_ids(uow_factory: UowFactory,
                                                                       actor_id: int) -> None:
    refund = _ticket(uow_factory, "Refund for order 10482")
    other = _ticket(uow_factory, "Label printer jam")
    assert _find(uow_factory, actor_id, "ef") == [refund]
    assert other in _find(uow_factory, actor_id, str(other))


def test_search_follows_renames_new_messages_and_deletions(uow_factory: UowFactory, engine: Engine,
                                                           actor_id: int) -> None:
    ticket_id = _ticket(uow_factory, "Kettle broken")
    with uow_factory() as uow:
        actor = uow.session.get(User, actor_id)
        assert actor is not None
        update_ticket(uow=uow, actor=actor, ticket_id=ticket_id, data=TicketUpdate(name="Toaster broken"))
    assert _find(uow_factory, actor_id, "kettle") == []
    assert _find(uow_factory, actor_id, "toaster") == [ticket_id]
    with uow_factory() as uow:
        actor = uow.session.get(User, actor_id)
        conversation = uow.session.scalar(text("SELECT id FROM conversations WHERE ticket_id = :t"),
                                          {"t": ticket_id})
        add_message(uow=uow, actor=actor, conversation_id=conversation,  # type: ignore[arg-type]
                    data=MessageIn(direction="comment", text="Quokka firmware rollback done"))
    assert _find(uow_factory, actor_id, "quokka") == [ticket_id]
    with engine.begin() as conn:  # a purge deletes rows outright; the index must forget them
        conn.execute(delete(Conversation).where(Conversation.ticket_id == ticket_id))
    assert _find(uow_factory, actor_id, "quokka") == []
    if engine.dialect.name == "sqlite":
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO message_fts(message_fts) VALUES ('integrity-check')"))
            conn.execute(text("INSERT INTO ticket_fts(ticket_fts) VALUES ('integrity-check')"))


def test_common_words_give_the_same_pages_as_rare_ones(uow_factory: UowFactory, clock: Clock,
                                                       actor_id: int) -> None:
    """Many matches take the scan-in-order path, few the fetch-by-id path: same tickets, same order."""
    ids = []
    for n in range(7):
        clock.set(T0 + timedelta(minutes=n))
        ids.append(_ticket(uow_factory, f"Wombat report {n}", "The wombat ate the cable"))
    _ticket(uow_factory, "Unrelated")
    newest_first = list(reversed(ids))
    assert _find(uow_factory, actor_id, "womb", id_list_max=100) == newest_first
    assert _find(uow_factory, actor_id, "womb", id_list_max=2) == newest_first
    assert _find(uow_factory, actor_id, "wombat cable", view="unread", id_list_max=2) == newest_first


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_sqlite_counts_a_words_entries_before_reading_them_as_tickets(uow_factory: UowFactory, clock: Clock,
                                                                     actor_id: int, engine: Engine) -> None:
    """More index entries than an id list may hold: no hit is read as a ticket, the scan starts at once."""
    for n in range(6):
        clock.set(T0 + timedelta(minutes=n))
        _ticket(uow_factory, f"Numbat {n}", "A numbat in the cable tray")
    statements: list[str] = []

    def capture(conn: object, cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", capture)
    try:
        few = _find(uow_factory, actor_id, "numb", id_list_max=100)
        reads_of_few = sum("JOIN conversations c" in s and "LIMIT" in s for s in statements)
        statements.clear()
        many = _find(uow_factory, actor_id, "numb", id_list_max=2)  # 12 entries: more than 4 per id
        reads_of_many = sum("JOIN conversations c" in s and "LIMIT" in s for s in statements)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert few == many and len(few) == 6
    assert reads_of_few > 0 and reads_of_many == 0


def test_a_word_the_statistics_call_common_is_checked_ticket_by_ticket(
        uow_factory: UowFactory, clock: Clock, actor_id: int, engine: Engine,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL asks its planner how common a word is; above the threshold no hits are read up front."""
    import core.search

    ids = []
    for n in range(4):
        clock.set(T0 + timedelta(minutes=n))
        ids.append(_ticket(uow_factory, f"Quokka sighting {n}", "A quokka in the server room"))
    ids.append(_ticket(uow_factory, "Message only", "Is that a quokka?"))
    _ticket(uow_factory, "Unrelated")
    expected = _find(uow_factory, actor_id, "quok")
    assert sorted(expected) == sorted(ids)
    with uow_factory() as uow:
        assert core.search.matching_ticket_ids(uow.session, "quok", cap=500) is not None
    monkeypatch.setattr(core.search, "PG_DENSE_HITS", 0)  # every word now counts as common
    with uow_factory() as uow:
        found = core.search.matching_ticket_ids(uow.session, "quok", cap=500)
    if engine.dialect.name == "postgresql":
        assert found is None, "a common word goes straight to the scan in list order"
    else:
        assert found is not None, "SQLite has no estimate step"
    assert _find(uow_factory, actor_id, "quok") == expected


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_postgresql_word_counts_are_estimated_in_process_as_its_planner_does(
        engine: Engine, uow_factory: UowFactory) -> None:
    """The index statistics ANALYZE keeps are read once; the estimates made from them match EXPLAIN's."""
    import core.search

    for n in range(150):  # the numbers make over 100 listed words, as a real index has
        words = "quokka habitat" if n % 3 else "wombat burrow"
        _ticket(uow_factory, f"Sighting {n}", f"A {words} report, number {n}.")
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    core.search._stats_cache.clear()  # statistics read before the ANALYZE (they are kept for minutes)
    with uow_factory() as uow:
        stats = core.search._word_stats(uow.session)
        assert stats is not None and "quokka" in stats["messages"].common
        for words in (["quok"], ["wom"], ["quokka", "hab"], ["quokka", "wombat"], ["zebra"]):
            local = core.search._estimated_hits(uow.session, words)
            planner = core.search._explained_hits(uow.session, core.search.tsquery(words))
            assert abs(local - planner) <= max(2.0, planner * 0.1), (words, local, planner)
        hits = [core.search._estimated_hits(uow.session, [word]) for word in ("quok", "wom", "zebra")]
        assert hits[0] > 80 > hits[1] > 20 > hits[2], hits  # 100 and 50 of 150 messages; none
    core.search._stats_cache.clear()  # the next tests' tables are emptied: read their statistics afresh


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_only_the_word_dependent_statements_of_a_search_are_planned_for_their_words(
        uow_factory: UowFactory, engine: Engine, actor_id: int) -> None:
    """Finding the matches (and scanning for them) is planned per query; fetching the page by its list
    of ids keeps the connection's prepared statements, since its plan is the same for any ids."""
    ids = [_ticket(uow_factory, f"Platypus {n}", "The platypus is back") for n in range(3)]
    prepared: list[tuple[str, object]] = []

    def capture(conn: object, cursor: object, statement: str, *_: object) -> None:
        driver = conn.connection.driver_connection  # type: ignore[attr-defined]
        prepared.append((statement, driver.prepare_threshold))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        assert sorted(_find(uow_factory, actor_id, "platyp")) == sorted(ids)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    finding = [threshold for statement, threshold in prepared if "to_tsquery" in statement]
    paging = [threshold for statement, threshold in prepared if "page.id" in statement]
    assert finding and all(threshold is None for threshold in finding)
    assert paging and all(threshold is not None for threshold in paging)


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_sqlite_indexes_every_prefix_length_a_typed_word_has(engine: Engine, uow_factory: UowFactory,
                                                              actor_id: int) -> None:
    """Prefixes of 3 to 12 letters are read from FTS5's prefix indexes (migration 0005); going down to
    0004 and up again keeps the index in step with the tickets."""
    from alembic import command

    from core.migrate import alembic_config

    ticket = _ticket(uow_factory, "Kookaburra laughing", "A kookaburra on the antenna")
    with engine.connect() as conn:
        options = dict(conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE name IN ('ticket_fts', 'message_fts')").tuples().all())
    assert set(options) == {"ticket_fts", "message_fts"}
    assert all("prefix='3 4 5 6 7 8 9 10 11 12'" in sql for sql in options.values()), options
    url = engine.url.render_as_string(hide_password=False)
    command.downgrade(alembic_config(url), "0004")
    command.upgrade(alembic_config(url), "head")
    for q in ("kooka", "kookabur", "antenn", "laughing"):
        assert _find(uow_factory, actor_id, q) == [ticket], q


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_searches_plan_for_their_words_on_either_kind_of_connection(db_url: str, engine: Engine) -> None:
    """The read pool forces generic plans; a search on it switches to custom plans and back. On the
    general pool it stops preparing statements instead, with no statement sent to the server."""
    from sqlalchemy.orm import Session

    from core.db import make_engine
    from core.search import custom_plans

    generic = make_engine(db_url, generic_plans=True)
    try:
        with Session(generic) as session:
            def mode() -> str:
                return str(session.execute(text("SHOW plan_cache_mode")).scalar())

            assert mode() == "force_generic_plan"
            with custom_plans(session):
                assert mode() == "force_custom_plan"
            assert mode() == "force_generic_plan"
    finally:
        generic.dispose()
    with Session(engine) as session:
        driver = session.connection().connection.driver_connection
        before = driver.prepare_threshold  # type: ignore[union-attr]
        with custom_plans(session):
            assert driver.prepare_threshold is None  # type: ignore[union-attr]
            assert session.execute(text("SHOW plan_cache_mode")).scalar() == "auto"
        assert driver.prepare_threshold == before  # type: ignore[union-attr]


def test_a_prefix_share_counts_every_listed_word_it_starts_and_a_floor_for_the_rest() -> None:
    from core.search import WordStats

    listed = {f"w{n}": 0.01 for n in range(97)} | {"printer": 0.5, "print": 0.2, "invoice": 0.1}
    stats = WordStats(rows=1000, common=listed, min_share=0.01)
    rest = 1 - stats.any_common
    assert 0 < rest < 1
    assert stats.share("print") == pytest.approx(0.5 + 0.2 - 0.5 * 0.2 + rest * 2 / 100)
    assert stats.share("printe") == pytest.approx(0.5 + rest / 100)
    assert stats.share("zebra") == pytest.approx(0.005)  # unlisted: half the smallest share, at most 0.5%
    assert WordStats(rows=1000, common=listed, min_share=0.004).share("zebra") == pytest.approx(0.002)
    assert WordStats(rows=1000, common={"printer": 0.5}, min_share=0.5).share("print") == 0.02  # too few listed


def test_every_view_pages_through_its_tickets_once(uow_factory: UowFactory, clock: Clock, actor_id: int) -> None:
    made: dict[str, int] = {}
    for n, name in enumerate(("mine", "unassigned", "closed", "read", "trash", "spam")):
        clock.set(T0 + timedelta(minutes=n))
        made[name] = _ticket(uow_factory, f"View check {name}",
                             owner_id=actor_id if name == "mine" else None,
                             status="CLOSED" if name == "closed" else "NEW")
    with uow_factory() as uow:
        actor = uow.session.get(User, actor_id)
        assert actor is not None
        from core.tickets import set_read_state

        set_read_state(uow=uow, actor=actor, ticket_id=made["read"], unread=False)
    with uow_factory() as uow:
        actor = uow.session.get(User, actor_id)
        delete_ticket(uow=uow, actor=actor, ticket_id=made["trash"])  # type: ignore[arg-type]
    with uow_factory() as uow:
        actor = uow.session.get(User, actor_id)
        spam_conv = uow.session.scalar(text("SELECT id FROM conversations WHERE ticket_id = :t"), {"t": made["spam"]})
        mark_spam(uow=uow, actor=actor, ticket_id=made["spam"], conversation_ids=[spam_conv])  # type: ignore[arg-type]
    live = [made[k] for k in ("read", "closed", "unassigned", "mine")]
    expected = {
        "all": live, "open": [made["read"], made["unassigned"], made["mine"]],
        "unread": [made["closed"], made["unassigned"], made["mine"]], "mine": [made["mine"]],
        "unassigned": [made["read"], made["closed"], made["unassigned"]], "trash": [made["trash"]],
        "spam": [made["spam"]],
    }
    for view in VIEWS:
        assert _find(uow_factory, actor_id, "", view=view) == expected[view], view


def test_the_api_page_of_a_token_is_the_page_of_its_holder(uow_factory: UowFactory, clock: Clock,
                                                          actor: tuple[int, str]) -> None:
    """The API reads a page and its reader's token in one statement (on PostgreSQL with the driver's own
    cursor): every view, page by page, gives exactly what `list_page` gives that user, field by field."""
    from core.actions.follow import set_following
    from core.actions.merge import merge_tickets

    actor_id, token = actor
    made = []
    for n in range(7):
        clock.set(T0 + timedelta(minutes=n))
        made.append(_ticket(uow_factory, f"Same page {n}", owner_id=actor_id if n % 2 else None,
                            status="CLOSED" if n == 3 else "NEW", description=f"Line {n}"))
    with uow_factory() as uow:
        user = uow.session.get(User, actor_id)
        assert user is not None
        set_following(uow=uow, actor=user, ticket_id=made[1], follow=True)
        merged = merge_tickets(uow=uow, actor=user, ticket_ids=[made[4], made[5]], primary_id=made[4]).id
    with uow_factory() as uow:
        delete_ticket(uow=uow, actor=uow.session.get(User, actor_id), ticket_id=made[6])  # type: ignore[arg-type]
    for view in VIEWS:
        cursor, pages = None, 0
        while True:
            with uow_factory() as uow:
                expected, expected_cursor = list_page(uow=uow, actor=uow.session.get(User, actor_id), view=view,  # type: ignore[arg-type]
                                                      limit=2, cursor=cursor)
            with uow_factory() as uow:
                holder, items, next_cursor = list_tickets_by_token(uow=uow.read_only(), token=token, view=view,
                                                                   limit=2, cursor=cursor)
            assert holder.id == actor_id and holder.email == "searcher@desk.example" and holder.is_active
            assert (items, next_cursor) == (expected, expected_cursor), (view, pages)
            pages += 1
            if not next_cursor:
                break
            cursor = next_cursor
        assert pages >= 1
    with uow_factory() as uow:
        (item,), _ = list_page(uow=uow, actor=uow.session.get(User, actor_id), q=f"{merged}")  # type: ignore[arg-type]
    assert len(item.conversation_ids) == 2, "a merged ticket lists both conversations"


def _spam_column_is_consistent(engine: Engine) -> None:
    """tickets.last_spam_at equals the latest spam_at of the ticket's conversations, for every ticket."""
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT t.id, t.last_spam_at, (SELECT max(c.spam_at) FROM conversations c "
                                 "WHERE c.ticket_id = t.id) FROM tickets t")).all()
    assert rows and [row for row in rows if row[1] != row[2]] == []


def test_the_spam_view_follows_conversations_however_they_change(
        uow_factory: UowFactory, clock: Clock, actor_id: int, engine: Engine) -> None:
    """The database's triggers keep the spam view's column right for actions and for SQL written by hand."""
    from sqlalchemy import update

    from core.actions.merge import merge_tickets
    from core.actions.spam import mark_not_spam

    alpha, bravo, charlie = (_ticket(uow_factory, name) for name in ("Alpha", "Bravo", "Charlie"))

    def conversations_of(ticket_id: int) -> list[int]:
        with engine.connect() as conn:
            return list(conn.execute(text("SELECT id FROM conversations WHERE ticket_id = :t ORDER BY id"),
                                     {"t": ticket_id}).scalars())

    def spam_view() -> list[int]:
        _spam_column_is_consistent(engine)
        return _find(uow_factory, actor_id, "", view="spam")

    with uow_factory() as uow:
        actor = uow.session.get(User, actor_id)
        mark_spam(uow=uow, actor=actor, ticket_id=alpha, conversation_ids=conversations_of(alpha))  # type: ignore[arg-type]
    assert spam_view() == [alpha]
    with uow_factory() as uow:
        actor = uow.session.get(User, actor_id)
        mark_not_spam(uow=uow, actor=actor, conversation_id=conversations_of(alpha)[0])  # type: ignore[arg-type]
    assert spam_view() == []
    with engine.begin() as conn:  # written by hand: the database keeps the column, not the application
        conn.execute(update(Conversation).where(Conversation.ticket_id == bravo).values(spam_at=T0))
    assert spam_view() == [bravo]
    with engine.begin() as conn:  # the spam conversation moves to another ticket
        conn.execute(update(Conversation).where(Conversation.ticket_id == bravo).values(ticket_id=charlie))
    assert spam_view() == [charlie]
    with uow_factory() as uow:  # merging carries it to the new ticket; the old ids are aliases
        actor = uow.session.get(User, actor_id)
        merged = merge_tickets(uow=uow, actor=actor, ticket_ids=[charlie, alpha], primary_id=charlie).id  # type: ignore[arg-type]
    assert spam_view() == [merged]
    with engine.begin() as conn:  # its spam conversation is deleted
        conn.execute(delete(Conversation).where(Conversation.ticket_id == merged, Conversation.spam_at.is_not(None)))
    assert spam_view() == []
    assert conversations_of(merged), "the merged ticket keeps its other conversation"


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_concurrent_not_spam_on_two_conversations_leaves_the_ticket_out_of_the_spam_view(
        uow_factory: UowFactory, engine: Engine, actor_id: int) -> None:
    """Two transactions clear the two spam conversations of one ticket at the same time: whichever
    commits last must see the other's change, or the ticket would stay in the spam view."""
    import threading

    from sqlalchemy import update

    first, second = _ticket(uow_factory, "Two threads"), _ticket(uow_factory, "Second thread")
    with engine.begin() as conn:
        conn.execute(update(Conversation).where(Conversation.ticket_id == second).values(ticket_id=first))
        conn.execute(update(Conversation).where(Conversation.ticket_id == first).values(spam_at=T0))
        one, two = conn.execute(text("SELECT id FROM conversations WHERE ticket_id = :t ORDER BY id"),
                                {"t": first}).scalars().all()
    _spam_column_is_consistent(engine)
    waiting = threading.Event()
    errors: list[BaseException] = []

    def clear_two() -> None:
        try:
            with engine.begin() as conn:
                waiting.set()
                conn.execute(update(Conversation).where(Conversation.id == two).values(spam_at=None))
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    with engine.begin() as conn:  # holds the ticket (through the trigger) until it commits
        conn.execute(update(Conversation).where(Conversation.id == one).values(spam_at=None))
        other = threading.Thread(target=clear_two)
        other.start()
        waiting.wait(5)
        other.join(0.5)  # it is now blocked on the ticket's lock
        assert other.is_alive(), "the second transaction waits for the first"
    other.join(10)
    assert not errors and not other.is_alive()
    _spam_column_is_consistent(engine)
    assert first not in _find(uow_factory, actor_id, "", view="spam")


def test_a_messages_page_without_files_reads_no_attachments(uow_factory: UowFactory, engine: Engine,
                                                            actor_id: int) -> None:
    """Each message row says whether it has attachments; with none on the page, none are queried."""
    from core.tickets import ticket_messages

    ticket_id = _ticket(uow_factory, "Quiet thread", "Just words")
    statements: list[str] = []

    def capture(conn: object, cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", capture)
    try:
        with uow_factory() as uow:
            page, _ = ticket_messages(uow=uow, actor=uow.session.get(User, actor_id), ticket_id=ticket_id)  # type: ignore[arg-type]
            assert [message.attachments for message in page] == [[]]
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert statements and not any(s.lstrip().startswith("SELECT attachments.") for s in statements), statements


def test_list_items_carry_followers_conversations_owner_and_contact(uow_factory: UowFactory, actor_id: int) -> None:
    ticket_id = _ticket(uow_factory, "Items", owner_id=actor_id)
    with uow_factory() as uow:
        actor = uow.session.get(User, actor_id)
        assert actor is not None
        from core.actions.follow import set_following

        set_following(uow=uow, actor=actor, ticket_id=ticket_id, follow=True)
    with uow_factory() as uow:
        actor = uow.session.get(User, actor_id)
        (item,), _ = list_page(uow=uow, actor=actor)  # type: ignore[arg-type]
    assert isinstance(item, TicketListItem)
    assert item.follower_ids == [actor_id] and len(item.conversation_ids) == 1
    assert item.owner is not None and item.owner.name == "Searcher"
    assert item.contact is not None and item.contact.name == "Casey"


def test_list_rows_serialise_exactly_as_the_schema_would(uow_factory: UowFactory, actor_id: int) -> None:
    """The API writes list rows as plain values (no per-row validation), with orjson: they must be what
    TicketOut writes, for times in UTC (as stored) and in other zones, with and without microseconds."""
    from plugin.schemas import TicketOut, TicketPage

    ticket_id = _ticket(uow_factory, "Serialised", owner_id=actor_id, description="Zebra labeller")
    with uow_factory() as uow:
        uow.session.execute(text("UPDATE tickets SET summary_text = 'Short', summary_model = 'offline', "
                                 "summary_generated_at = created_at WHERE id = :t"), {"t": ticket_id})
        uow.commit()
    with uow_factory() as uow:
        actor = uow.session.get(User, actor_id)
        assert actor is not None
        (item,), _ = list_page(uow=uow, actor=actor)
        fields = TicketOut.list_fields(item, actor)
    assert set(fields) == set(TicketOut.model_fields)
    assert fields["summary"] is not None and fields["created_at"].tzinfo is not None
    east = timezone(timedelta(hours=5, minutes=30))
    other_times = {"created_at": datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
                   "updated_at": datetime(2026, 3, 2, 14, 30, 0, 120, tzinfo=east),
                   "name": "Ünïcode \u2028 \"quoted\" \\ <tag> \x07", "follower_ids": [actor_id, 2**53 + 1]}
    for row in (fields, {**fields, **other_times}):
        expected = TicketPage(items=[TicketOut.model_validate(row)], next_cursor="abc").model_dump_json().encode()
        assert TicketPage.json_of([row], "abc") == expected


def _page_statement_sent(engine: Engine, uow_factory: UowFactory, actor_id: int, view: str,
                         cursor: str | None = None, token: str | None = None) -> tuple[str, object]:
    """The one statement (and its parameters) that reading a page of `view` sends; with `token`, as the API
    reads it for the token's holder, in that same one statement."""
    seen: list[tuple[str, object]] = []

    def capture(conn: object, cursor_: object, statement: str, parameters: object, *_: object) -> None:
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        with uow_factory() as uow:
            if token is None:
                list_page(uow=uow, actor=uow.session.get(User, actor_id), view=view, cursor=cursor)  # type: ignore[arg-type]
            else:
                actor, _, _ = list_tickets_by_token(uow=uow.read_only(), token=token, view=view, cursor=cursor)
                assert actor.id == actor_id
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    if token is None:
        seen = [(statement, parameters) for statement, parameters in seen if "FROM tickets" in statement]
    (sent,) = seen
    return sent


# SQLite only: its planner's choice is fixed by the indexes; PostgreSQL plans by table statistics, which
# a test database of a few rows does not have (B1 in `make bench` measures it at 100,000 tickets).
@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("after", [False, True])
@pytest.mark.parametrize("by_token", [False, True])
def test_sqlite_pages_read_their_view_index_in_order(engine: Engine, uow_factory: UowFactory, actor: tuple[int, str],
                                                     view: str, after: bool, by_token: bool) -> None:
    """No full scan and no sort: a page reads about `limit` entries of its view's index, at any size."""
    assert engine.dialect.name == "sqlite"
    actor_id, token = actor
    statement, parameters = _page_statement_sent(engine, uow_factory, actor_id, view,
                                                 encode_cursor(T0, 10) if after else None, token if by_token else None)
    with engine.connect() as conn:
        rows = list(conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters))  # type: ignore[arg-type]
    plan = [row[3] for row in rows]
    (page,) = [row[0] for row in rows if row[3] == "CO-ROUTINE page"]
    picking = [row[3] for row in rows if row[1] == page]  # choosing the page's rows; the page itself is then sorted
    tickets_steps = [step for step in picking if " tickets " in f" {step} "]
    assert tickets_steps and all("USING" in step and "INDEX" in step for step in tickets_steps), plan
    assert not any("TEMP B-TREE" in step for step in picking), plan


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
@pytest.mark.parametrize(("view", "index"), [("all", "ix_tickets_live_activity"), ("open", "ix_tickets_open_activity"),
                                             ("unassigned", "ix_tickets_unassigned_activity"),
                                             ("unread", "ix_tickets_unread_activity")])
@pytest.mark.parametrize("by_token", [False, True])
def test_postgresql_generic_plans_read_each_views_own_index(engine: Engine, uow_factory: UowFactory,
                                                            actor: tuple[int, str], view: str, index: str,
                                                            by_token: bool) -> None:
    """The read pool runs generic plans, which may use a partial index only if the statement itself
    carries the index's condition: these views' first pages bind no value (but the token of the user
    whose page it is), and read their index."""
    actor_id, token = actor
    statement, parameters = _page_statement_sent(engine, uow_factory, actor_id, view, token=token if by_token else None)
    assert set(parameters) <= {"token_hash"}, "a bound value in a view's condition keeps a generic plan off its index"  # type: ignore[arg-type]
    with engine.connect() as conn:
        conn.exec_driver_sql("SET enable_seqscan = off")  # a test's table is small enough to scan
        plan = "\n".join(conn.exec_driver_sql(f"EXPLAIN {statement}", parameters).scalars())
    assert f"Index Scan Backward using {index} on tickets" in plan, plan
