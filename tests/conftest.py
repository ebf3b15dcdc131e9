"""Every test's verdict cache is a folder of its own (``tbcheck.cache``): the suite never writes
to the user's cache folder, and no test is answered by another's verdicts."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _own_verdict_cache(tmp_path_factory: pytest.TempPathFactory,
                       monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path_factory.mktemp("verdict-cache")
    monkeypatch.setenv("TBCHECK_CACHE_DIR", str(folder))
    return folder
