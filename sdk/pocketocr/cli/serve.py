"""`pocketocr serve`: run the online-evaluation event collector, and manage its API keys.

    pocketocr serve [--db URL] [--host 127.0.0.1] [--port 8000] [--cors-origin ORIGIN ...]
    pocketocr serve keys create NAME [--db URL]     # prints the new key alone on the last line
    pocketocr serve keys list [--db URL]
    pocketocr serve keys revoke NAME [--db URL]

URL: `sqlite:///path/events.sqlite3`, a plain path, or `postgresql://user:pass@host:port/db`; the default
is a SQLite file in the user data folder. Needs the [server] extra (FastAPI, uvicorn, psycopg).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

__all__ = ["add_parser", "run"]

_EXTRA_HINT = "pocketocr serve needs the [server] extra: pip install 'pocketocr[server]'"


def _add_db(p: argparse.ArgumentParser, nested: bool) -> None:
    # On nested parsers SUPPRESS keeps `serve --db X keys list` from being reset to None by the subparser.
    p.add_argument("--db", metavar="URL", default=argparse.SUPPRESS if nested else None,
                   help="database: sqlite:///PATH, PATH or postgresql://... (default: a SQLite file in the "
                        "user data folder)")


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register `serve` (and `serve keys ...`) on the top-level subparsers."""
    p = sub.add_parser("serve", help="run the online-evaluation event collector (needs the [server] extra)")
    _add_db(p, nested=False)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port to listen on (default: 8000)")
    p.add_argument("--cors-origin", action="append", default=[], metavar="ORIGIN",
                   help="a browser origin allowed to post events, e.g. the demo's http://localhost:5173 "
                        "(repeatable)")
    p.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    serve_sub = p.add_subparsers(dest="serve_command", metavar="{keys}")
    keys = serve_sub.add_parser("keys", help="create, list or revoke API keys")
    keys_sub = keys.add_subparsers(dest="keys_command", metavar="{create,list,revoke}", required=True)
    create = keys_sub.add_parser("create", help="create a key; prints it alone on the last line")
    create.add_argument("name", help="who the key is for, e.g. demo-android")
    _add_db(create, nested=True)
    lister = keys_sub.add_parser("list", help="list key names and prefixes (never the keys)")
    _add_db(lister, nested=True)
    revoke = keys_sub.add_parser("revoke", help="revoke a key by name")
    revoke.add_argument("name")
    _add_db(revoke, nested=True)
    return p


def _keys(args: argparse.Namespace) -> int:
    from pocketocr.online.storage import StorageError, open_store, redact_url

    try:
        store = open_store(args.db)
        try:
            if args.keys_command == "create":
                key = store.create_key(args.name)
                print(f"created API key {args.name!r} in {redact_url(store.url)}; it is shown only once:",
                      file=sys.stderr)
                print(key)
            elif args.keys_command == "list":
                for k in store.list_keys():
                    print(json.dumps({"name": k.name, "prefix": k.prefix, "created_at": k.created_at,
                                      "revoked_at": k.revoked_at}))
            elif not store.revoke_key(args.name):
                print(f"error: no live API key named {args.name!r}", file=sys.stderr)
                return 1
            else:
                print(f"revoked API key {args.name!r}", file=sys.stderr)
        finally:
            store.close()
    except StorageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def run(args: argparse.Namespace) -> int:
    """Run the collector until interrupted, or manage keys."""
    try:
        import fastapi  # noqa: F401
        import uvicorn
    except ImportError:
        print(f"error: {_EXTRA_HINT}", file=sys.stderr)
        return 1
    if getattr(args, "serve_command", None) == "keys":
        return _keys(args)

    from pocketocr.online.app import create_app
    from pocketocr.online.storage import StorageError, open_store, redact_url

    try:
        store = open_store(args.db)
        live = [k for k in store.list_keys() if k.revoked_at is None]
    except StorageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"pocketocr collector on http://{args.host}:{args.port} (POST /v1/events), "
          f"database {redact_url(store.url)}", file=sys.stderr)
    if not live:
        print("warning: no API keys yet, every request will get 401; create one with "
              "`pocketocr serve keys create NAME --db URL`", file=sys.stderr)
    # our one line per batch (counts only; bodies are never logged), beside uvicorn's own log
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s:     %(name)s: %(message)s")
    app = create_app(store, cors_origins=args.cors_origin)
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, server_header=False)
    finally:
        store.close()
    return 0
