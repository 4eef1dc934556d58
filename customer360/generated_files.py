"""The command line of the files rendered from Python (``--write`` regenerates them, ``--check`` exits 1 on drift).

Used by ``customer360.transform.sources_yml`` (raw sources yml) and ``customer360.ml.outputs_yml`` (ML sources yml
and macro): the committed file is the rendered output, and a test runs the same drift check.
"""

import argparse
import sys
from collections.abc import Callable, Mapping
from pathlib import Path


def main(
    argv: list[str] | None,
    description: str,
    renderers: Mapping[Path, Callable[[], str]],
    drift: Callable[[], list[str]],
) -> int:
    parser = argparse.ArgumentParser(description=description)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", action="store_true", help="regenerate the file(s)")
    group.add_argument("--check", action="store_true", help="exit 1 if a file drifted from its source of truth")
    args = parser.parse_args(argv)
    if args.write:
        for path, render in renderers.items():
            path.write_text(render())
            print(f"wrote {path}")
        return 0
    problems = drift()
    for p in problems:
        print(p, file=sys.stderr)
    return 1 if problems else 0
