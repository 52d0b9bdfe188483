"""One designer page's first request after a server start, in a process of its own (run by
bench/designer.py, once per page): the install opened on the benchmark's data, the app
made and warmed as `loom serve` and the WSGI entry point do (`engine.warm`), the admin
signed in through the sign-in form, then the page asked once. Prints its wall and CPU
milliseconds and the HTTP status as JSON on stdout.

    python bench/designer_first.py SETTINGS_JSON PATH [--no-warm]
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import signed_in_client  # noqa: E402
from engine.app import create_app  # noqa: E402
from engine.install import Install  # noqa: E402
from engine.plugins import Plugins  # noqa: E402
from engine.warm import warm  # noqa: E402
from tenants import Settings  # noqa: E402


def main(argv) -> int:
    given = json.loads(argv[0])
    path, warmed = argv[1], "--no-warm" not in argv
    settings = Settings(data_dir=Path(given["data_dir"]), database_url=given["database_url"],
                        schema_prefix=given["schema_prefix"])
    install = Install(settings, Plugins())
    try:
        app = create_app(install, {"TESTING": False})
        if warmed:
            warm(app)
        client = signed_in_client(app, given["tenant"], given["email"], given["password"])
        started, cpu = time.perf_counter(), time.process_time()
        answer = client.get(path)
        out = {"ms": (time.perf_counter() - started) * 1000, "cpu_ms": (time.process_time() - cpu) * 1000,
               "status": answer.status_code}
    finally:
        install.dispose()
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
