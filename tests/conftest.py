"""Shared fixtures: the shipped advisor (compiled once per session) and small helpers."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import Advisor

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def advisor() -> Advisor:
    return Advisor.load(ROOT / "rules", ROOT / "knowledge_base")
