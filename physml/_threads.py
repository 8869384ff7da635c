"""How many threads a fit runs on, and what it leaves of the process.

Under ``n_jobs=None`` a fit starts on one thread and takes the cores the rest of the
machine leaves idle, looking again every quarter second (:class:`_LoadGovernor`, fed by
:class:`IdleCores` from ``/proc/stat``); MKL runs a product on those threads only where
it rounds that product's layout as on one thread (:func:`_threaded`), so the thread count
changes no result. Where the load cannot be measured (no ``/proc/stat``: macOS, Windows)
the count is fixed at the cores ``n_jobs=-1`` gives; where torch's BLAS is not MKL (no
per-thread count to keep products on one thread: OpenBLAS builds) it is fixed at one.
Every count is restored on leaving a fit; glibc's allocator is tuned only on request
(:func:`freed_memory_kept`).
"""

import collections
import contextlib
import ctypes
import functools
import numbers
import os
import sys
import threading
import time

import joblib
import torch
from sklearn.utils._param_validation import Interval

from ._base import integers

#: glibc's trim and mmap thresholds as a process starts (128 kB each).
_GLIBC_THRESHOLD = 128 << 10
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_malloc_lock = threading.Lock()
_malloc_depth = 0


@functools.cache
def _mallopt():
    """glibc's ``mallopt`` where ``PHYSML_MALLOC_TUNING=1`` asks for it on Linux with glibc,
    else None."""
    if os.environ.get("PHYSML_MALLOC_TUNING", "0") != "1" or not sys.platform.startswith(
            "linux"):
        return None
    import ctypes

    try:
        return ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # not glibc (e.g. musl)
        return None


@functools.cache
def _malloc_trim():
    import ctypes

    return ctypes.CDLL("libc.so.6").malloc_trim


@contextlib.contextmanager
def freed_memory_kept():
    """With ``PHYSML_MALLOC_TUNING=1`` in the environment (Linux with glibc), glibc keeps
    freed memory for reuse inside the block instead of handing it back.

    A training step allocates and frees the same few-hundred-kB buffers every time;
    glibc may serve them with fresh ``mmap`` pages or trim the heap when they are freed,
    so a step can pay a page fault per 4 kB it touches. Inside the block the mmap
    threshold is 32 MB and the trim threshold 256 MB; on leaving the outermost block both
    go back to glibc's starting 128 kB. glibc has no call that reads them, and none that
    gives its adaptive mmap threshold back once it is set, so a process that asks for
    this keeps a fixed threshold afterwards: that is why it is opt-in
    (``benchmarks/bench_lbfgs.py`` times a fit both ways). It changes where memory comes
    from, not any arithmetic. Yields whether the setting is in force. Every estimator's
    ``fit`` runs inside it.
    """
    global _malloc_depth
    mallopt = _mallopt()
    if mallopt is None:
        yield False
        return
    with _malloc_lock:
        if _malloc_depth == 0:
            accepted = (mallopt(_M_TRIM_THRESHOLD, 256 << 20) == 1
                        and mallopt(_M_MMAP_THRESHOLD, 32 << 20) == 1)
        else:
            accepted = True
        _malloc_depth += 1
    try:
        yield accepted
    finally:
        with _malloc_lock:
            _malloc_depth -= 1
            if _malloc_depth == 0:
                mallopt(_M_TRIM_THRESHOLD, _GLIBC_THRESHOLD)
                mallopt(_M_MMAP_THRESHOLD, _GLIBC_THRESHOLD)
                _malloc_trim()(0)  # hand back what the fit kept, as glibc would have


@functools.lru_cache(maxsize=1)
def _mkl_local_threads():
    """MKL's setter of the calling thread's own thread count (``mkl_set_num_threads_local``)
    in torch's CPU library, or None where torch's BLAS is not MKL."""
    if not torch.backends.mkl.is_available():
        return None
    for library in (None, os.path.join(os.path.dirname(torch.__file__), "lib",
                                       "libtorch_cpu.so")):
        try:
            setter = ctypes.CDLL(library).MKL_Set_Num_Threads_Local
        except (OSError, AttributeError):
            continue
        setter.argtypes, setter.restype = [ctypes.c_int], ctypes.c_int
        return setter
    return None


