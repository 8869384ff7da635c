"""What every geometry answers, and the set operations that combine them."""

import dataclasses
from collections.abc import Callable

import numpy as np
from scipy.stats import qmc

#: How interior points are drawn: pseudo-random, or quasi-random sequences of
#: :mod:`scipy.stats.qmc` (lower discrepancy: fewer points cover the domain as evenly).
SAMPLERS = ("uniform", "sobol", "halton")

#: A point this close to a boundary (relative to the bounding box's diagonal) is on it:
#: ``contains`` counts it in, and a set operation's boundary keeps it only where the
#: other geometry's interior does not hold it strictly.
TOLERANCE = 1e-9

# Rejection draws stop looking for an empty geometry after this many candidates.
_MAX_CANDIDATES = 2_000_000


def as_rng(random_state):
    """A :class:`numpy.random.Generator` from a seed, a generator or None."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    return np.random.default_rng(random_state)


@dataclasses.dataclass(frozen=True)
class BoundaryPart:
    """One smooth part of a boundary: a primitive's face, edge, circle or sphere.

    ``sample(n, rng)`` returns ``n`` points uniform on the part and their outward unit
    normals, ``distance(X)`` the Euclidean distance to the part; ``measure`` is its length,
    area or, for the end of an interval, 1. A set operation keeps the part where ``keep``
    says (None: everywhere) and flips its normals where ``flip`` (a hole's circle faces
    into the hole)."""

    name: str
    measure: float
    sample: Callable
    distance: Callable
    keep: Callable = None
    flip: bool = False
    adf: Callable = None  # torch rows -> a smooth distance to the part (see Geometry.adf)

    def kept(self, X):
        return np.ones(X.shape[0], bool) if self.keep is None else self.keep(X)

    def restricted(self, keep, flip=False):
        """This part where ``keep`` also holds, its normals flipped when ``flip``."""
        own = self.keep
        both = keep if own is None else (lambda X: own(X) & keep(X))
        return dataclasses.replace(self, keep=both, flip=self.flip ^ flip)


@dataclasses.dataclass(frozen=True)
class BoundarySample:
    """Points on a boundary: ``points`` ``(n, dim)``, their outward unit ``normals``
    ``(n, dim)`` and the name of the ``piece`` each lies on ``(n,)``."""

    points: np.ndarray
    normals: np.ndarray
    pieces: np.ndarray


class Geometry:
    """A region of space where an equation holds.

    A geometry answers whether points are inside (:meth:`contains`), draws points
    uniform in its interior (:meth:`sample_interior`) and on its boundary with outward
    unit normals (:meth:`sample_boundary`, each named piece in proportion to its
    measure), gives its :meth:`bounding_box`, the names of its boundary pieces
    (:attr:`pieces`) and the distance to each (:meth:`distance`). Geometries combine with
    ``a | b`` (union), ``a - b`` (difference) and ``a & b`` (intersection); the pieces of
    a combination keep their primitive's name.
    """

    dim = None

    # What a primitive states ------------------------------------------------------------

    def _signed_distance(self, X):
        """Negative inside, positive outside, zero on the boundary (the exact signed
        distance for primitives; a set operation's is a bound with the same sign)."""
        raise NotImplementedError

    def _parts(self):
        """The :class:`BoundaryPart` list of the boundary."""
        raise NotImplementedError

    def bounding_box(self):
        """``(low, high)``: arrays of shape ``(dim,)`` enclosing the geometry."""
        raise NotImplementedError

    def _exact_interior(self, n, rng):
        """``n`` points uniform inside, where the geometry has a direct sampler."""
        return None

    # What every geometry answers --------------------------------------------------------

    @property
    def pieces(self):
        """The names of the boundary pieces, in order of first appearance."""
        return tuple(dict.fromkeys(part.name for part in self._parts()))

    def _scale(self):
        low, high = self.bounding_box()
        return float(np.linalg.norm(np.asarray(high) - np.asarray(low)))

    def _points(self, X):
        X = np.asarray(X, dtype=float)
        if X.ndim == 1 and self.dim == 1:
            X = X[:, None]
        if X.ndim != 2 or X.shape[1] != self.dim:
            raise ValueError(f"points of shape {X.shape}; expected (n, {self.dim}) for a "
                             f"{self.dim}-D {type(self).__name__}")
        return X

    def contains(self, X):
        """Whether each row of ``X`` ``(n, dim)`` lies in the geometry (its boundary
        included): a boolean array ``(n,)``."""
        X = self._points(X)
        return self._signed_distance(X) <= TOLERANCE * self._scale()

    def _strictly_inside(self, X):
        return self._signed_distance(X) < -TOLERANCE * self._scale()

    def _outside(self, X):
        return self._signed_distance(X) > TOLERANCE * self._scale()

    def sample_interior(self, n, random_state=None, sampler="uniform"):
        """``n`` points uniform in the geometry, ``(n, dim)``.

        ``sampler``: ``"uniform"`` (pseudo-random), ``"sobol"`` or ``"halton"``
        (quasi-random, :mod:`scipy.stats.qmc`, scrambled). Drawn exactly where a
        primitive allows it, else by rejection from the bounding box."""
        n = int(n)
        if sampler not in SAMPLERS:
            raise ValueError(f"sampler={sampler!r} is not supported; choose one of {SAMPLERS}")
        rng = as_rng(random_state)
        if sampler == "uniform":
            exact = self._exact_interior(n, rng)
            if exact is not None:
                return exact
        low, high = (np.asarray(v, dtype=float) for v in self.bounding_box())
        engine = None
        if sampler != "uniform":
            kind = qmc.Sobol if sampler == "sobol" else qmc.Halton
            engine = kind(d=self.dim, scramble=True, seed=rng)
        chosen, found, tried = [], 0, 0
        batch = max(2 * n, 64)
        while found < n:
            if tried >= _MAX_CANDIDATES:
                raise ValueError(f"{self!r} holds no interior point found among {tried} "
                                 "candidates in its bounding box: it is empty or too thin")
            if engine is not None:  # (Sobol' points balance in powers of two)
                batch = 1 << max(int(batch - 1).bit_length(), 6)
                unit = engine.random(batch)
            else:
                unit = rng.random((batch, self.dim))
            X = low + unit * (high - low)
            inside = X[self.contains(X)]
            chosen.append(inside)
            found += inside.shape[0]
            tried += batch
            if found < n:  # the next batch sized by the acceptance seen so far
                rate = max(found, 1) / tried
                batch = int(min(max(1.2 * (n - found) / rate, 64), 4 * _MAX_CANDIDATES))
        return np.concatenate(chosen)[:n]

    def sample_boundary(self, n, random_state=None):
        """``n`` points on the boundary, each piece in proportion to its measure, with
        their outward unit normals and piece names (a :class:`BoundarySample`)."""
        n = int(n)
        rng = as_rng(random_state)
        parts = self._parts()
        measures = np.array([p.measure for p in parts], dtype=float)
        weights = measures / measures.sum()
        points, normals, names, found, tried = [], [], [], 0, 0
        while found < n:
            if tried >= _MAX_CANDIDATES:
                raise ValueError(f"{self!r}: no boundary point found among {tried} candidates")
            batch = max(2 * (n - found), 32)
            counts = rng.multinomial(batch, weights)
            for part, count in zip(parts, counts):
                if count == 0:
                    continue
                X, normal = part.sample(int(count), rng)
                keep = part.kept(X)
                points.append(X[keep])
                normals.append(-normal[keep] if part.flip else normal[keep])
                names.append(np.full(int(keep.sum()), part.name, dtype=object))
                found += int(keep.sum())
            tried += batch
        X, normal, name = (np.concatenate(v) for v in (points, normals, names))
        order = rng.permutation(X.shape[0])[:n]  # a uniform subset keeps the proportions
        return BoundarySample(X[order], normal[order], name[order])

    def boundary_measure(self, n=20_000, random_state=0):
        """``{piece: measure}``: the length, area or count of each piece (exact for a
        primitive; for a set operation, each part's measure times the share of ``n``
        points on it that the operation keeps)."""
        rng = as_rng(random_state)
        out = {}
        for part in self._parts():
            share = 1.0
            if part.keep is not None:
                X, _ = part.sample(n, rng)
                share = float(part.kept(X).mean())
            out[part.name] = out.get(part.name, 0.0) + part.measure * share
        return out

    def distance(self, X, piece=None):
        """The Euclidean distance from each row of ``X`` to the boundary pieces named
        ``piece`` (a name or a sequence of names; every piece when None), measured to the
        whole primitive part each piece comes from: zero on the piece, positive inside the
        geometry away from it (what exact constraints build on)."""
        X = self._points(X)
        names = self.pieces if piece is None else (
            (piece,) if isinstance(piece, str) else tuple(piece))
        unknown = [name for name in names if name not in self.pieces]
        if unknown:
            raise ValueError(f"{unknown[0]!r} is no boundary piece of {self!r}; its pieces: "
                             f"{self.pieces}")
        parts = [p for p in self._parts() if p.name in names]
        return np.min([p.distance(X) for p in parts], axis=0)

    def adf(self, X, piece=None, parts=False):
        """An approximate distance function to the pieces ``piece`` (every piece when None)
        at torch rows ``X``: zero on them, positive inside, smooth elsewhere and equal to
        the distance to first order near each (Sukumar & Srivastava 2022): each part's
        own (``|r^2 - |x - c|^2| / 2r`` for a sphere, a trimmed function for a segment)
        joined by R-equivalence, ``1 / sum(1 / phi_i)``. With ``parts=True`` the
        parts' own functions, a list. What exact Dirichlet conditions build on; a
        ValueError where the geometry has no such function (a union, whose parts run
        through its interior; a point cloud)."""
        names = self.pieces if piece is None else (
            (piece,) if isinstance(piece, str) else tuple(piece))
        self._check_adf()
        chosen = [p for p in self._parts() if p.name in names]
        if any(p.adf is None for p in chosen):
            raise ValueError(f"{self!r} has no distance function for its pieces {names}")
        phis = [p.adf(X) for p in chosen]
        if parts:
            return phis
        if len(phis) == 1:
            return phis[0]
        return 1.0 / sum(1.0 / phi for phi in phis)

    def _check_adf(self):
        pass

    def measure(self, n=200_000, random_state=0):
        """The length, area or volume (exact for a primitive, by Monte Carlo with ``n``
        points of the bounding box for a set operation)."""
        low, high = (np.asarray(v, dtype=float) for v in self.bounding_box())
        X = low + as_rng(random_state).random((int(n), self.dim)) * (high - low)
        return float(np.prod(high - low) * self.contains(X).mean())

    # Set operations ---------------------------------------------------------------------

    def __or__(self, other):
        return Union(self, other)

    def __sub__(self, other):
        return Difference(self, other)

    def __and__(self, other):
        return Intersection(self, other)


def _check_dims(a, b, symbol):
    for g in (a, b):
        if not isinstance(g, Geometry):
            raise TypeError(f"{type(g).__name__} {symbol} ...: both sides must be geometries")
    if a.dim != b.dim:
        raise ValueError(f"a {a.dim}-D and a {b.dim}-D geometry cannot be combined with "
                         f"{symbol!r}")


class _SetOperation(Geometry):
    symbol = None

    def __init__(self, a, b):
        _check_dims(a, b, self.symbol)
        self.a, self.b = a, b
        self.dim = a.dim
        self._check_not_empty()

    def __repr__(self):
        return f"({self.a!r} {self.symbol} {self.b!r})"

    def _check_adf(self):
        self.a._check_adf()
        self.b._check_adf()

    def _check_not_empty(self):
        low, high = self.bounding_box()
        if np.any(np.asarray(low) >= np.asarray(high)):
            raise ValueError(f"{self!r} is empty: the two geometries do not overlap")
        X = low + as_rng(0).random((100_000, self.dim)) * (np.asarray(high) - low)
        if not np.any(self._signed_distance(X) < 0):
            raise ValueError(f"{self!r} is empty (or thinner than 1e-5 of its bounding "
                             "box): nothing is left inside")


class Union(_SetOperation):
    """``a | b``: the points in either."""

    symbol = "|"

    def _check_adf(self):
        raise ValueError(f"{self!r}: a union's primitive boundaries run through its "
                         "interior, so no distance function is built from them; state the "
                         "domain as a difference or intersection, or use "
                         "constraints='soft'")

    def _signed_distance(self, X):
        return np.minimum(self.a._signed_distance(X), self.b._signed_distance(X))

    def bounding_box(self):
        (la, ha), (lb, hb) = self.a.bounding_box(), self.b.bounding_box()
        return np.minimum(la, lb), np.maximum(ha, hb)

    def _parts(self):
        a, b = self.a, self.b
        return ([p.restricted(lambda X: ~b._strictly_inside(X)) for p in a._parts()]
                # where the two boundaries coincide, a's copy is the one kept
                + [p.restricted(lambda X: a._outside(X)) for p in b._parts()])


class Difference(_SetOperation):
    """``a - b``: the points of ``a`` not in ``b`` (``b``'s boundary inside ``a`` becomes
    boundary, its normals turned outward from the difference)."""

    symbol = "-"

    def _signed_distance(self, X):
        return np.maximum(self.a._signed_distance(X), -self.b._signed_distance(X))

    def bounding_box(self):
        return self.a.bounding_box()

    def _parts(self):
        a, b = self.a, self.b
        return ([p.restricted(lambda X: ~b._strictly_inside(X)) for p in a._parts()]
                + [p.restricted(lambda X: a._strictly_inside(X), flip=True)
                   for p in b._parts()])


class Intersection(_SetOperation):
    """``a & b``: the points in both."""

    symbol = "&"

    def _signed_distance(self, X):
        return np.maximum(self.a._signed_distance(X), self.b._signed_distance(X))

    def bounding_box(self):
        (la, ha), (lb, hb) = self.a.bounding_box(), self.b.bounding_box()
        return np.maximum(la, lb), np.minimum(ha, hb)

    def _parts(self):
        a, b = self.a, self.b
        return ([p.restricted(lambda X: ~b._outside(X)) for p in a._parts()]
                + [p.restricted(lambda X: a._strictly_inside(X)) for p in b._parts()])

