"""A push in its own process (killed with SIGKILL or run twice at once by the tests).

Usage: python -m sync_platform_tests.engines.push.push_worker N PREFIX
Environment: SYNC_DATA_DIR, SYNC_MAPPINGS_DIR and the sandbox's URLs and tokens.
"""

from __future__ import annotations

import sys

from sync_platform.engines.catalog import load_catalog
from sync_platform.engines.push import push
from sync_platform_tests.engines.push.helpers import crm_contacts


def main() -> None:
    n, prefix = int(sys.argv[1]), sys.argv[2]
    catalog = load_catalog()
    changes = crm_contacts(n, prefix=prefix)
    print("ready", flush=True)
    report = push(catalog, changes)
    print(f"done {report.states}", flush=True)


if __name__ == "__main__":
    main()
