"""The README's query walkthrough, run as written: from a fresh demo server to real rows.

The section "Queries: real rows from the demo in five minutes" is read from README.md and its
blocks are run with bash, in order, against a real `lightkeeper serve` started with the
variables of the README's `make serve` line (`make serve` itself would listen on port 8080 and
use the repository's own data directory, so the test starts the same server on a free port and
rewrites `localhost:8080` to it; nothing else of the text is changed). The Python block is
saved as `demo.py` and run with `.venv/bin/python demo.py`, as the README says. The rows must
be the demo data's (O4 of the warehouse fixture's README: completed orders total 1103.00).

Runs once, on SQLite (a subprocess server: the dual-database fixtures do not apply).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import running_server, server_env

ROOT = Path(__file__).resolve().parents[2]
SECTION = "## Queries: real rows from the demo in five minutes"


def walkthrough() -> tuple[dict[str, str], list[tuple[str, str]]]:
    """The variables of the `make serve` line, and the other blocks (language, text) in order."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert SECTION in text, "the README lost its query walkthrough"
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```(sh|python)\n(.*?)```", section, re.S)
    serve_language, serve = blocks[0]
    assert serve_language == "sh" and serve.strip().endswith("make serve"), serve
    variables = dict(word.split("=", 1) for word in shlex.split(serve)[:-2])
    return variables, blocks[1:]


def script(blocks: list[tuple[str, str]], address: str) -> str:
    lines = ["set -euo pipefail"]
    for language, body in blocks:
        body = body.replace("localhost:8080", address)
        if language == "python":
            lines += [
                "cat > demo.py <<'PYTHON'",
                body.rstrip("\n"),
                "PYTHON",
                ".venv/bin/python demo.py",
            ]
        else:
            lines.append(body)
    return "\n".join(lines) + "\n"


def test_the_readme_walkthrough_returns_real_rows(tmp_path: Path) -> None:
    variables, blocks = walkthrough()
    assert variables["LIGHTKEEPER_DEMO"] == "true"
    assert [language for language, _ in blocks] == ["sh", "python", "sh"]
    python_lines = [line for line in blocks[1][1].splitlines() if line.strip()]
    assert len(python_lines) == 5, "the README promises a five-line SDK script"

    data = tmp_path / "server"
    with running_server(server_env(data, **variables)) as server:
        work = tmp_path / "work"
        work.mkdir()
        (work / ".venv").symlink_to(Path(sys.executable).parent.parent)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LIGHTDASH_", "LD_SETUP_"))}
        env.pop("CI", None)
        done = subprocess.run(
            ["bash", "-c", script(blocks, server.url.removeprefix("http://"))],
            cwd=work,
            env=env
            | {
                "HOME": str(tmp_path),
                "XDG_CONFIG_HOME": str(tmp_path / ".config"),
                "COLUMNS": "200",
            },
            capture_output=True,
            text=True,
            timeout=180,
        )
    output = done.stdout
    assert done.returncode == 0, f"exit {done.returncode}\n{output}\n{done.stderr}"
    # The SDK, keyed by label, with raw values.
    assert re.search(r"\{'Status': 'completed', 'Total order amount': 1103(\.0+)?\}", output), (
        output
    )
    # curl: Lightdash's row shape.
    assert '"orders_status":{"value":{"raw":"completed","formatted":"completed"}}' in output
    # The CLI's table, largest first, and the SQL runner's CSV.
    table = output[output.index("Status") :]
    assert re.search(r"completed\s+\S*1,?103", table), table
    assert "status,orders" in output and "completed,67" in output
    assert "ldsvc_" not in output  # the token went into a variable, never to the screen


@pytest.fixture(autouse=True)
def _needs_jq() -> None:
    if not any((Path(p) / "jq").exists() for p in os.environ.get("PATH", "").split(os.pathsep)):
        pytest.fail("jq is needed by the README's walkthrough: apt-get install jq", pytrace=False)
