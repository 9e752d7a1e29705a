"""bench/duplicates_bench.py (issue 20): plants copies in real digits and prints recall, false pairs and time against
the goal; run small here (the full run is 4,000 images and 100 copies)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench" / "duplicates_bench.py"


def test_bench_prints_recall_precision_and_time_against_the_goal(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(BENCH.parents[1])}
    out = subprocess.run([sys.executable, str(BENCH), "--n", "300", "--copies", "10"], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "set: mnist, 300 images + 10 planted copies" in text
    found = re.search(r"recall\s+(\d+)/10 = [\d.]+\s+\(goal >= 0\.99\)\s+(met|NOT met)", text)
    false = re.search(r"false\s+(\d+) of (\d+) near pairs = [\d.]+%\s+\(goal <= 1%\)\s+(met|NOT met)", text)
    timed = re.search(r"time warm [\d.]+ s\s+\(goal < 10 s\)\s+(met|NOT met);\s+cold [\d.]+ s\s+\(goal < 60 s\)", text)
    assert found and false and timed, text
    # every planted copy is found on digits, and nothing else is reported
    assert int(found.group(1)) == 10 and found.group(2) == "met"
    assert int(false.group(1)) == 0 and int(false.group(2)) == 10
    assert re.search(r"cpu\s+warm [\d.]+ s, cold [\d.]+ s", text) and "baseline  decoding every file once" in text
