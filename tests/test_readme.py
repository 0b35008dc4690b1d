"""Every shell block of the README runs as written, in order, in a fresh copy of the project.

Each block runs in one bash session, inside a network namespace of its own
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

A command that fails fails the block, with its output in the assertion.
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
BANNERS = {"gateway demo": "Then list it:", "gateway sandbox": "for gateway.example.toml"}

pytestmark = pytest.mark.skipif(
    shutil.which("unshare") is None or os.geteuid() != 0,
    reason="needs root and unshare for a private network namespace",
)


def blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)```", README.read_text(), flags=re.S)


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


@pytest.fixture(scope="module")
def fresh_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's tracked files, as a fresh clone has them."""
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


@pytest.mark.parametrize("number", range(len(blocks())))
def test_each_readme_block_runs_as_written(number: int, fresh_copy: Path) -> None:
    script = adapted(blocks()[number])
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
    if "curl -s -X POST" in script or "gateway demo" in script:
        assert '"status": "pending"' in done.stdout or '"status":"pending"' in done.stdout, shown
