"""The primitives: boxes, balls, polygons, and a user's own points."""

import math

import numpy as np
import torch

from ._base import BoundaryPart, BoundarySample, Geometry, as_rng


def _vector(values, what, dim=None):
    values = np.atleast_1d(np.asarray(values, dtype=float))
    if values.ndim != 1 or not np.all(np.isfinite(values)) or values.size == 0:
        raise ValueError(f"{what}={values!r} must be a finite point (a sequence of numbers)")
    if dim is not None and values.size != dim:
        raise ValueError(f"{what} has {values.size} coordinates; expected {dim}")
    return values


def _name(name, what="name"):
    if not isinstance(name, str) or not name:
        raise TypeError(f"{what}={name!r} must be a non-empty string")
    return name


class Box(Geometry):
    """An axis-aligned box ``[low, high]`` in any dimension.

    Parameters
    ----------
    low, high : sequence of float
        The corners; ``low < high`` in every coordinate.
    name : str or dict, default="boundary"
        The name of the boundary piece its faces form, or ``{face: name}`` for faces
        named apart, a face keyed ``"min<i>"`` or ``"max<i>"`` (``i`` the coordinate's
        position; a :class:`Rectangle` also takes ``"left"``, ``"right"``, ``"bottom"``,
        ``"top"``). Faces a dict leaves out take ``"boundary"``.

    Examples
    --------
    >>> from physml.geometry import Box
    >>> cube = Box([0, 0, 0], [1, 1, 1], name={"max2": "lid"})
    >>> cube.pieces
    ('boundary', 'lid')
    >>> cube.contains([[0.5, 0.5, 0.5], [0.5, 0.5, 1.5]]).tolist()
    [True, False]
    """

    _ALIASES = {}

    def __init__(self, low, high, name="boundary"):
        self.low = _vector(low, "low")
        self.high = _vector(high, "high", self.low.size)
        if not np.all(self.low < self.high):
            raise ValueError(f"Box: low={self.low.tolist()} must be below high="
                             f"{self.high.tolist()} in every coordinate")
        self.dim = self.low.size
        self.name = name
        self._face_names = self._faces_named(name)

    def __repr__(self):
        return f"{type(self).__name__}({self.low.tolist()}, {self.high.tolist()})"

    def _faces_named(self, name):
        keys = [f"{side}{i}" for i in range(self.dim) for side in ("min", "max")]
        if isinstance(name, str):
            return dict.fromkeys(keys, _name(name))
        if not isinstance(name, dict):
            raise TypeError(f"name={name!r} must be a string or a dict {{face: name}}")
        named = dict.fromkeys(keys, "boundary")
        for face, piece in name.items():
            key = self._ALIASES.get(face, face)
            if key not in named:
                raise ValueError(f"name: {face!r} is no face of a {self.dim}-D box; faces: "
                                 f"{keys + list(self._ALIASES)}")
            named[key] = _name(piece, f"name[{face!r}]")
        return named

    def bounding_box(self):
        return self.low.copy(), self.high.copy()

    def _signed_distance(self, X):
        centre, half = 0.5 * (self.low + self.high), 0.5 * (self.high - self.low)
        q = np.abs(X - centre) - half
        outside = np.linalg.norm(np.maximum(q, 0.0), axis=1)
        return outside + np.minimum(q.max(axis=1), 0.0)

    def _exact_interior(self, n, rng):
        return self.low + rng.random((n, self.dim)) * (self.high - self.low)

    def _parts(self):
        parts = []
        span = self.high - self.low
        for i in range(self.dim):
            others = [j for j in range(self.dim) if j != i]
            measure = float(np.prod(span[others])) if others else 1.0
            for side, value, sign in (("min", self.low[i], -1.0), ("max", self.high[i], 1.0)):
                parts.append(BoundaryPart(self._face_names[f"{side}{i}"], measure,
                                          self._face_sampler(i, value, sign),
                                          self._face_distance(i, value),
                                          adf=self._face_adf(i, side)))
        return parts

    def _face_sampler(self, i, value, sign):
        def sample(n, rng):
            X = self.low + rng.random((n, self.dim)) * (self.high - self.low)
            X[:, i] = value
            normal = np.zeros((n, self.dim))
            normal[:, i] = sign
            return X, normal
        return sample

    def _face_adf(self, i, side):
        """A segment's trimmed function in the plane, the face's hyperplane distance
        beyond (a box's faces meet the box only on themselves)."""
        if self.dim == 2:
            corner = np.where(np.arange(2) == i, self.low if side == "min" else self.high,
                              self.low)
            other = corner.copy()
            other[1 - i] = self.high[1 - i]
            return _segment_adf(corner, other)
        value = float(self.low[i] if side == "min" else self.high[i])
        return lambda X: (X[:, i] - value).abs()

    def _face_distance(self, i, value):
        def distance(X):
            nearest = np.clip(X, self.low, self.high)
            nearest[:, i] = value
            return np.linalg.norm(X - nearest, axis=1)
        return distance


