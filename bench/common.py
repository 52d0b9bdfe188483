"""What the benchmark scripts share: timing statistics and formats, the result row and
its markdown table, the measured commit, and running the backends with their temporary
files and PostgreSQL schemas cleaned up."""
from __future__ import annotations

import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG_URL = os.environ.get(
    "LOOM_BENCH_DATABASE_URL",
    os.environ.get("LOOM_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def median(values) -> float:
    return statistics.median(values)


def p95(values) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def fmt_s(seconds: float) -> str:
    if seconds >= 10:
        return f"{seconds:.1f} s"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    return f"{seconds * 1000:.0f} ms" if seconds >= 0.1 else f"{seconds * 1000:.1f} ms"


def fmt_ms(seconds: float) -> str:
    ms = seconds * 1000
    return f"{ms:.0f} ms" if ms >= 100 else f"{ms:.2f} ms" if ms < 1 else f"{ms:.1f} ms"


def fmt_n(n: int) -> str:
    return f"{n:,}"


@dataclass
class Row:
    backend: str
    name: str
    loom: str
    core: str
    ratio: float | None
    target: str
    met: bool | None          # None: informational, no target
    raw: dict = field(default_factory=dict)

    def verdict(self) -> str:
        return "—" if self.met is None else ("**met**" if self.met else "**missed**")


def drop_prefixed_schemas(url: str, prefix: str) -> list[str]:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            pattern = prefix.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%") + "%"
            names = conn.execute(text("select nspname from pg_namespace where nspname like :p"),
                                 {"p": pattern}).scalars().all()
            for name in names:
                conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        return names
    finally:
        engine.dispose()


CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def signed_in_client(app, tenant: str, email: str, password: str):
    """A Flask test client signed in to `tenant`'s screens through the sign-in form, as a
    browser does it (the form's CSRF token, then the session cookie), so a benchmark times
    screens exactly as a signed-in person gets them."""
    client = app.test_client()
    form = client.get(f"/t/{tenant}/login")
    token = CSRF_FIELD.search(form.get_data(as_text=True))
    if form.status_code != 200 or token is None:
        raise RuntimeError(f"no sign-in form at /t/{tenant}/login (HTTP {form.status_code})")
    signed = client.post(f"/t/{tenant}/login", data={"email": email, "password": password,
                                                     "csrf_token": token.group(1)})
    if signed.status_code != 302:
        raise RuntimeError(f"signing in as {email} failed (HTTP {signed.status_code})")
    return client


def source_revision() -> str:
    """The commit measured, without touching the git index (--no-optional-locks)."""
    def git(*argv):
        return subprocess.run(["git", "--no-optional-locks", "-C", str(ROOT), *argv], capture_output=True,
                              text=True, check=True, timeout=10).stdout.strip()
    try:
        commit = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return f"{ROOT} (not a git checkout)"
    return f"commit {commit}" + (" with uncommitted changes" if dirty else "")


def add_backend_options(parser, scale_help: str) -> None:
    """The options every benchmark script has: --backend, --scale, --database-url, --json."""
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--scale", type=float, default=1.0, help=scale_help)
    parser.add_argument("--database-url", default=DEFAULT_PG_URL,
                        help="PostgreSQL URL (default: $LOOM_BENCH_DATABASE_URL, $LOOM_TEST_DATABASE_URL "
                             "or the local test database)")
    parser.add_argument("--json", help="also write every raw figure to this file")


def environment_lines(args, backends) -> list[str]:
    """What a figure depends on besides the code: the commit, Python and the machine (and how
    busy it was), the database versions."""
    import sqlite3

    lines = [f"- Loom source: {source_revision()}",
             f"- Python {platform.python_version()}, SQLAlchemy {sqlalchemy.__version__}, "
             f"{os.cpu_count()} CPU cores ({platform.machine()}, {platform.system()}), load average "
             f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} at the start"]
    if "sqlite" in backends:
        lines.append(f"- SQLite {sqlite3.sqlite_version} (WAL, synchronous=NORMAL: Loom's defaults)")
    if "postgresql" in backends:
        engine = create_engine(args.database_url)
        try:
            with engine.connect() as conn:
                version = conn.execute(text("show server_version")).scalar_one()
                sync = conn.execute(text("show synchronous_commit")).scalar_one()
                buffers = conn.execute(text("show shared_buffers")).scalar_one()
            lines.append(f"- PostgreSQL {version} on the same machine (synchronous_commit={sync}, "
                         f"shared_buffers={buffers}), psycopg 3")
        finally:
            engine.dispose()
    return lines


def print_table(rows: list[Row], env_lines: list[str]) -> None:
    out = sys.stdout
    print("", file=out)
    for line in env_lines:
        print(line, file=out)
    print("", file=out)
    print("| Backend | Measurement | Loom | Core | Loom/Core | Target | Result |", file=out)
    print("|---|---|---|---|---|---|---|", file=out)
    for r in rows:
        ratio = "—" if r.ratio is None else f"{r.ratio:.2f}×"
        print(f"| {r.backend} | {r.name} | {r.loom} | {r.core} | {ratio} | {r.target} | {r.verdict()} |", file=out)
    out.flush()


def run_backends(args, bench_class, environment, tmp_prefix: str, schema_tag: str) -> int:
    """Run `bench_class(backend, args, tmp, prefix)` for each backend asked for, then print
    the table. A temporary directory and PostgreSQL schemas with a unique prefix are made
    for the run and removed at the end, also after an error, Ctrl-C or a plain `kill`."""
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    tmp = Path(tempfile.mkdtemp(prefix=tmp_prefix))
    prefix = f"{schema_tag}{uuid.uuid4().hex[:8]}_"
    rows: list = []
    env_lines: list[str] = []
    failed = False
    try:
        env_lines = environment(args, backends)
        for backend in backends:
            bench = bench_class(backend, args, tmp, prefix)
            try:
                bench.run()
            except BaseException:
                failed = True
                raise
            finally:
                bench.close()
                rows += bench.rows
    finally:
        # Clean up first: printing can fail too (a closed pipe), and must not leave schemas behind.
        if "postgresql" in backends:
            try:
                dropped = drop_prefixed_schemas(args.database_url, prefix)
                log(f"dropped PostgreSQL schemas: {', '.join(dropped) or 'none'}")
            except Exception as exc:  # never hide the real error behind a cleanup failure
                log(f"could not drop schemas {prefix}*: {exc}")
        shutil.rmtree(tmp, ignore_errors=True)
        log(f"removed {tmp}")
        if args.json and rows:
            with open(args.json, "w", encoding="utf-8") as fh:
                json.dump([r.__dict__ for r in rows], fh, indent=1, default=str)
        if rows:
            print_table(rows, env_lines)
            if failed:
                print("\n(incomplete: the run failed, see stderr)")
    return 0
