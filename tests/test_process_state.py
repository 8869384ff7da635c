"""Importing or fitting physml leaves the user's process as it found it (torch's threads,
default dtype, grad mode and global random state, NumPy's random state, the environment).

glibc's malloc thresholds (``physml._threads.freed_memory_kept``) are raised inside a fit
only when ``PHYSML_MALLOC_TUNING=1`` asks for it: after it, a block above glibc's starting
threshold comes from ``mmap`` again."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

# torch imports torch._dynamo lazily at the first optimizer step, and it sets
# TORCHINDUCTOR_CACHE_DIR in os.environ then: torch's doing, not physml's
import torch._dynamo  # noqa: F401
from test_common import estimators


def _snapshot():
    return {
        "threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        "default_dtype": str(torch.get_default_dtype()),
        "grad_enabled": torch.is_grad_enabled(),
        "torch_rng": torch.get_rng_state().numpy().tobytes().hex()[:64],
        "numpy_rng": str(np.random.get_state()[1][:4]),
        "environ": dict(os.environ),
        "dynamo_cache_size_limit": torch._dynamo.config.cache_size_limit,
    }


def _data(estimator):
    rng = np.random.default_rng(0)
    name = type(estimator).__name__
    if name == "ODENetForecaster":
        t = np.linspace(0, 2, 30)
        return np.stack([np.cos(t), np.sin(t)], 1), None
    X = rng.normal(size=(24, 6))
    if name.endswith("Classifier"):
        return X, np.arange(24) % 2
    return X, X.sum(1)


@pytest.mark.parametrize("estimator", list(estimators()), ids=lambda e: type(e).__name__)
def test_fit_leaves_the_process_as_it_found_it(estimator):
    before_threads = torch.get_num_threads()
    torch.set_num_threads(2)  # not what a small fit runs with: the fit must put it back
    try:
        before = _snapshot()
        X, y = _data(estimator)
        estimator.set_params(**({"max_iter": 3} if "max_iter" in estimator.get_params()
                                else {"max_iter": 2}))
        estimator.fit(X, y)
        assert _snapshot() == before
    finally:
        torch.set_num_threads(before_threads)


_IMPORT_ALL = """
import json, os, pkgutil, importlib, torch
before = [torch.get_num_threads(), torch.get_num_interop_threads(), dict(os.environ)]
import physml
for module in pkgutil.walk_packages(physml.__path__, "physml."):
    importlib.import_module(module.name)