class Interval(Box):
    """The interval ``[low, high]``, a 1-D :class:`Box`; its ends are the faces ``"min0"``
    and ``"max0"`` (also ``"left"`` and ``"right"``).

    Examples
    --------
    >>> from physml.geometry import Interval
    >>> Interval(0.0, 1.0).sample_interior(3, random_state=0).shape
    (3, 1)
    """

    _ALIASES = {"left": "min0", "right": "max0"}

    def __init__(self, low, high, name="boundary"):
        super().__init__([low], [high], name=name)

    def __repr__(self):
        return f"Interval({self.low[0]!r}, {self.high[0]!r})"


class Rectangle(Box):
    """The rectangle ``[low, high]`` in the plane, a 2-D :class:`Box`; its edges are
    ``"left"``, ``"right"``, ``"bottom"``, ``"top"`` for ``name={edge: piece}``.

    Examples
    --------
    >>> from physml.geometry import Disk, Rectangle
    >>> plate = Rectangle([0, 0], [1, 1], name="outer") - Disk([0.5, 0.5], 0.2, name="hole")
    >>> plate.pieces
    ('outer', 'hole')
    >>> round(plate.measure(), 2)
    0.87
    """

    _ALIASES = {"left": "min0", "right": "max0", "bottom": "min1", "top": "max1"}

    def __init__(self, low, high, name="boundary"):
        low = _vector(low, "low", 2)
        super().__init__(low, high, name=name)


class Ball(Geometry):
    """The ball ``|x - center| <= radius`` in any dimension (a :class:`Disk` in 2-D).

    Parameters
    ----------
    center : sequence of float
    radius : float
        Positive.
    name : str, default="boundary"
        The name of its sphere.

    Examples
    --------
    >>> import numpy as np
    >>> from physml.geometry import Ball
    >>> ball = Ball(np.zeros(5), 1.0)
    >>> bool(ball.contains(ball.sample_interior(100, random_state=0)).all())
    True
    """

    def __init__(self, center, radius, name="boundary"):
        self.center = _vector(center, "center")
        if not (isinstance(radius, (int, float, np.floating, np.integer))
                and math.isfinite(radius) and radius > 0):
            raise ValueError(f"radius={radius!r} must be a positive number")
        self.radius = float(radius)
        self.dim = self.center.size
        self.name = _name(name)

    def __repr__(self):
        return f"{type(self).__name__}({self.center.tolist()}, {self.radius!r})"

    def bounding_box(self):
        return self.center - self.radius, self.center + self.radius

    def _signed_distance(self, X):
        return np.linalg.norm(X - self.center, axis=1) - self.radius

    def _directions(self, n, rng):
        g = rng.standard_normal((n, self.dim))
        return g / np.linalg.norm(g, axis=1, keepdims=True)

    def _exact_interior(self, n, rng):
        r = self.radius * rng.random(n) ** (1.0 / self.dim)
        return self.center + r[:, None] * self._directions(n, rng)

    def _parts(self):
        d = self.dim
        area = 2 * math.pi ** (d / 2) / math.gamma(d / 2) * self.radius ** (d - 1)

        def sample(n, rng):
            normal = self._directions(n, rng)
            return self.center + self.radius * normal, normal

        def distance(X):
            return np.abs(self._signed_distance(X))

        return [BoundaryPart(self.name, area, sample, distance, adf=_sphere_adf(
            self.center, self.radius))]


