"""Event storage: SQLite (default) or PostgreSQL behind one small interface, chosen by URL.

- `sqlite:///abs/path.db`, `sqlite:relative.db` or a plain path: SQLite in WAL mode with
  synchronous=FULL, so a committed batch survives a crash of the process or of the machine.
- `postgresql://user:pass@host:port/db` (or `postgres://`): PostgreSQL through psycopg 3 (the [server]
  extra), with its default synchronous commit.

`insert_batch` is all-or-nothing and returns only after the commit, which is what lets the collector
acknowledge a batch. Duplicate event ids are skipped, so a client may resend a batch safely.
Both stores use the same SQL (the PostgreSQL store swaps the `?` placeholders for `%s`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import sqlite3
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import PocketOCRError
from .timestamps import utc_now

__all__ = [
    "KEY_PREFIX",
    "SCHEMA_VERSION",
    "ApiKey",
    "EventRow",
    "ImageRow",
    "PostgresStore",
    "SQLiteStore",
    "StorageError",
    "Store",
    "StoredEvent",
    "default_db_path",
    "open_store",
    "redact_url",
]

SCHEMA_VERSION = 1
KEY_PREFIX = "pok_"
_KEY_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$")
_COLUMNS = ("event_id", "type", "ts", "session_id", "task", "app_version", "model_version", "platform",
            "pans_masked", "received_at", "key_name", "body")


class StorageError(PocketOCRError, RuntimeError):
    """The database cannot be opened or written (missing file, bad URL, server down, ...)."""


@dataclass(frozen=True)
class EventRow:
    """One validated, scrubbed event to store: indexed columns plus the canonical JSON body."""

    event_id: str
    type: str
    ts: str                 # UTC, "YYYY-MM-DDTHH:MM:SS.ffffffZ"
    session_id: str
    task: str
    app_version: str
    model_version: str
    platform: str
    pans_masked: int        # card numbers the collector had to mask in this event
    body: str               # JSON of the event, without image bytes


@dataclass(frozen=True)
class ImageRow:
    """A consented formula page image, stored beside its scan_submitted event."""

    event_id: str
    media_type: str
    data: bytes


@dataclass(frozen=True)
class StoredEvent:
    """One event read back: the indexed columns, and `body`, the event's JSON as a dict."""

    event_id: str
    type: str
    ts: str
    session_id: str
    task: str
    app_version: str
    model_version: str
    platform: str
    pans_masked: int
    received_at: str
    body: dict[str, Any]


@dataclass(frozen=True)
class ApiKey:
    name: str
    prefix: str          # the first characters of the key, to recognise it; the key itself is not stored
    created_at: str
    revoked_at: str | None


@dataclass(eq=False)
class _Pending:
    """One batch waiting for a group commit."""

    events: list[EventRow]
    images: list[ImageRow]
    key_name: str | None
    inserted: int = 0
    error: StorageError | None = None
    done: threading.Event = field(default_factory=threading.Event)


def _hash_key(key: str) -> str:
    # Keys are 256-bit random tokens, so a plain SHA-256 is enough (no salt or slow hash needed).
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def default_db_path() -> Path:
    """The default SQLite file: `events.sqlite3` in pocketocr's folder of the user data directory.

    >>> default_db_path().name
    'events.sqlite3'
    """
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "pocketocr" / "events.sqlite3"


def redact_url(url: str) -> str:
    """The URL with any password replaced by `***`, for logs and messages.

    >>> redact_url("postgresql://app:s3cret@db:5432/events")
    'postgresql://app:***@db:5432/events'
    """
    return re.sub(r"^([a-z]+://[^:/@]*):[^@]*@", r"\1:***@", url)