after = [torch.get_num_threads(), torch.get_num_interop_threads(), dict(os.environ)]
print(json.dumps(before == after))
"""


def test_import_leaves_the_process_as_it_found_it():
    run = subprocess.run([sys.executable, "-c", _IMPORT_ALL], capture_output=True,
                         text=True, check=True)
    assert json.loads(run.stdout.strip().splitlines()[-1]) is True


def _threads_inside_fit(estimator, monkeypatch, **params):
    """The torch thread count the fit's work ran with (seen where ``thread_budget``
    enters its inner block), and the count after the fit."""
    import contextlib

    import physml._threads

    seen = []

    @contextlib.contextmanager
    def spy():
        seen.append(torch.get_num_threads())
        yield

    monkeypatch.setattr(physml._threads, "freed_memory_kept", spy)
    X, y = _data(estimator)
    estimator.set_params(max_iter=2, **params).fit(X, y)
    return seen, torch.get_num_threads()


@pytest.mark.parametrize("estimator", list(estimators()), ids=lambda e: type(e).__name__)
def test_a_fit_runs_on_n_jobs_threads_one_by_default(estimator, monkeypatch):
    import joblib

    from physml._threads import torch_threads

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    with torch_threads(3):
        assert _threads_inside_fit(estimator, monkeypatch) == ([1], 3)
        assert _threads_inside_fit(estimator, monkeypatch, n_jobs=2) == ([2], 3)
        all_cores = joblib.cpu_count()
        assert _threads_inside_fit(estimator, monkeypatch, n_jobs=-1) == ([all_cores], 3)
        # a joblib or Dask worker's share (OMP_NUM_THREADS) caps what was asked for
        monkeypatch.setenv("OMP_NUM_THREADS", "1")
        assert _threads_inside_fit(estimator, monkeypatch, n_jobs=2) == ([1], 3)


def test_prediction_runs_on_n_jobs_threads_and_restores():
    from physml import PINNRegressor
    from physml._threads import torch_threads

    X = np.random.default_rng(0).normal(size=(32, 2))
    est = PINNRegressor(max_iter=2, random_state=0).fit(X, X.sum(1))
    seen = []
    real = torch.nn.Module.__call__

    def spy(module, *args, **kwargs):
        seen.append(torch.get_num_threads())
        return real(module, *args, **kwargs)

    with torch_threads(3), pytest.MonkeyPatch.context() as patch:
        patch.delenv("OMP_NUM_THREADS", raising=False)
        patch.setattr(torch.nn.Module, "__call__", spy)
        first = est.predict(X)
        np.testing.assert_array_equal(est.set_params(n_jobs=2).predict(X), first)
        assert torch.get_num_threads() == 3
    assert set(seen) == {1, 2}


def test_thread_budget_caps_at_omp_num_threads_and_restores(monkeypatch):
    from physml._threads import thread_budget, torch_threads

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    with torch_threads(2):
        with thread_budget(-1):
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
        with pytest.raises(RuntimeError), thread_budget(2):
            raise RuntimeError("a fit that fails")
        assert torch.get_num_threads() == 2


def _pinn_fit(**params):
    from physml import PINNRegressor
    from physml.pde import Convection

    pde = Convection(beta=5.0)
    X0, u0 = pde.initial_data(64)
    est = PINNRegressor(pde=pde, hidden_layer_sizes=(20, 20), random_state=0, **params)
    return est.fit(X0, u0), pde.grid(16, 8)


@pytest.mark.parametrize("params", [
    dict(n_collocation=200, max_iter=60),
    # more points than torch sums on one thread: the loss's mean is summed in rows
    dict(n_collocation=40000, max_iter=4),
    dict(n_collocation=200, max_iter=20, strategy="causal", constraints="exact"),
], ids=["lbfgs", "large", "causal"])
def test_a_default_fits_bits_do_not_depend_on_the_threads_the_load_gives_it(
        params, monkeypatch):
    """What lets ``n_jobs=None`` follow the machine's load: the same bits on one thread
    as on every core (MKL kept to one, physml's own sums in fixed rows)."""
    import physml._threads as base

    # (a test before may leave OMP_NUM_THREADS set: dask's workers' share)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    if base._mkl_local_threads() is None or base.n_threads(-1) < 2:
        pytest.skip("the load is followed with MKL's per-thread count, on 2+ cores")
    monkeypatch.setattr(base, "LOAD_CHECK_SECONDS", 0.0)
    fits, seen = [], []
    poll = base._LoadGovernor.poll

    def spy(governor):
        poll(governor)
        seen.append(torch.get_num_threads())

    monkeypatch.setattr(base._LoadGovernor, "poll", spy)
    for idle in (0.0, 64.0):  # a loaded machine, then an idle one
        monkeypatch.setattr(base.IdleCores, "__call__", lambda self, idle=idle: idle)
        fits.append(_pinn_fit(**params))
    assert set(seen) == {1, base.n_threads(-1)}
    (one, X), (every, _) = fits
    assert one.history_["loss"] == every.history_["loss"]
    np.testing.assert_array_equal(one.predict(X), every.predict(X))


@pytest.mark.parametrize("estimator", list(estimators()), ids=lambda e: type(e).__name__)
def test_only_the_fits_that_gain_from_threads_follow_the_load(estimator, monkeypatch):
    import physml._threads as base

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    if base._mkl_local_threads() is None or base.n_threads(-1) < 2:
        pytest.skip("the load is followed with MKL's per-thread count, on 2+ cores")
    made = []
    real = base._LoadGovernor.__init__

    def spy(governor, *args, **kwargs):
        made.append(base._adaptive_fits[0])
        real(governor, *args, **kwargs)

    monkeypatch.setattr(base._LoadGovernor, "__init__", spy)
    X, y = _data(estimator)
    estimator.set_params(max_iter=2).fit(X, y)
    follows = type(estimator).__name__ in ("PINNRegressor", "ODENetForecaster")
    assert len(made) == (1 if follows else 0)
    assert base._adaptive_fits[0] == 0


def test_products_take_mkls_threads_only_in_layouts_that_keep_one_threads_bits(monkeypatch):
    """Inside a load-following fit a product runs on MKL's threads where MKL rounds its
    layout as on one thread (tried once, on random numbers), on one thread elsewhere;
    small products and fits with a fixed count are left to torch."""
    import physml._threads as base

    mkl = [1]  # a stand-in for MKL's per-thread count

    def setter(n):
        mkl[0] = n

    monkeypatch.setattr(base, "_mkl_local_threads", lambda: setter)
    counts = []

    def faithful(A, B):
        counts.append(mkl[0])
        return torch.mm(A, B)

    def by_count(A, B):  # rounds by MKL's count, as some of MKL's layouts do
        counts.append(mkl[0])
        return torch.mm(A, B) * (1.0 + 1e-7 * (mkl[0] - 1))

    faithful_mm = base._threaded(faithful, lambda A, B: A.shape[0] * A.shape[1] * B.shape[1])
    by_count_mm = base._threaded(by_count, lambda A, B: A.shape[0] * A.shape[1] * B.shape[1])
    generator = torch.Generator().manual_seed(0)
    A = torch.randn(1000, 50, dtype=torch.float64, generator=generator)
    W = torch.randn(50, 50, dtype=torch.float64, generator=generator)
    rng = torch.get_rng_state()
    with base.torch_threads(1):
        governor = base._LoadGovernor(cap=2, measure=_Idle(2.0))
        monkeypatch.setattr(base._local, "governor", governor, raising=False)
        for product in (faithful_mm, by_count_mm):
            assert torch.equal(product(A, W), A @ W)  # on one thread: nothing to try
        assert counts == [1, 1]
        base._set_threads(2)
        for product in (faithful_mm, by_count_mm):
            counts.clear()
            for _ in range(2):
                assert torch.equal(product(A, W), A @ W)
            # tried once on one and on two threads, then run on two where it rounds alike
            assert counts == ([1, 2, 2, 2] if product is faithful_mm else [1, 2, 1, 1])
            assert mkl[0] == 1  # MKL back on one thread between products
        counts.clear()
        faithful_mm(A[:10], W)  # 25,000 multiply-adds: not worth trying
        assert counts == [1]
        monkeypatch.setattr(base._local, "governor", None)
        with base.torch_threads(2):  # a count asked for (n_jobs): torch's and MKL's own
            counts.clear()
            by_count_mm(A, W)
            assert counts == [1]  # the stand-in count, untouched
    assert torch.equal(torch.get_rng_state(), rng)  # the tries draw from their own generator


def test_total_sums_to_the_same_bits_on_any_thread_count():
    from physml._base import total
    from physml._threads import torch_threads

    x = torch.randn(100003, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    sums = []
    for n in (1, 2, 3):
        with torch_threads(n):
            sums.append(total(x))
    assert sums[0] == sums[1] == sums[2]
    assert float(sums[0]) == pytest.approx(float(x.sum()), rel=1e-12)


class _Idle:
    """A stand-in for ``IdleCores``: None at its first call, then the idle cores it is
    told (the last one from then on)."""

    def __init__(self, *values):
        self.values = [None, *values]

    def __call__(self):
        return self.values.pop(0) if len(self.values) > 1 else self.values[0]


def test_the_load_governor_takes_the_idle_cores_and_gives_them_back(monkeypatch):
    import physml._threads as base

    monkeypatch.setattr(base, "LOAD_CHECK_SECONDS", 0.0)
    with base.torch_threads(1):
        # the governor's first look (at the fit's start) has nothing to compare with
        governor = base._LoadGovernor(cap=4, measure=_Idle(3.9, 0.6, 2.2, 8.0))
        seen = []
        for _ in range(4):
            governor.poll()
            seen.append(torch.get_num_threads())
        # an idle machine; another process took most of it; two cores idle; more than
        # the cap
        assert seen == [4, 1, 2, 4]
        # two adaptive fits in this process share what is idle
        monkeypatch.setattr(base, "_adaptive_fits", [2])
        governor.measure = lambda: 3.9
        governor.poll()
        assert torch.get_num_threads() == 2
        # between two looks at the machine, nothing changes
        monkeypatch.setattr(base, "LOAD_CHECK_SECONDS", 60.0)
        governor.measure, governor.due = (lambda: 1.0), 0.0
        governor.poll()
        governor.measure = lambda: 4.0
        governor.poll()
        assert torch.get_num_threads() == 1


def _threads_at_each_poll(monkeypatch):
    """The torch thread count after each look of a load governor at the machine."""
    import physml._threads as base

    seen = []
    poll = base._LoadGovernor.poll

    def spy(governor):
        poll(governor)
        seen.append(torch.get_num_threads())

    monkeypatch.setattr(base._LoadGovernor, "poll", spy)
    return seen


@pytest.mark.parametrize("idle, expected", [(8.0, "all"), (0.7, 1)])
def test_a_default_fit_follows_the_load_and_restores_the_count(monkeypatch, idle, expected):
    import joblib

    import physml._threads as base

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(base, "LOAD_CHECK_SECONDS", 0.0)
    monkeypatch.setattr(base.IdleCores, "__call__", lambda self: idle)
    seen = _threads_at_each_poll(monkeypatch)
    with base.torch_threads(3):
        _pinn_fit(n_collocation=100, max_iter=5)
        assert torch.get_num_threads() == 3
        assert set(seen) == {joblib.cpu_count() if expected == "all" else 1}
        seen.clear()
        _pinn_fit(n_collocation=100, max_iter=5, n_jobs=1)  # a count asked for is kept
        assert seen == []
        # after a fit whose threads went back to where the caller had them, MKL's own
        # count is torch's again, not the one the fit kept it to
        if base._mkl_local_threads() is not None and expected == "all":
            with base.torch_threads(joblib.cpu_count()):
                _pinn_fit(n_collocation=100, max_iter=5)
                assert base._mkl_local_threads()(0) == joblib.cpu_count()
        # where torch's BLAS is not MKL, its threads could not be kept to one: one thread
        seen.clear()
        monkeypatch.setattr(base, "_mkl_local_threads", lambda: None)
        _pinn_fit(n_collocation=100, max_iter=5)
        assert seen == []


def test_without_proc_stat_a_default_fit_runs_on_a_fixed_count_and_restores(monkeypatch):
    """macOS and Windows have no /proc/stat: the load cannot be followed, and a default
    fit runs on the cores n_jobs=-1 gives, its bits still those of one thread."""
    import joblib

    import physml._threads as base

    if base._mkl_local_threads() is None:
        pytest.skip("without MKL a default fit stays on one thread (tested above)")
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(base, "LOAD_CHECK_SECONDS", 0.0)
    monkeypatch.setattr(base.IdleCores, "sample", lambda self: None)
    seen = _threads_at_each_poll(monkeypatch)
    with base.torch_threads(1):
        fixed, X = _pinn_fit(n_collocation=100, max_iter=5)
        assert torch.get_num_threads() == 1
    assert set(seen) == {joblib.cpu_count()}
    one, _ = _pinn_fit(n_collocation=100, max_iter=5, n_jobs=1)
    np.testing.assert_array_equal(fixed.predict(X), one.predict(X))


_MALLOC_UNTOUCHED = """
import sys
import numpy as np
import physml._threads as threads
from physml import PINNRegressor

if threads._mallopt() is not None:
    sys.exit("the environment asks for malloc tuning")
X = np.random.default_rng(0).normal(size=(32, 2))
PINNRegressor(max_iter=3, random_state=0).fit(X, X.sum(1))
with threads.freed_memory_kept() as on:
    print(on)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt only")
def test_malloc_is_left_alone_unless_asked():
    env = {k: v for k, v in os.environ.items() if k != "PHYSML_MALLOC_TUNING"}
    run = subprocess.run([sys.executable, "-c", _MALLOC_UNTOUCHED], capture_output=True,
                         text=True, env=env)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split()[-1] == "False"


@pytest.mark.skipif(not os.path.exists("/proc/stat"), reason="reads Linux's /proc/stat")
def test_idle_cores_sees_another_process_and_not_this_one():
    import time

    from physml._threads import IdleCores

    idle = IdleCores()
    assert idle() is None  # the first call has nothing to compare with
    end = time.monotonic() + 0.6
    while time.monotonic() < end:  # this process's own work is not the machine's load
        pass
    cores = len(os.sched_getaffinity(0))
    assert 0.0 <= idle() <= cores
    busy = subprocess.Popen([sys.executable, "-c",
                             "import time\nend = time.time() + 5\nwhile time.time() < end: pass"])
    try:
        time.sleep(1.0)
        idle()
        time.sleep(1.0)
        assert idle() <= cores - 0.5  # a busy process holds most of a core
    finally:
        busy.kill()
        busy.wait()


def test_reproduction_helpers_restore_the_thread_count():
    from physml._threads import torch_threads
    from physml.reproduce import _failure_mode_fit

    with torch_threads(2):
        run = _failure_mode_fit("convection", 1.0, "standard", 0, 0.002, 1, 0)
        assert torch.get_num_threads() == 2
    assert run["n_iter"] > 0


_MALLOC_AFTER_FIT = """
import ctypes
import numpy as np
from physml import PINNRegressor

libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]


class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
        "uordblks", "fordblks", "keepcost")]


libc.mallinfo2.restype = MallInfo2


def mmapped(size):
    before = libc.mallinfo2().hblks
    block = libc.malloc(size)
    during = libc.mallinfo2().hblks
    libc.free(block)
    return during > before


rng = np.random.default_rng(0)
X = rng.normal(size=(64, 3))
PINNRegressor(hidden_layer_sizes=(256, 256), max_iter=5, random_state=0).fit(X, X.sum(1))
print(mmapped(16 << 20))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt only")
def test_fit_leaves_glibc_malloc_thresholds_as_glibc_starts():
    # Inside a fit the mmap threshold is 32 MB and freed memory stays in the heap (a
    # 16 MB block would come from it); after the fit, glibc's 128 kB and the kept memory
    # handed back: a 16 MB block is mmapped, as in a process physml never ran in.
    run = subprocess.run([sys.executable, "-c", _MALLOC_AFTER_FIT], capture_output=True,
                         text=True, env={**os.environ, "PHYSML_MALLOC_TUNING": "1"})
    assert run.returncode == 0, run.stderr
    assert run.stdout.split()[-1] == "True"
