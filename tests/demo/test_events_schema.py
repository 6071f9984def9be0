"""The app's event builders (android_demo/src/events/events.ts) against the collector's own schema-v1 models."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from .conftest import APP, _needs_node


def test_app_events_validate_against_schema_v1(tmp_path):
    _needs_node()
    pytest.importorskip("pydantic")
    from pocketocr.online.schema import EVENT_ADAPTER

    out = tmp_path / "events.json"
    proc = subprocess.run(["npx", "vitest", "run", "test/events.test.ts"], cwd=APP, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "EVENTS_OUT": str(out), "GOLDEN_DIR": str(tmp_path)},
                          check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    events = json.loads(out.read_text())
    assert {e["type"] for e in events} == {"scan_result", "scan_submitted", "scan_abandoned", "feedback"}
    for e in events:
        EVENT_ADAPTER.validate_json(json.dumps(e))  # raises on any deviation (strict, closed)
