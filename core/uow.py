"""The unit of work: the only place that commits. Leaving it without commit rolls back."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from types import TracebackType
from typing import Any

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from core.config import Settings
from core.db import AUTOCOMMIT_ENGINES, ReadStatement, driver_rows
from core.errors import Conflict
from core.models import utcnow


class UnitOfWork:
    """One database transaction around one action; `after_commit` hooks run only on success."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        *,
        settings: Settings | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._factory = session_factory
        self.settings = settings or Settings()
        self.clock = clock
        self._after_commit: list[Callable[[], None]] = []
        self._session: Session | None = None
        self._read_only = False

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("UnitOfWork used outside its `with` block")
        return self._session

    def __enter__(self) -> UnitOfWork:
        self._session = self._factory()
        self._after_commit = []
        self._read_only = False
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session, self._session = self._session, None
        if session is not None and self._read_only:
            session.close()  # nothing to undo: closing detaches what was read and returns the connection
        elif session is not None:
            # Detach the loaded objects first, so the rollback does not expire them one by one; the rollback
            # itself must run: after a failed COMMIT only it resets the connection before it goes back.
            session.expunge_all()
            session.rollback()
            session.close()
        # A race can also surface outside flush()/commit(), e.g. a deadlock in a query's autoflush.
        conflict = _as_conflict(exc) if exc is not None and not isinstance(exc, Conflict) else None
        if conflict is not None:
            raise conflict from exc

    def read_only(self) -> UnitOfWork:
        """Declare a unit of work that only reads (call before its first query). On PostgreSQL its
        statements then run without BEGIN and ROLLBACK, two round trips fewer; at READ COMMITTED each
        statement sees its own snapshot either way. Committing it is a programming error."""
        bind = self.session.get_bind()
        if bind.dialect.name == "postgresql" and bind not in AUTOCOMMIT_ENGINES:
            self.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        self._read_only = True
        return self

    def read_rows(self, statement: ReadStatement, params: dict[str, Any]) -> Sequence[Sequence[Any]]:
        """The rows of `statement`; in a read-only unit of work, fetched the fastest way (`core.db.driver_rows`,
        which may run a statement twice: only outside a transaction is that harmless)."""
        if not self._read_only:
            return self.session.execute(statement, params).all()
        return driver_rows(self.session.connection(), statement, params)

    def now(self) -> datetime:
        return self.clock()

    def after_commit(self, hook: Callable[[], None]) -> None:
        """Run `hook` once the transaction has committed (e.g. send email)."""
        self._after_commit.append(hook)

    def flush(self) -> None:
        """Flush now; a row a concurrent action changed first becomes a `Conflict`, as at commit."""
        with self._conflicts():
            self.session.flush()

    def commit(self) -> None:
        """Commit; a concurrent change to the same rows becomes a `Conflict`."""
        if self._read_only:
            raise RuntimeError("a read-only unit of work cannot commit")
        with self._conflicts():
            self.session.commit()
        hooks, self._after_commit = self._after_commit, []
        for hook in hooks:
            hook()

    @contextmanager
    def _conflicts(self) -> Iterator[None]:
        try:
            yield
        except (StaleDataError, IntegrityError, OperationalError) as exc:
            self.session.rollback()
            conflict = _as_conflict(exc)
            if conflict is None:
                raise
            raise conflict from exc

    def rollback(self) -> None:
        self.session.rollback()


def _as_conflict(exc: BaseException) -> Conflict | None:
    """The `Conflict` a lost race becomes, or None for errors that are not races."""
    if isinstance(exc, StaleDataError):
        return Conflict("The ticket was changed by someone else; reload and try again.")
    if isinstance(exc, IntegrityError):
        return Conflict("The change conflicts with existing data; reload and try again.")
    if isinstance(exc, OperationalError) and _is_serialization_failure(exc):
        return Conflict("A concurrent change won; reload and try again.")
    return None


def _is_serialization_failure(exc: OperationalError) -> bool:
    text = str(exc.orig).lower()
    return "could not serialize" in text or "deadlock" in text or "database is locked" in text
