"""An XSS corpus in every place customer or agent text shows up, rendered inert in a real browser.

Payloads go into ticket names, descriptions, message text, subjects and sender names, HTML email (posted and
received over email intake), contact/company/deal names, user and inbox names, notifications, the search box,
error pages, and AI name suggestions from a hostile model. Debian's Chromium (as in tests/e2e) opens every page;
no dialog may open, no payload may set its global, no element may carry an event handler attribute, and
nothing may be fetched from the beacon address the payloads point at.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import pytest

from core import inbound, inboxes, users, workspace
from core.actions import follow
from core.config import Settings
from core.db import make_engine, make_session_factory
from core.migrate import upgrade
from core.models import Company, Contact, Deal, Ticket, User
from core.schemas import TicketCreate, TicketUpdate
from core.tickets import create_ticket, update_ticket
from core.uow import UnitOfWork
from tests.fakes import FakeOpenAIServer
from tests.support import LiveServer

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery"
BEACON = "http://127.0.0.1:9/xss-beacon"  # nothing listens there; a request to it means a payload loaded


def payloads(tag: str) -> list[str]:
    """One payload per technique; each, if it ever ran, would set window.__xss to a value naming itself."""
    js = f"top.__xss='{tag}';window.__xss='{tag}'"
    return [
        f"<script>{js}</script>",
        f'<img src=x onerror="{js};alert(1)">',
        f'<svg/onload="{js}">',
        f'"><script>{js}</script>',
        f"'><img src=x onerror={js}>",
        f"</textarea></title></style><script>{js}</script>",
        f'<a href="javascript:{js}">click me</a>',
        f'<iframe srcdoc="<script>parent.__xss=\'{tag}\'</script>"></iframe>',
        f'<details open ontoggle="{js}"><summary>x</summary></details>',
        f"<math><mtext><table><mglyph><style><img src=x onerror=\"{js}\">",
        f'<img src="{BEACON}-{tag}.png"><link rel=stylesheet href="{BEACON}-{tag}.css">',
        f"<style>@import '{BEACON}-{tag}-import.css';</style><base href=\"{BEACON}-{tag}/\">",
        f'<meta http-equiv="refresh" content="0;url=javascript:{js}">',
        f'<form action="javascript:{js}"><button autofocus onfocus="{js}">go</button></form>',
        "{{7*7}} ${7*7} <%= 7*7 %> {% raw %}",
    ]


class Site:
    def __init__(self, url: str, uow: Callable[[], UnitOfWork], provider: FakeOpenAIServer) -> None:
        self.url, self.uow, self.provider = url, uow, provider
        self.ticket_ids: list[int] = []


def _seed(site: Site) -> None:
    with site.uow() as uow:
        admin = users.create_user(uow=uow, actor=None, email="admin@desk.example", password=PASSWORD,
                                  name="<img src=x onerror=\"top.__xss='user'\">Ada", super_admin=True)
    with site.uow() as uow:
        other = users.create_user(uow=uow, actor=None, email="other@desk.example", password=PASSWORD,
                                  name="<script>top.__xss='other'</script>")
    with site.uow() as uow:
        inboxes.create_inbox(uow=uow, actor=None, name="<svg/onload=\"top.__xss='inbox'\">Sales")
    for n, payload in enumerate(payloads("t")):
        body = {"name": payload[:300], "description": payload, "channel": "email",
                "contact": {"name": payload[:200], "email": f"c{n}@shop.example"},
                "messages": [{"direction": "incoming", "sender_name": payload[:200],
                              "sender_email": f"c{n}@shop.example", "subject": payload,
                              "text": payload + " please help", "html": "".join(payloads("h"))}]}
        with site.uow() as uow:
            site.ticket_ids.append(create_ticket(uow=uow, actor=None, data=TicketCreate.model_validate(body)).id)
    html = "".join(payloads("mail"))
    raw = ("From: \"<script>top.__xss='from'</script>\" <evil@shop.example>\r\nTo: help@desk.example\r\n"
           "Subject: =?utf-8?Q?<script>top.__xss='subj'</script>?=\r\nMessage-ID: <xss@shop.example>\r\n"
           "MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"b\"\r\n\r\n--b\r\n"
           "Content-Type: text/plain\r\n\r\n<script>top.__xss='plain'</script>\r\n--b\r\n"
           f"Content-Type: text/html\r\n\r\n{html}\r\n--b--\r\n").encode()
    with site.uow() as uow:
        site.ticket_ids.append(inbound.ingest_raw_email(uow=uow, actor=None, raw=raw).ticket_id or 0)
    with site.uow() as uow:
        uow.session.add_all([Company(name="<img src=x onerror=\"top.__xss='co'\">"),
                             Deal(name="<script>top.__xss='deal'</script>"), Contact(name="<b onmouseover=x>c</b>")])
        ticket = uow.session.get(Ticket, site.ticket_ids[0])
        assert ticket is not None
        ticket.companies = list(uow.session.query(Company))
        ticket.deals = list(uow.session.query(Deal))
        uow.commit()
    with site.uow() as uow:  # notifications carry ticket names: the admin follows, another user edits
        actor = uow.session.get(User, admin.id)
        assert actor is not None
        follow.set_following(uow=uow, actor=actor, ticket_id=site.ticket_ids[1], follow=True)
    with site.uow() as uow:
        editor = uow.session.get(User, other.id)
        assert editor is not None
        update_ticket(uow=uow, actor=editor, ticket_id=site.ticket_ids[1],
                      data=TicketUpdate(description="<img src=x onerror=\"top.__xss='notify'\">"))
    with site.uow() as uow:
        workspace.update_ai_settings(uow=uow, actor=None, changes={
            "ai_conversation_data": True, "ai_copilot": True, "llm_model": "openai/test-model",
            "llm_api_base": site.provider.base_url})


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    from plugin.app import create_app

    url = f"sqlite:///{tmp_path_factory.mktemp('xss') / 'deskpilot.db'}"
    upgrade(url)
    settings = Settings(database_url=url, llm_max_retries=0, llm_timeout=10, purge_interval_seconds=0,
                        mail_queue_interval_seconds=0)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with FakeOpenAIServer(default_reply=None) as provider:
        live = LiveServer(create_app(settings)).start()
        try:
            built = Site(live.url, lambda: UnitOfWork(factory, settings=settings), provider)
            _seed(built)
            yield built
        finally:
            live.stop()
            engine.dispose()


@pytest.fixture
def page(browser: Any, site: Site) -> Iterator[Any]:
    context = browser.new_context(base_url=site.url)
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    tab.dialogs_seen, tab.beacons = [], []
    tab.on("dialog", lambda dialog: (tab.dialogs_seen.append(dialog.message), dialog.dismiss()))
    tab.on("request", lambda request: tab.beacons.append(request.url) if "xss-beacon" in request.url else None)
    tab.goto("/login")
    tab.get_by_label("Email").fill("admin@desk.example")
    tab.get_by_label("Password").fill(PASSWORD)
    tab.get_by_role("button", name="Sign in").click()
    tab.wait_for_url("**/helpdesk")
    yield tab
    context.close()


INERT_CHECK = """() => {
  const handlers = [...document.querySelectorAll('*')].filter(
      e => [...e.attributes].some(a => a.name.toLowerCase().startsWith('on'))).length;
  const jsLinks = document.querySelectorAll('a[href^="javascript:" i], form[action^="javascript:" i]').length;
  return {xss: typeof window.__xss === 'undefined' ? null : String(window.__xss), handlers, jsLinks};
}"""


def _assert_inert(tab: Any, where: str) -> None:
    tab.wait_for_timeout(150)
    for frame in tab.frames:
        try:
            found = frame.evaluate(INERT_CHECK)
        except Exception:  # noqa: BLE001 - a frame that navigated away or is gone holds nothing to check
            continue
        assert found == {"xss": None, "handlers": 0, "jsLinks": 0}, f"{where} ({frame.url[:60]}): {found}"
    assert tab.dialogs_seen == [], f"{where}: a dialog opened: {tab.dialogs_seen}"
    assert tab.beacons == [], f"{where}: a payload fetched {tab.beacons}"


def test_xss_corpus_is_inert_on_every_page(page: Any, site: Site) -> None:
    pages = ["/helpdesk", "/helpdesk?view=all", "/notifications", "/admin", "/inboxes/1", "/helpdesk/spam",
             "/helpdesk?q=" + quote(payloads("q")[0]), "/helpdesk?q=" + quote(payloads("q")[1]),
             "/tickets/99999", "/tickets/1?notice=" + quote("<script>top.__xss='notice'</script>"),
             "/login?next=" + quote("javascript:top.__xss='next'")]
    pages += [f"/tickets/{tid}" for tid in site.ticket_ids]
    for path in pages:
        page.goto(path)
        for details in page.locator("details.formatted").all():  # render the sanitised HTML email too
            details.locator("summary").click()
        _assert_inert(page, path)
    page.goto(f"/tickets/{site.ticket_ids[0]}")
    shown = page.locator("body").inner_text()
    assert payloads("t")[0] in shown and payloads("t")[-1][:20] not in ("49", "")  # shown as text, not run


def test_the_inert_check_catches_a_live_payload(page: Any) -> None:
    """The checks above can fail: the same payload on a page without escaping or CSP is caught."""
    page.set_content("<p>unsafe</p>" + payloads("live")[1])
    with pytest.raises(AssertionError):
        _assert_inert(page, "a page that runs the payload")


def test_hostile_ai_suggestions_render_as_text(page: Any, site: Site) -> None:
    site.provider.enqueue_reply(json.dumps({"suggestions": [p[:120] for p in payloads("ai")][:10]}))
    page.goto(f"/tickets/{site.ticket_ids[2]}")
    page.get_by_role("button", name="Suggest names with AI").click()
    items = page.locator("#ai-names-panel [data-ai-list] li")
    items.first.wait_for()
    texts = items.all_inner_texts()
    assert texts and all("<" not in t and ">" not in t for t in texts)
    _assert_inert(page, "AI suggestions")


def test_ai_buttons_send_nothing_to_the_provider_when_ai_is_off(page: Any, site: Site) -> None:
    """Privacy in the browser: with AI access off, pressing the AI buttons (even forced) sends zero bytes."""
    before = (site.provider.bytes_received, len(site.provider.requests))
    with site.uow() as uow:
        workspace.update_ai_settings(uow=uow, actor=None, changes={"ai_copilot": False})
    try:
        page.goto(f"/tickets/{site.ticket_ids[3]}")
        page.locator("[data-ai-names], .ai-star").first.click(force=True)
        page.locator("#summary button").first.click(force=True)
        page.wait_for_timeout(500)
        # And the page's own endpoints, called the way its script would, are refused.
        status = page.evaluate("""async (id) => {
            const csrf = document.querySelector('meta[name="csrf-token"]').content;
            const r = await fetch(`/tickets/${id}/ai/names`, {method: 'POST', body: '{}',
                headers: {'Content-Type': 'application/json', 'X-CSRF-Token': csrf, 'Accept': 'application/json'}});
            return r.status; }""", site.ticket_ids[3])
        assert status == 403
    finally:
        with site.uow() as uow:
            workspace.update_ai_settings(uow=uow, actor=None, changes={"ai_copilot": True})
    assert (site.provider.bytes_received, len(site.provider.requests)) == before
