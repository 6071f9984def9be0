"""Online evaluation: the event schema v1, the collector service and the reports built on its database.

Modules, one job each:
- `pan`: find and mask full card numbers (Luhn) in any text, before anything is stored.
- `schema`: the pydantic models of event schema v1; `events.schema.json` is generated from them.
- `ingest`: request body bytes -> validated, scrubbed rows (or a 4xx answer), without any web framework.
- `storage`: SQLite (default) or PostgreSQL behind one small interface, chosen by URL.
- `app`: the FastAPI collector (`pocketocr serve`).
- `report`, `gap`, `feedback_export`: `pocketocr report online`, `pocketocr report gap` and
  `pocketocr export-feedback`.

Only `pan` and `storage` avoid third-party imports at module level (pydantic and FastAPI come with
the [server] extra); nothing here is imported by `import pocketocr`.
"""

from __future__ import annotations

__all__: list[str] = []
