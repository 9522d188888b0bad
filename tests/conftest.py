"""Shared test fixtures: the real dataset samples in ../shared/fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures"


@pytest.fixture(scope="session")
def fixtures() -> Path:
    """The root of ../shared/fixtures. Skips without it, except under CI (CI=true), where it fails."""
    if SHARED_FIXTURES.is_dir():
        return SHARED_FIXTURES
    message = f"the real dataset samples are not at {SHARED_FIXTURES} (a copy of shared/ beside the clone)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + "; CI must provide them")
    pytest.skip(message)