def _set_threads(n):
    """``torch.set_num_threads(n)``; inside a fit that follows the load, MKL's own count for
    this thread stays one (torch's call sets it to ``n``): a BLAS product split across
    threads (a dot product, some matrix shapes) rounds differently on each count, and
    torch's own kernels (elementwise, sums along a dimension) do not. Which shapes is
    MKL's choice: of 4,352 random products (up to 300 x 300 outputs, inner sizes up to
    50,000), 218 differed between one and two threads, in float32 (9 x 60 times 60 x
    139) as in float64, so keeping only dot products serial does not keep the bits
    (development checks, MKL 2024.2; MKL's strict reproducibility mode,
    ``MKL_CBWR=AVX2,STRICT``, made more shapes differ, not fewer). The products that
    carry a fit's work (:data:`mm`, :data:`addmm`, :data:`mv`) take the fit's threads
    where MKL rounds their layout as on one thread (:func:`_threaded`)."""
    torch.set_num_threads(n)
    if getattr(_local, "governor", None) is not None:
        _mkl_local_threads()(1)


#: A product with fewer multiply-adds stays on one MKL thread in a load-following fit
#: (MKL gains little there, and trying the layout once would cost more than it saves).
_THREADED_WORK = 1 << 17
#: Product layouts tried in this process: whether MKL on that many threads rounds them as
#: on one (bounded: the oldest go first).
_SAME_BITS = collections.OrderedDict()
_SAME_BITS_SIZE = 4096


def _layout(tensor):
    return tensor.shape, tensor.stride(), tensor.dtype, tensor.data_ptr() % 64


