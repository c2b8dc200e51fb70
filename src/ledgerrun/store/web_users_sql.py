"""The web application's people in SQL: users, sign-in attempts (what throttling counts) and
sessions.

A session is a server-side record: the browser's cookie carries only a random session id (signed
by the web application), and the store keeps the SHA-256 of it, never the id itself. A session
ends when its user signs out, when it expires, and at once for every session of a user who is
disabled or given a new password (:meth:`WebUsers.update_user` ends them in the same
transaction, so no way of changing a user can forget it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ledgerrun.errors import JournalError
from ledgerrun.store import codec, schema
from ledgerrun.store.sql import Conn, SQLBase

if TYPE_CHECKING:  # imported when first used, as web_sql's records are
    from ledgerrun.store.web_model import User, WebSession

Row = Sequence[Any]


def web_record(name: str) -> Callable[..., Any]:
    """What makes the web record ``name`` (a class of :mod:`ledgerrun.store.web_model`) from its
    fields, importing that module at the first record made: a command that never reads the
    web's tables never builds their classes."""

    def make(*values: Any) -> Any:
        from ledgerrun.store import web_model

        return getattr(web_model, name)(*values)

    return make


_user: Callable[[Row], User] = codec.decoder(
    web_record("User"), schema.USER_COLUMNS, booleans=("disabled",)
)
_session: Callable[[Row], WebSession] = codec.decoder(
    web_record("WebSession"), schema.SESSION_COLUMNS
)


def _roles() -> tuple[str, ...]:
    from ledgerrun.store.web_model import ROLES

    return ROLES


_SESSION_FIELDS = ("session_key", "user", "address", "started_at", "expires_at", "ended_at",
                   "ended_why")  # fmt: skip
