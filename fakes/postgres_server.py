"""A real, throw-away PostgreSQL server on loopback for the tests and benchmarks.

Not a fake: the PostgreSQL binaries installed on the machine (`initdb`, `pg_ctl`) run a
cluster in a temporary directory on a free 127.0.0.1 port. PostgreSQL refuses to run as
root, so when we are root the cluster belongs to an unprivileged user (`nobody` by
default) and the commands run as that user through `runuser`.
"""

from __future__ import annotations

import logging
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType

__all__ = ["PostgresServer", "find_postgres_bin"]

logger = logging.getLogger(__name__)

_SEARCH = ("/usr/lib/postgresql",)


def find_postgres_bin() -> Path | None:
    """The directory holding `initdb` and `pg_ctl` (newest installed version), or None."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).resolve().parent
    for root in _SEARCH:
        base = Path(root)
        if not base.is_dir():
            continue
        versions = sorted((p for p in base.iterdir() if (p / "bin" / "initdb").exists()),
                          key=lambda p: int(p.name) if p.name.isdigit() else 0)
        if versions:
            return versions[-1] / "bin"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    """initdb + pg_ctl start on enter, pg_ctl stop and the directory removed on exit."""

    def __init__(self, bin_dir: Path, *, user: str = "nobody", database: str = "citewise") -> None:
        self._bin = bin_dir
        self._os_user = user if os.geteuid() == 0 else None
        self.database = database
        self.port = _free_port()
        self._dir = Path(tempfile.mkdtemp(prefix="citewise-pg-"))
        self._data = self._dir / "data"

    @property
    def url(self) -> str:
        return f"postgresql://citewise@127.0.0.1:{self.port}/{self.database}"

    def _run(self, *args: str) -> None:
        command = [str(self._bin / args[0]), *args[1:]]
        if self._os_user is not None:
            command = ["runuser", "-u", self._os_user, "--", *command]
        subprocess.run(command, check=True, capture_output=True, cwd=self._dir)

    def start(self) -> PostgresServer:
        if self._os_user is not None:
            entry = pwd.getpwnam(self._os_user)
            os.chown(self._dir, entry.pw_uid, entry.pw_gid)
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        logger.info("PostgreSQL started on 127.0.0.1:%d in %s", self.port, self._dir)
        return self

    def _start(self) -> None:
        self._run("initdb", "-D", str(self._data), "-U", "citewise", "-A", "trust", "-E", "UTF8", "--no-sync")
        options = (f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self._dir}"
                   " -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        self._run("pg_ctl", "-D", str(self._data), "-l", str(self._dir / "log"), "-o", options, "-w", "start")
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "citewise", self.database)

    def create_database(self, name: str) -> str:
        """A fresh, empty database on this server; its URL."""
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "citewise", name)
        return f"postgresql://citewise@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self._data), "-m", "immediate", "-w", "stop")
        except subprocess.CalledProcessError as exc:
            logger.warning("pg_ctl stop failed: %s", exc.stderr.decode(errors="replace")[-200:])
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()
