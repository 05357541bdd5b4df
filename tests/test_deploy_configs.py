"""The deployment files under deploy/: every NATS config we ship is durable and valid.

DESIGN.md §1: every NATS server configuration Ticketstream ships sets JetStream's
``sync_interval: "always"``. This machine has no Docker engine, so the Dockerfile, compose
file and Kubernetes manifests cannot run here; what can be checked without one is checked:
the NATS configs (by the real ``nats-server -t``) and how the other files are wired.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
NATS_DIR = DEPLOY / "nats"
KUBERNETES_DIR = DEPLOY / "kubernetes"
NATS_SERVER = Path(sys.executable).parent / "nats-server"

SYNC_ALWAYS = re.compile(r'^\s*sync_interval\s*[:=]\s*"always"\s*$')
VARIABLE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


@dataclass(frozen=True)
class NatsConfig:
    """A NATS server config we ship: a file under deploy/nats or text embedded in a manifest."""

    name: str
    text: str
    path: Path | None = None


def _strip_comments(text: str) -> str:
    """``text`` without NATS comments (``#`` anywhere, ``//`` after blank), quotes respected."""
    lines = []
    for line in text.splitlines():
        quote: str | None = None
        cut = len(line)
        for i, char in enumerate(line):
            if quote:
                if char == quote:
                    quote = None
            elif char in "\"'":
                quote = char
            elif char == "#" or (line.startswith("//", i) and (i == 0 or line[i - 1].isspace())):
                cut = i
                break
        lines.append(line[:cut])
    return "\n".join(lines)


def _jetstream_blocks(text: str) -> list[str]:
    """The body of every top-level ``jetstream { ... }`` block, with nested blocks blanked."""
    code = _strip_comments(text)
    bodies = []
    for match in re.finditer(r"(?m)^jetstream\s*[:=]?\s*\{", code):
        depth, start, own = 1, match.end(), []
        for char in code[start:]:
            if char == "{":
                depth += 1
            elif char == "}":
                depth -= 1
                if depth == 0:
                    break
            # Keep only the block's own level, so a nested block cannot satisfy the check.
            own.append(char if depth == 1 or char == "\n" else " ")
        else:
            raise AssertionError("unterminated jetstream block")
        bodies.append("".join(own))
    return bodies


def _sync_always_problem(text: str) -> str | None:
    """Why ``text`` does not sync every JetStream write, or None when it does."""
    blocks = _jetstream_blocks(text)
    if len(blocks) != 1:
        return f"expected one top-level jetstream block, found {len(blocks)}"
    settings = [line for line in blocks[0].splitlines() if "sync_interval" in line]
    if len(settings) != 1 or not SYNC_ALWAYS.match(settings[0]):
        return 'the jetstream block must hold exactly one line sync_interval: "always"'
    if _strip_comments(text).count("sync_interval") != 1:
        return "sync_interval is set outside the jetstream block as well"
    return None


def _embedded_nats_configs() -> list[NatsConfig]:
    """NATS configs written inline in a Kubernetes manifest (a YAML block scalar)."""
    found = []
    for manifest in sorted(KUBERNETES_DIR.glob("*.yaml")):
        lines = manifest.read_text().splitlines()
        for number, line in enumerate(lines):
            header = re.match(r"^(\s*)[\w.-]+:\s*[|>][-+]?\s*$", line)
            if not header:
                continue
            indent = len(header.group(1))
            body = []
            for following in lines[number + 1 :]:
                if following.strip() and len(following) - len(following.lstrip()) <= indent:
                    break
                body.append(following)
            text = "\n".join(body)
            if re.search(r"(?m)^\s*jetstream\s*[:=]?\s*\{", text):
                dedented = "\n".join(row[indent + 2 :] for row in body)
                found.append(NatsConfig(f"{manifest.name}:{number + 1}", dedented))
    return found


def _statefulset_env(name: str) -> str:
    """A literal env value of the NATS StatefulSet, as the pods get it."""
    text = (KUBERNETES_DIR / "nats.yaml").read_text()
    match = re.search(rf'- name: {name}\n\s+value: "([^"]*)"', text)
    assert match, f"nats.yaml sets no literal {name}"
    return match.group(1)


def _variables() -> dict[str, str]:
    """Values for the ``$VARS`` of the configs: what the Kubernetes pods set."""
    return {"SERVER_NAME": "nats-0", "CLUSTER_ROUTES": _statefulset_env("CLUSTER_ROUTES")}


NATS_CONFIGS = [
    NatsConfig(str(path.relative_to(ROOT)), path.read_text(), path)
    for path in sorted(NATS_DIR.glob("*.conf"))
] + _embedded_nats_configs()


def test_configs_are_found() -> None:
    names = {config.name for config in NATS_CONFIGS}
    for expected in ("nats-dev.conf", "nats-compose.conf", "nats-cluster.conf"):
        assert f"deploy/nats/{expected}" in names


@pytest.mark.parametrize("config", NATS_CONFIGS, ids=lambda config: config.name)
def test_jetstream_syncs_every_write(config: NatsConfig) -> None:
    assert _sync_always_problem(config.text) is None, (
        f"{config.name}: {_sync_always_problem(config.text)}"
    )


@pytest.mark.parametrize("config", NATS_CONFIGS, ids=lambda config: config.name)
def test_nats_server_accepts_config(config: NatsConfig, tmp_path: Path) -> None:
    assert NATS_SERVER.is_file(), f"no nats-server next to {sys.executable}"
    path = config.path
    if path is None:
        path = tmp_path / "nats.conf"
        path.write_text(config.text)
    variables = _variables()
    unknown = set(VARIABLE.findall(_strip_comments(config.text))) - set(variables)
    assert not unknown, f"{config.name} reads variables this test does not set: {unknown}"
    result = subprocess.run(
        [str(NATS_SERVER), "-t", "-c", str(path)],
        env={**os.environ, **variables},
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    assert result.returncode == 0, f"{config.name}:\n{result.stdout}{result.stderr}"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('jetstream {\n  store_dir: "/data"\n}\n', "exactly one line"),
        ('sync_interval: "always"\njetstream {\n  store_dir: "/data"\n}\n', "exactly one"),
        ('jetstream {\n  # sync_interval: "always"\n}\n', "exactly one line"),
        ('jetstream {\n  sync_interval: "2m"\n}\n', "exactly one line"),
        ('jetstream {\n  x {\n    sync_interval: "always"\n  }\n}\n', "exactly one line"),
        ('jetstream {\n  sync_interval: "always"\n}\nsync_interval: "2m"\n', "outside"),
        ('store_dir: "/data"\n', "found 0"),
    ],
    ids=[
        "missing",
        "outside-jetstream",
        "commented-out",
        "lazy",
        "nested-block",
        "overridden-later",
        "no-jetstream",
    ],
)
def test_sync_check_rejects_lazy_configs(text: str, problem: str) -> None:
    found = _sync_always_problem(text)
    assert found is not None
    assert problem in found


