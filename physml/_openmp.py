"""How torch's OpenMP threads wait for work: chosen once, as physml imports torch.

torch's CPU kernels split each operation over an OpenMP team. Between operations a
thread of the team busy-waits (spins) for the next one, 300,000 rounds by default in GNU
OpenMP (``libgomp``, which torch's Linux wheels ship), before it sleeps. On an idle machine
the spin saves a wake-up per operation. On a loaded one it is the collapse measured by
``benchmarks/bench_under_load.py``: a thread that spins on a core another process needs
holds up its own team's thread waiting there for a time slice, after every operation
(two equal fits at once: 3.3x their idle time each instead of 2x; a fit at ``nice -n
10`` beside a busy process: 42x). With physml's spin: 1.76x and 1.70x, and the idle fit
as fast as with libgomp's spin (0.99x; the benchmark's docstring has the table and the
counts tried).

``libgomp`` reads its waiting policy from the environment once, when it loads, which is
when torch is imported; nothing changes it later. So physml imports torch itself with a
short spin (``GOMP_SPINCOUNT``, :data:`SPIN_COUNT` rounds) and puts the environment back
as it was right after: child processes and the user's ``os.environ`` see no change.
Nothing is set

* when torch was imported before physml (its ``libgomp`` has already read the
  environment: export ``GOMP_SPINCOUNT`` yourself, or import physml first), or
* when the user chose a policy: ``OMP_WAIT_POLICY`` or ``GOMP_SPINCOUNT`` in the
  environment wins (``GOMP_SPINCOUNT=300000`` is libgomp's own default).

The waiting policy changes no result, only when a waiting thread gives its core up.
"""

import os
import sys

__all__ = ["APPLIED", "SPIN_COUNT", "import_torch"]

#: Rounds a waiting OpenMP thread spins before it sleeps: libgomp's own count for an
#: active team with more threads than cores (its default otherwise: 300,000).
SPIN_COUNT = 1000

_USER_POLICY = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")


def import_torch():
    """Import torch with physml's OpenMP waiting policy where it can still be chosen;
    return ``True`` when the policy was applied."""
    if "torch" in sys.modules or any(name in os.environ for name in _USER_POLICY):
        import torch  # noqa: F401
        return False
    os.environ["GOMP_SPINCOUNT"] = str(SPIN_COUNT)
    try:
        import torch  # noqa: F401
    finally:
        del os.environ["GOMP_SPINCOUNT"]
    return True


#: Whether importing physml chose torch's waiting policy (False: torch came first, or
#: the environment chose it).
APPLIED = import_torch()