def _random_like(tensor, stretches):
    """Random numbers in the layout of ``tensor`` (its shape, strides and alignment), cut
    from one stretch per dtype in ``stretches`` that grows as needed (drawn once a fit,
    not at every try)."""
    size, shift = tensor.element_size(), tensor.data_ptr() % 64
    extent = 1 + sum((n - 1) * s for n, s in zip(tensor.shape, tensor.stride()))
    stretch = stretches.get(tensor.dtype)
    if stretch is None or stretch.numel() < extent + 64 // size:
        generator = torch.Generator().manual_seed(0)
        stretch = torch.empty(extent + 64 // size, dtype=tensor.dtype)
        stretches[tensor.dtype] = stretch.uniform_(-1.0, 1.0, generator=generator)
    offset = (shift - stretch.data_ptr() % 64) % 64 // size
    return stretch.as_strided(tensor.shape, tensor.stride(), offset)


def _rounds_as_one_thread(op, args, threads, stretches):
    """Whether MKL computes ``op`` on ``threads`` threads with the bits of one, tried on
    random numbers in the layout of ``args`` (shape, strides, alignment). Which layouts
    keep their bits is MKL's choice, by how it splits the work: a split across rows or
    columns of the output computes each output as one thread would, a split of the
    inner sums or another kernel for a thread's block does not, and then nearly every
    affected output of random numbers rounds differently. Of 1,458 random layouts of a
    network's products (rows up to 40,000, inner and outer sizes up to 512) 12 differed,
    all float64, none with more than 834 rows; every product of the fits in
    ``benchmarks/bench_under_load.py`` keeps its bits (development checks, MKL
    2024.2)."""
    tried = [_random_like(a, stretches) for a in args]
    setter = _mkl_local_threads()
    one = op(*tried)
    setter(threads)
    try:
        many = op(*tried)
    finally:
        setter(1)
    return torch.equal(one, many)


def _threaded(op, work):
    """``op`` (a BLAS product: ``torch.mm``, ``torch.addmm``, ``torch.mv``) that, inside a
    fit that follows the load, runs on MKL's threads (torch's count) where MKL rounds
    that layout of operands as on one thread (tried once per layout and count in this
    process), and on one thread elsewhere. ``work(*args)`` is its multiply-adds."""

    def product(*args):
        if torch.compiler.is_compiling():  # a compiled loss: its products as torch's
            return op(*args)
        threads, governor = torch.get_num_threads(), getattr(_local, "governor", None)
        if (threads == 1 or governor is None
                or args[-1].device.type != "cpu" or work(*args) < _THREADED_WORK):
            return op(*args)
        key = (op, threads, *map(_layout, args))
        same = _SAME_BITS.get(key)
        if same is None:
            same = _SAME_BITS[key] = _rounds_as_one_thread(op, args, threads,
                                                           governor.random)
            if len(_SAME_BITS) > _SAME_BITS_SIZE:
                _SAME_BITS.popitem(last=False)
        if not same:
            return op(*args)
        setter = _mkl_local_threads()
        setter(threads)
        try:
            return op(*args)
        finally:
            setter(1)

    product.__name__ = product.__qualname__ = op.__name__
    product.__doc__ = f"``torch.{op.__name__}``; see :func:`_threaded`."
    return product


#: ``A @ B``, ``b + A @ B`` and ``A @ x`` as torch computes them, on MKL's threads in a
#: load-following fit where that keeps the bits of one thread (:func:`_threaded`).
mm = _threaded(torch.mm, lambda A, B: A.shape[0] * A.shape[1] * B.shape[1])
addmm = _threaded(torch.addmm, lambda b, A, B: A.shape[0] * A.shape[1] * B.shape[1])
mv = _threaded(torch.mv, lambda A, x: A.numel())


@contextlib.contextmanager
def torch_threads(n):
    """``torch.set_num_threads(n)`` inside the block (nothing when ``n`` is None or 0, or
    already the count), the caller's count restored after, whatever happens inside
    (torch's count is the calling thread's own)."""
    before = torch.get_num_threads()
    if n and int(n) != before:
        _set_threads(int(n))
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            _set_threads(before)


#: ``n_jobs``: a positive count, a negative one (-1 all cores, -2 all but one, ...) or None.
N_JOBS = [Interval(numbers.Integral, None, -1, closed="right"), integers(1), None]

N_JOBS_DOC = """    n_jobs : int or None, default=None
        CPU threads torch uses in ``fit`` and in prediction. None: as many as the rest
        of the machine leaves idle, measured every quarter second of a fit: all cores on
        an idle machine, one beside other work, so that a fit is fast alone and takes
        a fair share of a loaded machine (``benchmarks/bench_under_load.py``); one in
        prediction and in the recurrent networks' and ContinuousNet's training, which
        gain nothing from a second thread. Under None the thread count changes no
        result: its bits are those of one thread on any number of cores (MKL runs a
        product on the fit's threads only where it rounds that product's layout as on
        one thread, tried once on random numbers). A positive count fixes the count,
        MKL's included (its products then round by the count); ``-1`` means all cores
        (``-2`` all but one, ...). ``OMP_NUM_THREADS``, which joblib and Dask workers
        set to their share of the cores, caps it. The caller's thread count is
        restored afterwards.
"""


def n_threads(n_jobs):
    """The torch intra-op threads for ``n_jobs`` (:data:`N_JOBS_DOC`): where a fit starts
    and where prediction runs (None: one)."""
    if n_jobs is None:
        threads = 1
    elif n_jobs < 0:
        threads = max(1, joblib.cpu_count() + 1 + int(n_jobs))
    else:
        threads = int(n_jobs)
    try:
        budget = int(os.environ.get("OMP_NUM_THREADS", "0"))
    except ValueError:
        budget = 0
    return min(threads, budget) if budget > 0 else threads


def estimator_threads(estimator):
    """``torch_threads`` at the estimator's ``n_jobs`` (prediction; None outside an
    estimator), the caller's count restored after."""
    return torch_threads(n_threads(getattr(estimator, "n_jobs", None)))


class IdleCores:
    """How many of this process's cores the rest of the machine left idle since the last
    call: their busy time in ``/proc/stat`` (user, nice, system, interrupts and the
    hypervisor's steal) less this process's own CPU time, per second of wall time.

    Returns None at the first call (nothing to compare yet) and where ``/proc/stat``
    cannot be read (not Linux).
    """

    def __init__(self):
        try:
            self.cpus = {f"cpu{i}" for i in os.sched_getaffinity(0)}
            self.tick = os.sysconf("SC_CLK_TCK")
        except (AttributeError, ValueError, OSError):
            self.cpus = None
        self.last = None

    def sample(self):
        if self.cpus is None:
            return None
        try:
            with open("/proc/stat") as stat:
                lines = stat.read().splitlines()
        except OSError:
            return None
        busy = 0
        for line in lines:
            name, *fields = line.split()
            if name in self.cpus:
                user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fields[:8])
                busy += user + nice + system + irq + softirq + steal
        return time.monotonic(), busy / self.tick, time.process_time()

    def __call__(self):
        now = self.sample()
        last, self.last = self.last, now
        if now is None or last is None or now[0] <= last[0]:
            return None
        others = ((now[1] - last[1]) - (now[2] - last[2])) / (now[0] - last[0])
        return min(max(len(self.cpus) - others, 0.0), float(len(self.cpus)))