def test_kubernetes_configmap_is_generated_from_the_cluster_config() -> None:
    generator = (NATS_DIR / "kustomization.yaml").read_text()
    assert re.search(r"- nats\.conf=nats-cluster\.conf\b", generator)
    assert re.search(r"(?m)^\s+- \.\./nats\b", (KUBERNETES_DIR / "kustomization.yaml").read_text())
    statefulset = (KUBERNETES_DIR / "nats.yaml").read_text()
    assert re.search(r"configMap:\n\s+name: nats-config\n", statefulset)
    assert re.search(r"(?m)^\s+replicas: 3$", statefulset)
    shared_env = _read("kubernetes/config.yaml")
    assert re.search(r'(?m)^\s+TICKETSTREAM_STREAM_REPLICAS: "3"$', shared_env)


def test_compose_runs_every_service() -> None:
    compose = _read("compose.yaml")
    services = set(re.findall(r"(?m)^  ([a-z][a-z0-9_-]*):\s*$", compose.split("\nvolumes:")[0]))
    assert {"nats", "postgres", "intake", "projections"} <= services
    for service in ("intake", "projections"):
        assert re.search(rf"(?m)^\s+SERVICE: {service}$", compose)
    version = re.search(r"image: nats:(\d+)\.(\d+)", compose)
    assert version
    assert (int(version.group(1)), int(version.group(2))) >= (2, 12)
    assert "./nats/nats-compose.conf:" in compose
    assert (NATS_DIR / "nats-compose.conf").is_file()


def test_dockerfile_installs_pinned_uv_from_pypi() -> None:
    dockerfile = _read("docker/Dockerfile")
    pinned = re.search(r"(?m)^RUN pip install .*\buv==(\d+\.\d+\.\d+)\s*$", dockerfile)
    assert pinned, "uv must come from PyPI at a pinned version"
    makefile = (ROOT / "Makefile").read_text()
    assert f"UV_VERSION := {pinned.group(1)}" in makefile
    assert "ghcr.io" not in dockerfile
    assert "astral.sh" not in dockerfile
    assert 'uv sync --frozen --no-dev --no-editable --package "ticketstream-${SERVICE}"' in (
        dockerfile
    )


def _read(relative: str) -> str:
    return (DEPLOY / relative).read_text()
