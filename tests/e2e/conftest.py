"""Browser tests: Debian's Chromium (never a downloaded browser) driving deskpilot served over real HTTP.

One SQLite-backed server and one browser per session; each test gets a fresh browser context.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from core import workspace
from core.config import Settings
from core.db import make_engine, make_session_factory
from core.migrate import upgrade
from core.uow import UnitOfWork
from tests.support import LiveServer, create_user

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
PASSWORD = "correct horse battery"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@dataclass
class Desk:
    """The e2e server, a unit-of-work factory on its database, and its signed-up users."""

    url: str
    uow: Callable[[], UnitOfWork]
    emails: dict[str, str] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)
    passwords: dict[str, str] = field(default_factory=dict)

    def ai(self, on: bool) -> None:
        with self.uow() as uow:
            workspace.update_ai_settings(uow=uow, actor=None, changes={"ai_conversation_data": on, "ai_copilot": on})


@contextmanager
def serve(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[Desk]:
    """deskpilot on a fresh SQLite file (the browser half is about the UI; storage runs on both backends
    in tests/web and tests/integration)."""
    from plugin.app import create_app

    url = f"sqlite:///{tmp_path_factory.mktemp(name) / 'deskpilot.db'}"
    upgrade(url)
    settings = Settings(database_url=url, llm_model="offline", llm_max_retries=0, purge_interval_seconds=0,
                        attachments_dir=str(tmp_path_factory.mktemp(name + "-files")))
    engine = make_engine(url)
    factory = make_session_factory(engine)
    live = LiveServer(create_app(settings)).start()
    try:
        yield Desk(url=live.url, uow=lambda: UnitOfWork(factory, settings=settings))
    finally:
        live.stop()
        engine.dispose()


@pytest.fixture(scope="session")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    """A workspace with one super admin and one agent; tests add the tickets they need."""
    with serve(tmp_path_factory, "e2e") as site:
        for role, email in (("admin", "ada.admin@desk.example"), ("agent", "sam.agent@desk.example")):
            user, _ = create_user(site.uow, email, super_admin=role == "admin")
            site.emails[role], site.ids[role] = email, user.id
        yield site


@pytest.fixture(scope="session")
def demo_desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    """The `make demo` workspace (seeded from core/demo/seed_data.json), signed in as its super admin."""
    from core.demo.seed import seed

    with serve(tmp_path_factory, "demo") as site:
        with site.uow() as uow:
            _, logins = seed(uow=uow)
        admin = next(login for login in logins if "super admin" in login.role)
        site.emails["admin"], site.passwords["admin"] = admin.email, admin.password
        yield site


@pytest.fixture
def page(browser: Any, desk: Desk) -> Iterator[Any]:
    """A fresh context at 1280×800 that records any JavaScript dialog (none may ever open)."""
    context = browser.new_context(base_url=desk.url, viewport=DESKTOP)
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    tab.dialogs_seen = []

    def record(dialog: Any) -> None:
        tab.dialogs_seen.append(dialog.message)
        dialog.dismiss()

    tab.on("dialog", record)
    yield tab
    context.close()


@pytest.fixture
def sign_in(desk: Desk) -> Callable[..., None]:
    """sign_in(page, role="agent", site=desk): through the login form, landing on the help desk."""

    def go(tab: Any, role: str = "agent", site: Desk = desk) -> None:
        tab.goto(site.url + "/login")
        tab.get_by_label("Email").fill(site.emails[role])
        tab.get_by_label("Password").fill(site.passwords.get(role, PASSWORD))
        tab.get_by_role("button", name="Sign in").click()
        tab.wait_for_url("**/helpdesk")

    return go


@pytest.fixture
def screenshot() -> Callable[[Any, str], Path]:
    """screenshot(page, name): a full-page PNG under test-artifacts/screenshots/."""

    def take(tab: Any, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        tab.screenshot(path=str(path), full_page=True)
        return path

    return take
