"""The `deskpilot` command line. Heavy imports stay inside commands so `--help` is instant."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

# Plain help text: Typer's rich help would import rich's Markdown renderer first (~150 ms of a 0.3 s budget).
app = typer.Typer(help="deskpilot: an AI-assisted help desk you host yourself.", no_args_is_help=True,
                  add_completion=False, rich_markup_mode=None)
users_app = typer.Typer(help="Manage users (agents).", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(users_app, name="users")


def _settings():
    from core.config import Settings

    return Settings()


def _uow():
    from core.db import make_engine, make_session_factory
    from core.uow import UnitOfWork

    settings = _settings()
    return UnitOfWork(make_session_factory(make_engine(settings.database_url)), settings=settings)


@app.command()
def init() -> None:
    """Create the database schema, or upgrade it to the latest version."""
    from core.migrate import upgrade

    settings = _settings()
    upgrade(settings.database_url)
    typer.echo("Database is up to date.")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    demo: Annotated[bool, typer.Option("--demo", help="Create the schema and seed demo data first.")] = False,
    workers: Annotated[int, typer.Option(help="Server processes (use PostgreSQL for more than one).")] = 1,
) -> None:
    """Serve the web workspace and the REST API."""
    import uvicorn

    if demo:
        init()
        seed_demo()
    typer.echo(f"deskpilot on http://{host}:{port}  (API docs: http://{host}:{port}/docs)")
    uvicorn.run("plugin.app:create_app", factory=True, host=host, port=port, workers=workers,
                log_level="info")


@app.command("demo")
def seed_demo() -> None:
    """Seed demo data (idempotent) and print the demo logins."""
    from core.demo.seed import seed

    with _uow() as uow:
        created, logins = seed(uow=uow)
    typer.echo("Seeded the demo workspace." if created else "Demo data is already there; new API tokens issued.")
    typer.echo("Demo logins (email / password / role / API token):")
    for login in logins:
        typer.echo(f"  {login.email:32} {login.password:18} {login.role:28} {login.token}")


@app.command("seed")
def seed_load(
    tickets: Annotated[int, typer.Option("--tickets", min=1, help="How many tickets to generate.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed: the same seed gives the same data.")] = 0,
) -> None:
    """Generate realistic load data in bulk (agents, contacts, tickets with conversations and messages)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from core.db import make_engine
    from core.loadgen import generate

    engine = make_engine(_settings().database_url)
    columns = (TextColumn("Seeding"), BarColumn(), MofNCompleteColumn(), TextColumn("tickets"), TimeElapsedColumn())
    try:
        with Progress(*columns) as progress:
            task = progress.add_task("seed", total=tickets)
            report = generate(engine=engine, tickets=tickets, seed=seed,
                              on_progress=lambda done, total: progress.update(task, completed=done))
    finally:
        engine.dispose()
    typer.echo(f"Added {report.tickets} tickets, {report.conversations} conversations, {report.messages} messages, "
               f"{report.users} agents and {report.contacts} contacts.")


@users_app.command("create")
def users_create(
    email: str,
    name: Annotated[str, typer.Option("--name", help="Display name.")] = "",
    super_admin: Annotated[bool, typer.Option("--super-admin", help="Make the user a super admin.")] = False,
    permission: Annotated[
        list[str] | None, typer.Option("--permission", help="delete_tickets or account_access (repeatable).")
    ] = None,
    password: Annotated[str | None, typer.Option(help="Password for the web workspace.")] = None,
) -> None:
    """Create a user; the new API token is printed as the last line."""
    from core import users
    from core.errors import DeskpilotError

    try:
        with _uow() as uow:
            user = users.create_user(uow=uow, actor=None, email=email, name=name, password=password,
                                     super_admin=super_admin, permissions=tuple(permission or ()))
            token = users.issue_token(uow=uow, user=user)
    except DeskpilotError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"Created user {user.id} <{user.email}>. API token (shown once):")
    typer.echo(token)


@app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="A .jsonl or .mbox file.")],
) -> None:
    """Import conversations from a JSON Lines or mbox file, with a progress bar."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from core.importing import import_path

    columns = (TextColumn("Importing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, transient=False) as progress, _uow() as uow:
        task = progress.add_task("import", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        try:
            report = import_path(uow=uow, path=file, on_progress=advance)
        except ValueError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from exc
    typer.echo(
        f"Imported {report.tickets} tickets, {report.messages} messages; "
        f"threaded {report.threaded}, skipped {report.skipped} (duplicates {report.duplicates})."
    )
    for line in report.problems[:20]:
        typer.echo(f"  skipped: {line}")


@app.command()
def purge() -> None:
    """Remove spam and trash older than the retention period (90 days) for good."""
    from core.purge import purge as run_purge

    with _uow() as uow:
        result = run_purge(uow=uow)
    typer.echo(f"Purged {result.tickets} tickets and {result.conversations} spam conversations.")


def _serve_smtp(handler: object, host: str, port: int, max_bytes: int, banner: str) -> None:
    import threading

    from core.mail.smtp_server import make_controller

    controller = make_controller(handler, host=host, port=port, max_bytes=max_bytes)
    try:
        controller.start()
    except Exception as exc:  # port taken, bad interface, ...
        typer.echo(f"error: cannot listen on {host}:{port}: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(banner)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


@app.command("mail-server")
def mail_server(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="SMTP port to listen on.")] = 2525,
) -> None:
    """Receive email over SMTP into the help desk (the same intake as POST /inbound/email)."""
    from core.db import make_engine, make_session_factory
    from core.mail import queue
    from core.mail.smtp_server import IntakeHandler
    from core.models import utcnow
    from core.uow import UnitOfWork

    settings = _settings()
    engine = make_engine(settings.database_url)
    factory = make_session_factory(engine)
    stop_queue = queue.start(engine, settings, utcnow)  # follow notifications by email for inbound mail
    handler = IntakeHandler(lambda: UnitOfWork(factory, settings=settings))
    try:
        _serve_smtp(handler, host, port, settings.max_email_bytes,
                    f"deskpilot mail server on smtp://{host}:{port} (limit {settings.max_email_bytes:,} bytes); "
                    "Ctrl+C stops it.")
    finally:
        stop_queue()


@app.command("mail-sink")
def mail_sink(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="SMTP port to listen on.")] = 1025,
) -> None:
    """A local SMTP server that prints every email it gets, instead of delivering it (for demos)."""
    import sys

    from core.mail.smtp_server import PrintingHandler

    _serve_smtp(PrintingHandler(sys.stdout), host, port, 50_000_000,
                f"Printing every email sent to smtp://{host}:{port}; Ctrl+C stops it.")


def main() -> None:
    """Console-script entry point."""
    app()