class Disk(Ball):
    """The disk ``|x - center| <= radius`` in the plane, a 2-D :class:`Ball`.

    Examples
    --------
    >>> from physml.geometry import Disk
    >>> round(Disk([0, 0], 1.0).boundary_measure()["boundary"], 4)
    6.2832
    """

    def __init__(self, center, radius, name="boundary"):
        center = _vector(center, "center", 2)
        super().__init__(center, radius, name=name)


def _segments_cross(p, q, r, s):
    """Whether the closed segments pq and rs (2-D) meet."""
    def orient(a, b, c):
        return np.sign((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]))

    def on(a, b, c):  # c on segment ab, given collinear
        return (min(a[0], b[0]) <= c[0] <= max(a[0], b[0])
                and min(a[1], b[1]) <= c[1] <= max(a[1], b[1]))

    o1, o2, o3, o4 = orient(p, q, r), orient(p, q, s), orient(r, s, p), orient(r, s, q)
    if o1 != o2 and o3 != o4:
        return True
    return bool((o1 == 0 and on(p, q, r)) or (o2 == 0 and on(p, q, s))
                or (o3 == 0 and on(r, s, p)) or (o4 == 0 and on(r, s, q)))


class Polygon(Geometry):
    """A simple polygon in the plane, from its vertices in order (either orientation).

    Written here rather than taken from shapely: sampling and the distances to its
    edges are a few vectorized numpy lines over thousands of points, and checking that
    the polygon is simple is one pass over its pairs of edges.

    Parameters
    ----------
    vertices : array-like of shape (n_vertices, 2)
        At least three; the polygon must not cross itself.
    name : str or sequence of str, default="boundary"
        The name of the piece its edges form, or one name per edge (edge ``k`` from
        vertex ``k`` to vertex ``k + 1``).

    Examples
    --------
    >>> from physml.geometry import Polygon
    >>> L = Polygon([(0, 0), (2, 0), (2, 1), (1, 1), (1, 2), (0, 2)])
    >>> round(L.measure(), 2), round(L.boundary_measure()["boundary"], 6)
    (3.0, 8.0)
    """

    def __init__(self, vertices, name="boundary"):
        V = np.asarray(vertices, dtype=float)
        if V.ndim != 2 or V.shape[1] != 2 or V.shape[0] < 3 or not np.all(np.isfinite(V)):
            raise ValueError(f"vertices of shape {V.shape}: a polygon needs at least three "
                             "finite (x, y) vertices")
        n = V.shape[0]
        edges = [(V[k], V[(k + 1) % n]) for k in range(n)]
        for k in range(n):
            if np.allclose(*edges[k]):
                raise ValueError(f"vertices: vertex {k} repeats vertex {(k + 1) % n}")
            for m in range(k + 1, n):
                if m == k + 1 or (k == 0 and m == n - 1):
                    continue  # neighbours share a vertex
                if _segments_cross(*edges[k], *edges[m]):
                    raise ValueError(f"vertices: the polygon crosses itself (edge {k} meets "
                                     f"edge {m})")
        area = 0.5 * float(np.sum(V[:, 0] * np.roll(V[:, 1], -1)
                                  - np.roll(V[:, 0], -1) * V[:, 1]))
        if abs(area) <= 1e-12 * float(np.ptp(V, axis=0).max()) ** 2:
            raise ValueError("vertices: the polygon has no area (its vertices are collinear)")
        if isinstance(name, str):
            names = [_name(name)] * n
        else:
            names = [_name(v, "name") for v in name]
            if len(names) != n:
                raise ValueError(f"name: {len(names)} names for {n} edges")
        self.vertices, self.name, self.dim = V, name, 2
        self._edge_names = names
        self._ccw = area > 0
        self._area = abs(area)

    def __repr__(self):
        return f"Polygon({self.vertices.tolist()})"

    def bounding_box(self):
        return self.vertices.min(axis=0), self.vertices.max(axis=0)

    def _edges(self):
        return self.vertices, np.roll(self.vertices, -1, axis=0)

    def _signed_distance(self, X):
        A, B = self._edges()
        distance = np.min([_segment_distance(X, a, b) for a, b in zip(A, B)], axis=0)
        # even-odd rule: a ray towards +x crosses the boundary an odd number of times
        x, y = X[:, :1], X[:, 1:]
        ay, by, ax, bx = A[:, 1], B[:, 1], A[:, 0], B[:, 0]
        straddles = (ay > y) != (by > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            cross_x = ax + (y - ay) * (bx - ax) / (by - ay)
        inside = (np.sum(straddles & (x < cross_x), axis=1) % 2) == 1
        return np.where(inside, -distance, distance)

    def _parts(self):
        parts = []
        for (a, b), name in zip(zip(*self._edges()), self._edge_names):
            edge = b - a
            length = float(np.linalg.norm(edge))
            normal = np.array([edge[1], -edge[0]]) / length
            normal = normal if self._ccw else -normal

            def sample(n, rng, a=a, edge=edge, normal=normal):
                return a + rng.random((n, 1)) * edge, np.tile(normal, (n, 1))

            def distance(X, a=a, b=b):
                return _segment_distance(X, a, b)

            parts.append(BoundaryPart(name, length, sample, distance,
                                      adf=_segment_adf(a, b)))
        return parts

    def measure(self, n=None, random_state=None):
        return self._area


def _sphere_adf(center, radius):
    """``|r^2 - |x - c|^2| / 2r``: zero on the sphere, its distance to first order."""
    def adf(X):
        c = torch.as_tensor(center, dtype=X.dtype, device=X.device)
        return (radius ** 2 - (X - c).square().sum(1)).abs() / (2 * radius)
    return adf


def _segment_adf(a, b):
    """The trimmed distance function of the segment ``ab`` (Sukumar & Srivastava 2022,
    eq. 5-6): zero on the segment only, the distance to first order near it."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    length = float(np.linalg.norm(b - a))

    def adf(X):
        A = torch.as_tensor(a, dtype=X.dtype, device=X.device)
        B = torch.as_tensor(b, dtype=X.dtype, device=X.device)
        d = X - A
        f = (d[:, 0] * (B[1] - A[1]) - d[:, 1] * (B[0] - A[0])) / length
        t = ((length / 2) ** 2 - (X - (A + B) / 2).square().sum(1)) / length
        varphi = (t.square() + f ** 4).sqrt()
        return (f.square() + ((varphi - t) / 2).square()).sqrt()
    return adf


def _segment_distance(X, a, b):
    edge = b - a
    t = np.clip((X - a) @ edge / float(edge @ edge), 0.0, 1.0)
    return np.linalg.norm(X - (a + t[:, None] * edge), axis=1)


class PointCloud(Geometry):
    """A domain given by points: a mesh's nodes, a scan, a CAD tool's export.

    Interior points are drawn from ``points`` (without replacement while they last),
    boundary points from each named set with its normals. A point is inside when it is
    within the cloud's spacing of one of its points (a nearest-neighbour test; no
    surface is reconstructed). Read a mesh's nodes with meshio
    (``meshio.read(path).points``) and pass its boundary nodes and their normals.

    Parameters
    ----------
    points : array-like of shape (n_points, dim)
        Interior points.
    boundary : dict
        ``{piece name: (n, dim) points}`` on the boundary.
    normals : dict or None, default=None
        ``{piece name: (n, dim) outward unit normals}`` at the boundary points of each
        piece; needed where a piece has a Neumann or Robin condition, and by
        :meth:`sample_boundary`.

    Examples
    --------
    >>> import numpy as np
    >>> from physml.geometry import PointCloud
    >>> inner = np.random.default_rng(0).random((50, 2))
    >>> ends = {"left": np.zeros((5, 2)), "right": np.ones((5, 2))}
    >>> PointCloud(inner, boundary=ends).pieces
    ('left', 'right')
    """

    def __init__(self, points, boundary, normals=None):
        P = np.asarray(points, dtype=float)
        if P.ndim != 2 or P.shape[0] == 0 or not np.all(np.isfinite(P)):
            raise ValueError(f"points of shape {P.shape} must be a non-empty finite (n, dim) "
                             "array")
        if not isinstance(boundary, dict) or not boundary:
            raise ValueError("boundary must be a non-empty dict {piece name: points}")
        self.points, self.dim = P, P.shape[1]
        self.boundary, self.normals = boundary, normals
        self._boundary = {}
        for name, X in boundary.items():
            X = np.asarray(X, dtype=float)
            if X.ndim != 2 or X.shape[1] != self.dim or X.shape[0] == 0:
                raise ValueError(f"boundary[{name!r}] of shape {X.shape}; expected a "
                                 f"non-empty (n, {self.dim}) array")
            N = None
            if normals is not None and name in normals:
                N = np.asarray(normals[name], dtype=float)
                if N.shape != X.shape:
                    raise ValueError(f"normals[{name!r}] of shape {N.shape}; expected "
                                     f"{X.shape}, one per boundary point")
                N = N / np.linalg.norm(N, axis=1, keepdims=True)
            self._boundary[_name(name, "boundary name")] = (X, N)
        if normals is not None:
            extra = sorted(set(normals) - set(boundary))
            if extra:
                raise ValueError(f"normals: {extra[0]!r} is no piece of boundary "
                                 f"{tuple(boundary)}")
        every = np.concatenate([P] + [X for X, _ in self._boundary.values()])
        self._low, self._high = every.min(axis=0), every.max(axis=0)
        from scipy.spatial import cKDTree

        self._tree = cKDTree(every)
        self._piece_trees = {name: cKDTree(X) for name, (X, _) in self._boundary.items()}
        # inside: within the largest gap between an interior point and its neighbour
        self._spacing = (float(cKDTree(P).query(P, k=2)[0][:, 1].max())
                         if P.shape[0] > 1 else 0.0)

    def __repr__(self):
        return f"PointCloud({self.points.shape[0]} points, pieces {tuple(self._boundary)})"

    def bounding_box(self):
        return self._low.copy(), self._high.copy()

    def _signed_distance(self, X):
        d, _ = self._tree.query(X)
        return d - self._spacing

    def sample_interior(self, n, random_state=None, sampler="uniform"):
        rng = as_rng(random_state)
        m = self.points.shape[0]
        index = np.concatenate([rng.permutation(m) for _ in range(-(-int(n) // m))])[:int(n)]
        return self.points[index]

    def _parts(self):
        parts = []
        for name, (X, N) in self._boundary.items():
            def sample(n, rng, X=X, N=N, name=name):
                if N is None:
                    raise ValueError(f"PointCloud piece {name!r} has no normals: pass "
                                     "normals={name: (n, dim) array}")
                index = rng.integers(0, X.shape[0], n)
                return X[index], N[index]

            def distance(Y, tree=self._piece_trees[name]):
                return tree.query(Y)[0]

            parts.append(BoundaryPart(name, float(X.shape[0]), sample, distance))
        return parts

    def sample_boundary(self, n, random_state=None):
        """The boundary points, every piece's in proportion to how many it holds (drawn
        with replacement when ``n`` is more); normals where given, NaN elsewhere."""
        rng = as_rng(random_state)
        X = np.concatenate([X for X, _ in self._boundary.values()])
        N = np.concatenate([np.full_like(X_, np.nan) if N_ is None else N_
                            for X_, N_ in self._boundary.values()])
        names = np.concatenate([np.full(X_.shape[0], name, dtype=object)
                                for name, (X_, _) in self._boundary.items()])
        index = (rng.permutation(X.shape[0])[:int(n)] if n <= X.shape[0]
                 else rng.integers(0, X.shape[0], int(n)))
        return BoundarySample(X[index], N[index], names[index])

    def _check_adf(self):
        raise ValueError("a PointCloud has no distance function to build exact conditions "
                         "on; use constraints='soft'")

    def measure(self, n=None, random_state=None):
        raise NotImplementedError("a PointCloud has no measure of its own; its points stand "
                                  "for the domain")
