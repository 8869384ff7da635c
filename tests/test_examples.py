"""Every example runs as a script, as a user would run it (slow: minutes each; the
gallery build runs the plot_ ones too)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.py"))


@pytest.mark.slow
@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs_as_a_script(script, tmp_path):
    env = {**os.environ, "MPLBACKEND": "Agg"}
    env.pop("PHYSML_SCHEDULER", None)  # the Dask example starts its own local cluster
    run = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=1800)
    assert run.returncode == 0, run.stderr[-3000:]
