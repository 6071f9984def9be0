"""Capacity planner arithmetic (pocketocr/plan.py) and its CLI."""

from __future__ import annotations

import json

import pytest
from pocketocr.plan import parse_size, plan

from tests.conftest import run_cli

GiB = 2**30


@pytest.mark.parametrize("text,expected", [
    ("10GiB", 10 * GiB), ("800MB", 800_000_000), ("1.5 GB", 1_500_000_000), ("512MiB", 512 * 2**20),
    ("6gib", 6 * GiB), ("2048", 2048), ("1TB", 10**12), ("64KiB", 65536),
])
def test_parse_size(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("bad", ["", "ten GB", "10 XB", "-1GB", "0", "GB"])
def test_parse_size_rejects(bad):
    with pytest.raises(ValueError):
        parse_size(bad)


def test_bar_example_6gib():
    p = plan(target_qps=100, device_memory=parse_size("10GiB"), instance_memory=parse_size("6GiB"), instance_qps=20)
    assert (p.instances_per_device, p.qps_per_device, p.devices_needed) == (1, 20, 5)


def test_bar_example_5gib():
    p = plan(target_qps=100, device_memory=parse_size("10GiB"), instance_memory=parse_size("5GiB"), instance_qps=20)
    assert (p.instances_per_device, p.qps_per_device, p.devices_needed) == (2, 40, 3)


def test_shrinking_helps_only_at_a_step():
    """10 GB device, 8 GB model: 7 or 6 GB change nothing; at 5 GB two fit."""
    def k(size_gb):
        return plan(target_qps=100, device_memory=10 * GiB, instance_memory=int(size_gb * GiB),
                    instance_qps=20).instances_per_device

    assert k(8) == k(7) == k(6) == 1
    assert k(5.01) == 1 and k(5) == 2
    p = plan(target_qps=100, device_memory=10 * GiB, instance_memory=8 * GiB, instance_qps=20)
    by_size = {w.instance_memory: w for w in p.what_if}
    assert by_size[8 * GiB].instances_per_device == 1 and not by_size[8 * GiB].changes
    assert by_size[6 * GiB].instances_per_device == 1 and not by_size[6 * GiB].changes  # 0.75 x 8 GB
    assert by_size[5 * GiB].instances_per_device == 2 and by_size[5 * GiB].changes       # the step to 2
    assert "memory" in p.bottleneck


def test_model_does_not_fit():
    p = plan(target_qps=10, device_memory=4 * GiB, instance_memory=6 * GiB, instance_qps=20)
    assert p.instances_per_device == 0 and p.devices_needed is None
    assert "does not fit" in p.bottleneck


def test_plan_rejects_nonsense():
    with pytest.raises(ValueError):
        plan(target_qps=0, device_memory=GiB, instance_memory=GiB, instance_qps=1)


def test_cli_json_bar_cases():
    r = run_cli("plan", "--target-qps", "100", "--device-memory", "10GiB", "--instance-memory", "6GiB",
                "--instance-qps", "20", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert (d["instances_per_device"], d["devices_needed"]) == (1, 5)
    assert d["qps_per_device"] == 20
    assert {"instance_memory", "instances_per_device", "qps_per_device"} <= set(d["what_if"][0])
    r = run_cli("plan", "--target-qps", "100", "--device-memory", "10GiB", "--instance-memory", "5GiB",
                "--instance-qps", "20", "--json")
    d = json.loads(r.stdout)
    assert (d["instances_per_device"], d["devices_needed"]) == (2, 3)


def test_cli_bad_size_is_one_line():
    r = run_cli("plan", "--target-qps", "100", "--device-memory", "ten", "--instance-memory", "5GiB",
                "--instance-qps", "20")
    assert r.returncode == 2 and "not a memory size" in r.stderr and "Traceback" not in r.stderr
