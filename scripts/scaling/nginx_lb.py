"""Debian's nginx as a local load balancer: ``deploy/nginx.conf`` rendered for loopback replicas, and run.

The compose file mounts ``deploy/nginx.conf`` as it is; the failover test (``tests/test_replicas.py``)
and the measurement script (``scripts/scaling/replicas.py``) run the same file with only what a local run
must change: the replica addresses, the listen address, and paths (pid, logs, temporary files) inside
a private directory. Every proxy, retry and timeout setting stays the shipped one.

Imported as ``scripts.scaling.nginx_lb`` (run from the repository root).
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

CONFIG = Path(__file__).resolve().parent.parent.parent / "deploy" / "nginx.conf"

_UPSTREAM = re.compile(r"(upstream ner \{\n)(.*?)(\n\s*\})", re.DOTALL)
_UPSTREAM_WITH_COMMENTS = re.compile(r"^(?:[ \t]*#.*\n)*[ \t]*upstream ner \{", re.MULTILINE)
_SERVER = re.compile(r"^(\s*)server (\S+)((?: [^;]*)?);$", re.MULTILINE)
_SERVER_LINE = re.compile(r"\n\s*server \S+(?: [^;]*)?;$", re.MULTILINE)
_LISTEN = re.compile(r"^(\s*)listen 8080;$", re.MULTILINE)
_HTTP = re.compile(r"^http \{$", re.MULTILINE)
_LOGS = re.compile(r"^\s*(access_log|error_log) /dev/std(out|err).*$\n", re.MULTILINE)
_WORKERS = re.compile(r"^worker_processes \S+;$", re.MULTILINE)


@dataclass(frozen=True)
class Balancer:
    url: str
    prefix: Path  # pid, logs and temporary files
    process: subprocess.Popen[bytes]

    @property
    def access_log(self) -> Path:
        return self.prefix / "access.log"


def upstream_servers(config: str) -> list[str]:
    """The ``host:port`` of every ``server`` line in the ``upstream ner`` block of ``config``."""
    block = _UPSTREAM.search(config)
    if block is None:
        raise ValueError("no `upstream ner { ... }` block in the nginx config")
    return [m.group(2) for m in _SERVER.finditer(block.group(2))]


def render(
    config: str,
    upstreams: Sequence[str],
    listen: str,
    prefix: Path,
    *,
    worker_processes: int = 1,
    show_upstream: bool = False,
) -> str:
    """``config`` with its replicas replaced by ``upstreams`` (each keeps the first server line's
    parameters), listening on ``listen`` (``127.0.0.1:PORT``), and pid, logs and temporary files under
    ``prefix``. ``show_upstream`` adds an ``X-Upstream: $upstream_addr`` response header (tests only:
    it names every replica a request tried, in order)."""
    block = _UPSTREAM.search(config)
    if block is None:
        raise ValueError("no `upstream ner { ... }` block in the nginx config")
    first = _SERVER.search(block.group(2))
    if first is None or not upstreams:
        raise ValueError("the upstream block has no server line, or no upstream was given")
    indent, params = first.group(1), first.group(3)
    servers = "\n".join(f"{indent}server {address}{params};" for address in upstreams)
    rest = _SERVER_LINE.sub("", block.group(2)[first.end() :])  # keepalive and the like stay
    config = config[: block.start(2)] + block.group(2)[: first.start()] + servers + rest + config[block.end(2) :]
    config, listens = _LISTEN.subn(rf"\g<1>listen {listen};", config)
    if listens != 1:
        raise ValueError(f"expected one `listen 8080;` in the nginx config, found {listens}")
    config = _WORKERS.sub(f"worker_processes {worker_processes};", config)
    config = _LOGS.sub("", config)
    local = "\n".join(
        [
            f"    access_log {prefix}/access.log ner;",
            f"    client_body_temp_path {prefix}/client_body;",
            f"    proxy_temp_path {prefix}/proxy;",
            f"    fastcgi_temp_path {prefix}/fastcgi;",
            f"    uwsgi_temp_path {prefix}/uwsgi;",
            f"    scgi_temp_path {prefix}/scgi;",
            *(["    add_header X-Upstream $upstream_addr always;"] if show_upstream else []),
        ]
    )
    # access_log must follow `log_format ner`: the lines go just before the upstream block and its comments.
    at = _UPSTREAM_WITH_COMMENTS.search(config)
    assert at is not None  # the upstream block was found above
    config = config[: at.start()] + local + "\n\n" + config[at.start() :]
    header = f"pid {prefix}/nginx.pid;\nerror_log {prefix}/error.log warn;\n"
    if not _HTTP.search(config):
        raise ValueError("no top-level `http {` block in the nginx config")
    return header + config


def nginx_binary() -> str | None:
    """Path of the ``nginx`` executable (Debian installs it in /usr/sbin, often not on a user's PATH)."""
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin:/usr/local/nginx/sbin")


def check(config_text: str, prefix: Path) -> subprocess.CompletedProcess[str]:
    """``nginx -t`` on ``config_text`` (written to ``prefix/nginx.conf``): syntax and every directive."""
    binary = nginx_binary()
    if binary is None:
        raise FileNotFoundError("nginx is not installed (Debian: apt-get install nginx)")
    conf = prefix / "nginx.conf"
    conf.write_text(config_text, encoding="utf-8")
    command = [binary, "-t", "-q", "-e", str(prefix / "error.log"), "-p", str(prefix), "-c", str(conf)]
    return subprocess.run(command, capture_output=True, text=True, timeout=30)


def private_prefix() -> Path:
    """A new directory for nginx's files. World-traversable: when nginx starts as root its workers run
    as an unprivileged user and must reach the temporary-file directories inside."""
    prefix = Path(tempfile.mkdtemp(prefix="ner-nginx-"))
    prefix.chmod(0o755)
    return prefix


@contextmanager
def balance(
    upstreams: Sequence[str],
    port: int,
    *,
    config: Path = CONFIG,
    show_upstream: bool = False,
    worker_processes: int = 1,
    timeout: float = 15.0,
) -> Iterator[Balancer]:
    """nginx (``daemon off``) balancing ``upstreams`` on ``127.0.0.1:port``, yielded once it answers;
    stopped with SIGQUIT (graceful), then killed, on exit. Its directory is removed unless it failed."""
    binary = nginx_binary()
    if binary is None:
        raise FileNotFoundError("nginx is not installed (Debian: apt-get install nginx)")
    prefix = private_prefix()
    text = render(
        config.read_text(encoding="utf-8"),
        upstreams,
        f"127.0.0.1:{port}",
        prefix,
        worker_processes=worker_processes,
        show_upstream=show_upstream,
    )
    checked = check(text, prefix)
    if checked.returncode != 0:
        raise RuntimeError(f"nginx -t refused the rendered config ({prefix}/nginx.conf):\n{checked.stderr}")
    conf = prefix / "nginx.conf"
    command = [binary, "-e", str(prefix / "error.log"), "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"]
    with open(prefix / "stderr.log", "wb") as err:
        process = subprocess.Popen(command, stdout=err, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    ok = False
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"nginx exited with {process.returncode}: {(prefix / 'error.log').read_text()}")
            try:
                if httpx.get(f"{url}/nginx-health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"nginx not answering after {timeout:.0f}s: {(prefix / 'error.log').read_text()}")
            time.sleep(0.05)
        yield Balancer(url, prefix, process)
        ok = True
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGQUIT)  # graceful: finish requests, then exit
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if ok:  # kept after a failure, for its logs
            shutil.rmtree(prefix, ignore_errors=True)
