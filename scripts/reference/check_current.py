#!/usr/bin/env python3
"""Check that the checked-in reference expectations are current.

Re-runs the reference implementation (nova-hunting) over the conformance
corpora with `parse_expectations.py` and `scan_expectations.py`, which rewrite
`tests/data/parse/reference.json` and `tests/data/scan/expected/`, then fails
if git sees any change there: either the corpus changed without regenerating,
or the reference behaves differently from when the data was recorded.

Usage: <python of a venv with nova-hunting 0.3.1 and pyyaml> scripts/reference/check_current.py
"""

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def main():
    for script in ("parse_expectations.py", "scan_expectations.py"):
        print(f"running {script}", flush=True)
        subprocess.run([sys.executable, os.path.join(HERE, script)], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
    status = subprocess.run(["git", "status", "--porcelain", "--", "tests/data"], cwd=ROOT,
                            check=True, capture_output=True, text=True).stdout
    if status.strip():
        print("the reference expectations are stale or the reference changed:")
        print(status)
        subprocess.run(["git", "--no-pager", "diff", "--stat", "--", "tests/data"], cwd=ROOT)
        sys.exit(1)
    print("reference expectations are current")


if __name__ == "__main__":
    main()
