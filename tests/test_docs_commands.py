"""Every shell block of the README and of `docs/` runs as written, in order, in a fresh copy
of the project.

Each README block runs in one bash session; a page of `docs/` runs all its blocks, in order,
in one session after the README's "Running it for real" block, which each such page says to
run first. Each session runs inside a network namespace of its own
(`unshare --net`, loopback only): the README's ports 8080 and 8081 are always
free there, and nothing it starts can reach any other address. What differs
from a newcomer's terminal, and why:

- `pip install … &&` is left off: CI has just run exactly those installs, and
  the namespace has no network;
- the README's test command (`pytest`) is this run itself: not run again;
- a command that serves in the foreground (`gateway demo`, `gateway sandbox`)
  runs until its banner is printed, as a reader would wait for it; for the
  demo, the `curl` line it prints is then run, as its banner says to;
- when a block ends, what it started is stopped (the reader's Ctrl-C).

A command that fails fails the block, with its output in the assertion, and so does an
API error (`"error": {`) in what a block prints: a `curl` exits 0 on a 4xx.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.processes import ROOT

README = ROOT / "README.md"
PAGES = sorted((ROOT / "docs").glob("*.md"))
FOR_REAL = 'eval "$(gateway sandbox --print-env)"'  # the README's "Running it for real"
BANNERS = {"gateway demo": "Then list it:", "gateway sandbox": "for gateway.example.toml"}

pytestmark = pytest.mark.skipif(
    shutil.which("unshare") is None or os.geteuid() != 0,
    reason="needs root and unshare for a private network namespace",
)


def blocks(page: Path = README) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", page.read_text(), flags=re.S)


def for_real() -> str:
    (block,) = [b for b in blocks() if b.startswith(FOR_REAL)]
    return block


def pages_with_blocks() -> list[Path]:
    return [page for page in PAGES if blocks(page)]


def adapted(block: str) -> str:
    """The block as bash runs it here (the module docstring says what differs, and why)."""
    script = ["set -euo pipefail", "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT"]
    for line in block.replace("\\\n", " ").splitlines():
        command = re.sub(r"^pip install [^&]*&& ", "", line.strip())
        if not command or command == "pytest" or command.startswith("pip install"):
            continue
        program = re.sub(r"\s+#.*$", "", command)
        banner = next((b for p, b in BANNERS.items() if program == p), None)
        if banner is None:
            script.append(command)
            continue
        log = f'"$log{len(script)}"'
        script += [
            f"log{len(script)}=$(mktemp)",
            f"{program} > {log} 2>&1 &",
            f"for _ in $(seq 100); do grep -q {shlex.quote(banner)} {log} && break; sleep 0.1;"
            f" done; cat {log}",
            f"grep -q {shlex.quote(banner)} {log}",
        ]
        if program == "gateway demo":  # its banner: "Place a first order:" and a curl line
            script.append(f"eval \"$(grep -A1 'Place a first order:' {log} | tail -1)\"")
    return "\n".join(script) + "\n"


@pytest.fixture
def fresh_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's tracked files, as a fresh clone has them: one per session, as each
    reader starts from their own clone (the README's steps add a tenant, once)."""
    copy = tmp_path_factory.mktemp("clone")
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.split(b"\0")
    for name in filter(None, (t.decode() for t in tracked)):
        target = copy / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    return copy


def test_the_readme_has_the_blocks_a_newcomer_follows() -> None:
    found = blocks()
    assert len(found) == 5
    assert any("gateway demo" in b for b in found)
    assert any("gateway serve --config gateway.toml" in b for b in found)
    walked = {page.name for page in pages_with_blocks()}
    assert {"administration.md", "operations.md", "security.md"} <= walked


def run_script(script: str, fresh_copy: Path) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    environment.pop("GATEWAY_CONFIG", None)
    done = subprocess.run(
        ["unshare", "--net", "bash", "-c", "ip link set lo up && exec bash -s"],
        input=script,
        cwd=fresh_copy,
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
    )
    shown = (
        f"--- script\n{script}--- stdout\n{done.stdout[-3000:]}--- stderr\n{done.stderr[-3000:]}"
    )
    assert done.returncode == 0, shown
    assert '"error": {' not in done.stdout and '"error":{' not in done.stdout, shown
    return done


@pytest.mark.parametrize("number", range(len(blocks())))
def test_each_readme_block_runs_as_written(number: int, fresh_copy: Path) -> None:
    script = adapted(blocks()[number])
    done = run_script(script, fresh_copy)
    shown = f"--- script\n{script}--- stdout\n{done.stdout[-3000:]}"
    if "curl -s -X POST" in script or "gateway demo" in script:
        assert '"status": "pending"' in done.stdout or '"status":"pending"' in done.stdout, shown


@pytest.mark.parametrize("page", pages_with_blocks(), ids=lambda page: page.name)
def test_each_docs_page_runs_as_written_after_the_readme(page: Path, fresh_copy: Path) -> None:
    assert "Running it for real" in page.read_text()  # the page says what to run first
    script = adapted(for_real()) + "".join(adapted(block) for block in blocks(page))
    run_script(script, fresh_copy)
