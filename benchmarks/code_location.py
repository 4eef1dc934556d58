"""Code-location load: ``import customer360.definitions`` in fresh interpreters, and the slowest imports.

Shared by ``bench_pipeline.py`` (phase ``import``) and ``bench_ingestion.py``.
"""

import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
IMPORT = [sys.executable, "-c", "import customer360.definitions"]


def measure_definitions_import(runs: int = 3) -> dict:
    """Wall and CPU (user + system of the child) of ``runs`` fresh imports, their medians, and the
    ``-X importtime`` cumulative times as ``(seconds, module, depth)``, slowest first."""
    samples = []
    for _ in range(runs):
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run(IMPORT, check=True, cwd=REPO, stderr=subprocess.DEVNULL)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        samples.append((time.perf_counter() - t0, r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime))
    err = subprocess.run(
        [sys.executable, "-X", "importtime", *IMPORT[1:]], cwd=REPO, capture_output=True, text=True
    ).stderr.splitlines()
    imports = []
    for line in err:
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            name = parts[2].rstrip()
            imports.append((int(parts[1]) / 1e6, name.strip(), (len(name) - len(name.lstrip())) // 2))
    return {
        "wall_s_runs": [round(w, 2) for w, _ in samples],
        "cpu_s_runs": [round(c, 2) for _, c in samples],
        "median_wall_s": round(statistics.median(w for w, _ in samples), 2),
        "median_cpu_s": round(statistics.median(c for _, c in samples), 2),
        "imports": sorted(imports, reverse=True),
    }