#: Seconds of a fit between two looks at the machine's load.
LOAD_CHECK_SECONDS = 0.25

_local = threading.local()
_adaptive_fits = [0]  # fits in this process that choose their threads by the load
_adaptive_lock = threading.Lock()


class _LoadGovernor:
    """Sets the fitting thread's torch threads to the cores the machine leaves idle
    (between one and ``cap``), at most every :data:`LOAD_CHECK_SECONDS`; fits in other
    threads of this process share what is idle (their work is this process's own)."""

    def __init__(self, cap, measure=None):
        self.cap = cap
        self.measure = IdleCores() if measure is None else measure
        self.due = time.monotonic() + LOAD_CHECK_SECONDS
        self.changed = False
        self.random = {}  # dtype -> random numbers for trying product layouts
        # Where the load cannot be read (no /proc/stat), the count is fixed at the cap.
        self.fixed = self.measure() is None and not self._readable()
        if self.fixed:
            _set_threads(cap)
            self.changed = True

    def _readable(self):
        sample = getattr(self.measure, "sample", None)
        return sample is None or sample() is not None

    def poll(self):
        now = time.monotonic()
        if self.fixed or now < self.due:
            return
        self.due = now + LOAD_CHECK_SECONDS
        idle = self.measure()
        if idle is None:
            return
        threads = max(1, min(self.cap, int(idle / max(1, _adaptive_fits[0]) + 0.5)))
        if threads != torch.get_num_threads():
            _set_threads(threads)
            self.changed = True


def follow_load():
    """Where a fit's training loop is between two steps (each loss evaluation of
    :mod:`physml._optimizers`): under ``n_jobs=None`` the fit's torch threads
    follow the machine's load (:class:`_LoadGovernor`). Costs a clock read otherwise."""
    governor = getattr(_local, "governor", None)
    if governor is not None:
        governor.poll()


@contextlib.contextmanager
def _governed(n_jobs, follow):
    cap = n_threads(-1)
    if not follow or n_jobs is not None or cap <= 1 or _mkl_local_threads() is None:
        yield
        return
    outer = getattr(_local, "governor", None)
    governor = _local.governor = _LoadGovernor(cap)
    with _adaptive_lock:
        _adaptive_fits[0] += 1
    try:
        yield
    finally:
        with _adaptive_lock:
            _adaptive_fits[0] -= 1
        _local.governor = outer
        if governor.changed and outer is None:
            # MKL's count as torch's own call leaves it (not the one kept inside), even
            # where the thread count ends where the caller had it
            torch.set_num_threads(torch.get_num_threads())


@contextlib.contextmanager
def thread_budget(n_jobs=None, follow=True):
    """What every ``fit`` runs inside: torch's intra-op threads set from ``n_jobs``
    (:func:`n_threads`), under ``n_jobs=None`` and ``follow`` following the machine's load
    (the training loop calls :func:`follow_load`), and :func:`freed_memory_kept`. Fits
    that gain nothing from a second thread (the skorch-trained ones) pass
    ``follow=False``: they stay on one and take no share of what is idle.

    Why: libgomp's waiting threads spin (300,000 rounds) on a core that another process
    may hold, so fits that share a machine slow each other down many times over
    (``benchmarks/bench_under_load.py`` measures it); one thread is fair under load but
    leaves an idle machine's other cores unused. So a fit starts on one
    thread and takes the cores the rest of the machine leaves idle, looking again every
    quarter second: alone it runs on all cores, beside another fit (physml's or anyone's)
    on one. Its arithmetic does not depend on the count (:func:`total`,
    :func:`_threaded`). joblib's
    workers (and dask's, through joblib) get ``OMP_NUM_THREADS`` = their share of the
    cores, which caps it. The caller's count and glibc's thresholds are restored on
    exit.
    """
    with torch_threads(n_threads(n_jobs)), _governed(n_jobs, follow), freed_memory_kept():
        yield