KEEP_ENDED = dt.timedelta(days=30)  # ended and expired sessions are forgotten after this


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class WebUsers(SQLBase):
    # --- users -----------------------------------------------------------------------------

    def add_user(self, user: User) -> None:
        if user.role not in _roles():
            raise JournalError(f"unknown role {user.role!r}: use one of {', '.join(_roles())}")
        with self._tx(f"add the user {user.name}", write=True) as conn:
            if conn.execute("SELECT 1 FROM users WHERE name = ?", (user.name,)).fetchone():
                raise JournalError(f"there is already a user {user.name}")
            columns = schema.USER_COLUMNS
            conn.execute(
                f"INSERT INTO users ({codec.cols(columns)}) VALUES ({codec.marks(columns)})",
                codec.encode(user, columns),
            )

    def user(self, name: str) -> User | None:
        with self._tx("read a user") as conn:
            row = conn.execute(
                f"SELECT {codec.cols(schema.USER_COLUMNS)} FROM users WHERE name = ?", (name,)
            ).fetchone()
        return None if row is None else _user(row)

    def users(self) -> list[User]:
        with self._tx("list users") as conn:
            rows = conn.execute(
                f"SELECT {codec.cols(schema.USER_COLUMNS)} FROM users ORDER BY name"
            )
            return [_user(row) for row in rows]

    def update_user(
        self,
        name: str,
        *,
        role: str | None = None,
        password_hash: str | None = None,
        disabled: bool | None = None,
    ) -> None:
        """Change a user; a new password or disabling ends every open session of the user in
        the same transaction."""
        changes: dict[str, Any] = {}
        if role is not None:
            if role not in _roles():
                raise JournalError(f"unknown role {role!r}: use one of {', '.join(_roles())}")
            changes["role"] = role
        if password_hash is not None:
            changes["password_hash"] = password_hash
        if disabled is not None:
            changes["disabled"] = int(disabled)
        if not changes:
            return
        sets = ", ".join(f"{k} = ?" for k in changes)
        with self._tx(f"change the user {name}", write=True) as conn:
            sql = f"UPDATE users SET {sets} WHERE name = ?"
            if conn.execute(sql, (*changes.values(), name)).rowcount != 1:
                raise JournalError(f"there is no user {name}")
            if disabled:
                self._end_all(conn, name, _now(), "the user was disabled")
            elif password_hash is not None:
                self._end_all(conn, name, _now(), "the password was changed")

    # --- sign-ins ----------------------------------------------------------------------------

    def record_signin(
        self, name: str, address: str, ok: bool, at: dt.datetime, device: str = ""
    ) -> None:
        """One sign-in attempt whose password was checked (``device``: the browser's id, when
        it carried a known-browser cookie for this name)."""
        with self._tx("record a sign-in", write=True, durable=False) as conn:
            conn.execute(
                "INSERT INTO signins (name, address, ok, at, device) VALUES (?, ?, ?, ?, ?)",
                (name, address, int(ok), codec.ts(at, "at"), device),
            )

    def failed_signins(self, name: str, address: str, since: dt.datetime) -> int:
        """Failed sign-ins since ``since`` for this name, or from this address."""
        with self._tx("count failed sign-ins") as conn:
            row = conn.execute(
                "SELECT COUNT(*) FROM signins WHERE ok = 0 AND at > ? AND (name = ? OR"
                " address = ?)",
                (codec.ts(since, "since"), name, address),
            ).fetchone()
        return int(row[0]) if row else 0

    def signin_failures(
        self,
        since: dt.datetime,
        *,
        name: str | None = None,
        address: str | None = None,
        device: str | None = None,
    ) -> tuple[int, dt.datetime | None]:
        """Failed sign-ins since ``since`` matching every one of ``name``, ``address`` and
        ``device`` that is given (``device=""``: tries without a known-browser cookie), and the
        time of the last of them."""
        where = ["ok = 0", "at > ?"]
        values: list[Any] = [codec.ts(since, "since")]
        for column, value in (("name", name), ("address", address), ("device", device)):
            if value is not None:
                where.append(f"{column} = ?")
                values.append(value)
        with self._tx("count failed sign-ins") as conn:
            row = conn.execute(
                f"SELECT COUNT(*), MAX(at) FROM signins WHERE {' AND '.join(where)}", values
            ).fetchone()
        if not row or not row[0]:
            return 0, None
        return int(row[0]), dt.datetime.fromisoformat(str(row[1]))

    # --- sessions ----------------------------------------------------------------------------

    def add_session(self, session: WebSession) -> None:
        """Record a new session (and forget sessions that ended or expired long ago)."""
        columns = schema.SESSION_COLUMNS
        values = codec.encode(session, _SESSION_FIELDS)
        with self._tx("record a session", write=True) as conn:
            old = codec.ts(_now() - KEEP_ENDED, "before")
            conn.execute("DELETE FROM web_sessions WHERE expires_at < ?", (old,))
            conn.execute(
                f"INSERT INTO web_sessions ({codec.cols(columns)}) VALUES ({codec.marks(columns)})",
                values,
            )

    def web_session(self, session_key: str) -> WebSession | None:
        with self._tx("read a session") as conn:
            row = conn.execute(
                f"SELECT {codec.cols(schema.SESSION_COLUMNS)} FROM web_sessions"
                " WHERE session_key = ?",
                (session_key,),
            ).fetchone()
        return None if row is None else _session(row)

    def open_sessions(self, at: dt.datetime) -> list[WebSession]:
        """The sessions not ended nor expired at ``at``, newest first."""
        with self._tx("list sessions") as conn:
            rows = conn.execute(
                f"SELECT {codec.cols(schema.SESSION_COLUMNS)} FROM web_sessions WHERE ended_at"
                " IS NULL AND expires_at > ? ORDER BY started_at DESC",
                (codec.ts(at, "at"),),
            )
            return [_session(row) for row in rows]

    def end_session(self, session_key: str, at: dt.datetime, why: str) -> None:
        with self._tx("end a session", write=True) as conn:
            conn.execute(
                "UPDATE web_sessions SET ended_at = ?, ended_why = ? WHERE session_key = ? AND"
                " ended_at IS NULL",
                (codec.ts(at, "at"), why, session_key),
            )

    def end_sessions(self, user: str, at: dt.datetime, why: str) -> int:
        """End every open session of ``user``; how many there were."""
        with self._tx(f"end the sessions of {user}", write=True) as conn:
            return self._end_all(conn, user, at, why)

    @staticmethod
    def _end_all(conn: Conn, user: str, at: dt.datetime, why: str) -> int:
        return conn.execute(
            "UPDATE web_sessions SET ended_at = ?, ended_why = ? WHERE username = ? AND ended_at"
            " IS NULL",
            (codec.ts(at, "at"), why, user),
        ).rowcount