class Store:
    """What the collector and the reports need from a database; see `open_store`."""

    url: str
    _placeholder = "?"
    _blob = "BLOB"

    # errors that refuse one batch (its rows break a constraint); any other error fails the whole group
    _row_errors: tuple[type[BaseException], ...] = (sqlite3.IntegrityError, sqlite3.DataError,
                                                     sqlite3.InterfaceError)

    def __init__(self) -> None:
        self._lock = threading.Lock()          # one statement sequence on the connection at a time
        self._write_lock = threading.Lock()    # group-commit leader; taken before _lock
        self._pending_lock = threading.Lock()
        self._pending: list[_Pending] = []

    # --- subclass hooks ---------------------------------------------------------------------------
    def _connection(self) -> Any:
        raise NotImplementedError

    @contextmanager
    def _transaction(self, write: bool = False) -> Iterator[Any]:
        raise NotImplementedError
        yield

    @contextmanager
    def _savepoint(self, cur: Any) -> Iterator[None]:
        """Inside a transaction: roll back to here if the block raises."""
        raise NotImplementedError
        yield

    def close(self) -> None:
        """Close the connection."""
        raise NotImplementedError

    # --- shared SQL -------------------------------------------------------------------------------
    def _sql(self, sql: str) -> str:
        return sql if self._placeholder == "?" else sql.replace("?", self._placeholder)

    def _ddl(self) -> list[str]:
        return [
            """CREATE TABLE IF NOT EXISTS events (
                event_id TEXT PRIMARY KEY, type TEXT NOT NULL, ts TEXT NOT NULL, session_id TEXT NOT NULL,
                task TEXT NOT NULL, app_version TEXT NOT NULL, model_version TEXT NOT NULL,
                platform TEXT NOT NULL, pans_masked INTEGER NOT NULL DEFAULT 0, received_at TEXT NOT NULL,
                key_name TEXT, body TEXT NOT NULL)""",
            "CREATE INDEX IF NOT EXISTS events_ts ON events (ts)",
            "CREATE INDEX IF NOT EXISTS events_session ON events (session_id)",
            f"""CREATE TABLE IF NOT EXISTS images (
                event_id TEXT PRIMARY KEY REFERENCES events (event_id), media_type TEXT NOT NULL,
                data {self._blob} NOT NULL)""",
            """CREATE TABLE IF NOT EXISTS api_keys (
                name TEXT PRIMARY KEY, prefix TEXT NOT NULL, sha256 TEXT NOT NULL UNIQUE,
                created_at TEXT NOT NULL, revoked_at TEXT)""",
            "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        ]

    def _init_schema(self) -> None:
        with self._transaction(write=True) as cur:
            for stmt in self._ddl():
                cur.execute(stmt)
            cur.execute(self._sql("SELECT value FROM meta WHERE key = ?"), ("schema_version",))
            row = cur.fetchone()
            if row is None:
                sql = "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING"
                cur.execute(self._sql(sql), ("schema_version", str(SCHEMA_VERSION)))
            elif int(row[0]) > SCHEMA_VERSION:
                raise StorageError(f"database schema v{row[0]} is newer than this pocketocr's "
                                   f"(v{SCHEMA_VERSION}); upgrade pocketocr")

    def insert_batch(self, events: list[EventRow], images: tuple[ImageRow, ...] | list[ImageRow] = (),
                     key_name: str | None = None) -> int:
        """Store a batch atomically; return how many events were new (the rest were duplicates).

        Batches that arrive while another commit is running are committed together (group commit:
        one transaction, one savepoint per batch, one disk sync), so concurrent clients do not wait
        for one sync each. A batch that fails alone is rolled back to its savepoint; if the commit
        fails, no batch of the group is stored.

        Args:
            events: validated rows (`ingest.parse_batch`).
            images: image rows; stored only for events that are new.
            key_name: the API key the batch came with.

        Returns:
            The number of events inserted; `len(events) - n` were already there. Returns after the commit.

        Raises:
            StorageError: nothing of this batch was stored.
        """
        mine = _Pending(list(events), list(images), key_name)
        with self._pending_lock:
            self._pending.append(mine)
        with self._write_lock:  # whoever holds it commits everything pending, its own batch included
            if not mine.done.is_set():
                with self._pending_lock:
                    group, self._pending = self._pending, []
                self._commit_group(group)
        mine.done.wait()
        if mine.error is not None:
            raise mine.error
        return mine.inserted

    def _commit_group(self, group: list[_Pending]) -> None:
        received = utc_now()
        insert_event = self._sql(
            f"INSERT INTO events ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))}) "
            "ON CONFLICT (event_id) DO NOTHING")
        insert_image = self._sql("INSERT INTO images (event_id, media_type, data) VALUES (?, ?, ?) "
                                 "ON CONFLICT (event_id) DO NOTHING")
        counts: dict[int, int] = {}
        errors: dict[int, StorageError] = {}
        try:
            with self._transaction(write=True) as cur:
                for i, p in enumerate(group):
                    new_ids: set[str] = set()
                    try:
                        with self._savepoint(cur):
                            for e in p.events:
                                cur.execute(insert_event, (e.event_id, e.type, e.ts, e.session_id, e.task,
                                                           e.app_version, e.model_version, e.platform,
                                                           e.pans_masked, received, p.key_name, e.body))
                                if cur.rowcount == 1:
                                    new_ids.add(e.event_id)
                            for im in p.images:
                                if im.event_id in new_ids:
                                    cur.execute(insert_image, (im.event_id, im.media_type, im.data))
                    except self._row_errors as exc:  # this batch only (a constraint); the others go on
                        errors[i] = StorageError(f"batch refused by the database: {type(exc).__name__}: {exc}")
                        continue
                    counts[i] = len(new_ids)
        except StorageError as exc:  # the transaction failed: nothing of the group is stored
            errors = dict.fromkeys(range(len(group)), exc)
            counts = {}
        except BaseException as exc:
            errors = dict.fromkeys(range(len(group)), StorageError(f"storing failed: {type(exc).__name__}"))
            counts = {}
            raise
        finally:
            # published only now, after the commit (or its failure)
            for i, p in enumerate(group):
                p.error = errors.get(i)
                p.inserted = counts.get(i, 0)
                p.done.set()

    def events(self, since: str | None = None, types: tuple[str, ...] | None = None,
               task: str | None = None) -> list[StoredEvent]:
        """Stored events in time order; optionally only from `since` (UTC timestamp text) on, of some types,
        or of one task."""
        where, params = [], []
        if since:
            where.append("ts >= ?")
            params.append(since)
        if types:
            where.append(f"type IN ({', '.join('?' * len(types))})")
            params.extend(types)
        if task:
            where.append("task = ?")
            params.append(task)
        sql = ("SELECT event_id, type, ts, session_id, task, app_version, model_version, platform, "
               "pans_masked, received_at, body FROM events"
               + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY ts, event_id")
        with self._transaction() as cur:
            cur.execute(self._sql(sql), params)
            rows = cur.fetchall()
        return [StoredEvent(*r[:10], json.loads(r[10])) for r in rows]

    def count_events(self) -> int:
        """How many events are stored."""
        with self._transaction() as cur:
            cur.execute("SELECT COUNT(*) FROM events")
            return int(cur.fetchone()[0])

    def image(self, event_id: str) -> tuple[str, bytes] | None:
        """(media type, file bytes) of the image stored with an event, or None."""
        with self._transaction() as cur:
            cur.execute(self._sql("SELECT media_type, data FROM images WHERE event_id = ?"), (event_id,))
            row = cur.fetchone()
        return None if row is None else (row[0], bytes(row[1]))

    def ping(self) -> None:
        """Raise StorageError unless the database answers."""
        with self._transaction() as cur:
            cur.execute("SELECT 1")
            cur.fetchone()

    # --- API keys ---------------------------------------------------------------------------------
    def create_key(self, name: str) -> str:
        """Create an API key called `name`; return the key. Only its SHA-256 is stored.

        Raises:
            StorageError: bad name, or a key of that name exists.
        """
        if not _KEY_NAME_RE.match(name):
            raise StorageError(f"bad key name {name!r}: use letters, digits, '.', '_' or '-' (at most 64)")
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        with self._transaction(write=True) as cur:
            cur.execute(self._sql("SELECT 1 FROM api_keys WHERE name = ?"), (name,))
            if cur.fetchone() is not None:
                raise StorageError(f"an API key named {name!r} exists; revoke it or pick another name")
            sql = "INSERT INTO api_keys (name, prefix, sha256, created_at) VALUES (?, ?, ?, ?)"
            cur.execute(self._sql(sql), (name, key[:len(KEY_PREFIX) + 4], _hash_key(key), utc_now()))
        return key

    def check_key(self, key: str) -> str | None:
        """The name of the live API key `key`, or None when it is unknown or revoked."""
        with self._transaction() as cur:
            cur.execute(self._sql("SELECT name FROM api_keys WHERE sha256 = ? AND revoked_at IS NULL"),
                        (_hash_key(key),))
            row = cur.fetchone()
        return None if row is None else str(row[0])

    def list_keys(self) -> list[ApiKey]:
        """Every API key, revoked ones included (names and prefixes, never the keys)."""
        with self._transaction() as cur:
            cur.execute("SELECT name, prefix, created_at, revoked_at FROM api_keys ORDER BY created_at")
            return [ApiKey(*r) for r in cur.fetchall()]

    def revoke_key(self, name: str) -> bool:
        """Revoke the key called `name`; False when there is no live key of that name."""
        with self._transaction(write=True) as cur:
            cur.execute(self._sql("UPDATE api_keys SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL"),
                        (utc_now(), name))
            return cur.rowcount == 1


class SQLiteStore(Store):
    """SQLite file in WAL mode, synchronous=FULL; one connection shared by threads under a lock."""

    def __init__(self, path: Path, create: bool = True) -> None:
        super().__init__()
        self.path = Path(path)
        self.url = f"sqlite:///{self.path}"
        if not create and not self.path.exists():
            raise StorageError(f"no database at {self.path}")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: no implicit transactions; _transaction issues BEGIN IMMEDIATE/COMMIT.
            self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._init_schema()
        except (sqlite3.Error, OSError) as exc:
            raise StorageError(f"cannot open SQLite database {self.path}: {exc}") from None

    def _connection(self) -> sqlite3.Connection:
        return self._conn

    @contextmanager
    def _transaction(self, write: bool = False) -> Iterator[sqlite3.Cursor]:
        with self._lock:
            cur = self._conn.cursor()
            try:
                # IMMEDIATE takes the write lock up front, so a writer never fails half-way on SQLITE_BUSY.
                cur.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                yield cur
                cur.execute("COMMIT")
            except BaseException as exc:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise StorageError(f"SQLite: {exc}") from None
                raise
            finally:
                cur.close()

    @contextmanager
    def _savepoint(self, cur: sqlite3.Cursor) -> Iterator[None]:
        cur.execute("SAVEPOINT batch")
        try:
            yield
        except sqlite3.Error:
            cur.execute("ROLLBACK TO SAVEPOINT batch")
            cur.execute("RELEASE SAVEPOINT batch")
            raise
        cur.execute("RELEASE SAVEPOINT batch")

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()


class PostgresStore(Store):
    """PostgreSQL through psycopg 3; one connection shared by threads under a lock, reopened if it drops."""

    _placeholder = "%s"
    _blob = "BYTEA"

    def __init__(self, url: str) -> None:
        super().__init__()
        try:
            import psycopg
        except ImportError:
            raise StorageError("PostgreSQL needs psycopg: pip install 'pocketocr[server]'") from None
        self._psycopg = psycopg
        self._row_errors = (psycopg.IntegrityError, psycopg.DataError)
        self.url = url
        self._conn: Any = None
        self._init_schema()

    def _connection(self) -> Any:
        if self._conn is None or self._conn.closed or self._conn.broken:
            try:
                self._conn = self._psycopg.connect(self.url, autocommit=True, connect_timeout=10)
            except self._psycopg.Error as exc:
                self._conn = None
                raise StorageError(f"cannot connect to {redact_url(self.url)}: {exc}") from None
        return self._conn

    @contextmanager
    def _transaction(self, write: bool = False) -> Iterator[Any]:
        with self._lock:
            conn = self._connection()
            try:
                with conn.transaction(), conn.cursor() as cur:
                    yield cur
            except self._psycopg.Error as exc:
                raise StorageError(f"PostgreSQL: {type(exc).__name__}: {exc}") from None

    @contextmanager
    def _savepoint(self, cur: Any) -> Iterator[None]:
        with self._conn.transaction():  # nested in the open transaction: a savepoint
            yield

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def open_store(url: str | os.PathLike[str] | None = None, create: bool = True) -> Store:
    """Open (and create, unless `create` is False) the event database named by `url`.

    Args:
        url: `postgresql://...`, `sqlite:///path`, a plain path, or None for `default_db_path()`.
        create: make a missing SQLite file; when False, a missing file is an error (for the reports).

    Returns:
        A `SQLiteStore` or a `PostgresStore`, its tables created.

    Raises:
        StorageError: bad URL, missing file, or the database cannot be reached.

    >>> store = open_store("sqlite:////tmp/pocketocr-doctest.sqlite3")  # doctest: +SKIP
    """
    if url is None:
        return SQLiteStore(default_db_path(), create=create)
    text = os.fspath(url)
    if text.startswith(("postgresql://", "postgres://")):
        return PostgresStore(text)
    if text.startswith("sqlite:"):
        rest = text[len("sqlite:"):]
        rest = rest.removeprefix("//")  # sqlite:///abs -> /abs; sqlite:////abs -> //abs -> /abs below
        if rest.startswith("//"):
            rest = "/" + rest.lstrip("/")
        if not rest:
            raise StorageError(f"no path in database URL {text!r}")
        return SQLiteStore(Path(rest), create=create)
    if re.match(r"^[a-z][a-z0-9+.\-]*://", text):
        raise StorageError(f"unsupported database URL {redact_url(text)!r} (use sqlite:///PATH or postgresql://...)")
    return SQLiteStore(Path(text), create=create)
