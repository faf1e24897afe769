"""`kcrash diagnose --from` on texts written to files, as the tests of paste reading run it."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from kcrash.diagnose_cmd import main


def diagnose_pastes(directory: Path, *texts: str) -> list[dict[str, Any]]:
    """The JSON rows for the texts, one `--from` file each; fails, with stderr, when none came."""
    argv: list[str] = []
    for number, text in enumerate(texts):
        path = directory / f"paste-{number}.txt"
        path.write_text(text)
        argv += ["--from", str(path)]
    out, err = io.StringIO(), io.StringIO()
    main([*argv, "-o", "json"], stdout=out, stderr=err, stdin=io.StringIO(""))
    assert out.getvalue().strip(), err.getvalue()
    rows: list[dict[str, Any]] = json.loads(out.getvalue())
    return rows
