"""`pocketocr demo`: registered in the one command list, stdlib-only at import, helpful errors."""

from __future__ import annotations

import subprocess
import sys

from pocketocr.cli.main import COMMANDS

from .conftest import ROOT, cli


def test_demo_is_in_the_command_list():
    assert ("demo", "demo", "the Android demo: replay a dataset through the web app") in COMMANDS


def test_demo_module_imports_only_the_standard_library_at_module_level():
    code = ("import sys; import pocketocr.cli.demo; "
            "bad = [m for m in ('numpy', 'PIL', 'onnxruntime', 'fastapi') if m in sys.modules]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         check=False)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_replay_help_and_missing_dataset(tmp_path):
    assert "--collector" in cli("demo", "replay", "--help").stdout
    proc = cli("demo", "replay", str(tmp_path), "--collector", "http://127.0.0.1:9", "--api-key", "x")
    assert proc.returncode == 1 and "labels.jsonl" in proc.stderr
