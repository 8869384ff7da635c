"""A PINN's loss, stated once, and its two evaluators.

The loss is a list of :class:`Term` objects: each names its points (one or more point
sets with a row each per loss row: the collocation points, a boundary face, a pair of
periodic faces, the observations), the input derivatives it reads there, a function of
the model's outputs at those points that returns its rows, and how its squared rows
are averaged. :meth:`PINNProblem.loss <physml._problem.PINNProblem.loss>` builds the
terms of a fit; nothing else writes a term.

Two evaluators consume the same terms:

- :meth:`PINNLoss.__call__`, the batched value for first-order and quasi-Newton methods:
  one pass of the network over every term's points at once, its input derivatives
  through the network's hand-written jets (:meth:`physml._mlp.MLP.jet`; autograd where a
  derivative is mixed or of third order), and a named scalar per term (the history's
  ``residual``, ``boundary``, ``data``) whose gradient autograd gives;
- :meth:`PINNLoss.rows` and :meth:`PINNLoss.jacobian`, the rows and their Jacobian for
  Gauss-Newton methods: each term's row function evaluated at one point with
  :mod:`torch.func` (the model's input derivatives by nested forward mode) and mapped over
  its points with ``vmap``, scaled so that the squared rows sum to the batched value.
  Where a plain MLP's jets give the batched derivatives and its weights are all that is
  trained, :meth:`PINNLoss.jacobian` takes the batched rows instead and differentiates
  them through the jets, one adjoint pass per term and equation
  (:class:`physml._mlp.JetCapture`): the same Jacobian to rounding, without
  differentiating each point through the network on its own.

``tests/test_loss.py`` checks the two against each other on every kind of term, and the
Jacobian against finite differences.
"""

import dataclasses
import math

import torch
from torch.func import functional_call, jacfwd, jacrev, vmap

from ._base import average, total
from ._mlp import JetCapture


@dataclasses.dataclass
class Field:
    """The model at a set of points: rows ``X``, outputs ``u`` of shape ``(n, n_outputs)``
    and the named input derivatives ``d`` (each of shape ``(n,)``)."""

    X: torch.Tensor
    u: torch.Tensor
    d: dict


@dataclasses.dataclass
class Term:
    """One term of the loss: ``weight`` times the average over its rows of their squares.

    Parameters
    ----------
    name : str
        The history's key: terms of one name add up (every boundary face is one
        ``"boundary"``).
    points : tuple of tensor
        Point sets, each ``(n, n_coordinates)``, one row each per loss row.
    rows : callable
        ``rows(fields, extras, coefficients)``: the term's parts (one per equation or
        output) as a tensor ``(n,)`` or ``(n, k)`` or a tuple of ``(n,)`` tensors (a
        system's equations), from one :class:`Field` per point set, the ``extras`` and
        the equation's coefficients. Written for ``n`` rows, it serves both evaluators
        (the row evaluator calls it with ``n = 1`` under ``vmap``).
    extras : tuple of tensor
        Per-row data handed to ``rows`` (targets, masks).
    derivatives : tuple of str
        The input derivatives ``rows`` reads.
    reduction : {"mean", "sum"}
        ``"mean"``: the squared parts, summed over the parts, averaged over the rows
        (and over the parts with ``average_parts``); ``"sum"``: summed over both (the
        parts carry their own scale).
    average_parts : bool
        With ``"mean"``, average over the parts too (a boundary's outputs) instead of
        summing them (a system's equations).
    weight : float
        Factor of the term in the loss.
    weighting : object, optional
        Per-row weights in place of ``reduction``: ``weighting.reduce(squared, X)`` gives
        the term from the summed squared parts at the rows ``X`` of the first point set,
        ``weighting.row_weights(X)`` the same as weights of the squared rows (the causal
        weights, :class:`physml.strategies.CausalWeights`).
    """

    name: str
    points: tuple
    rows: object
    extras: tuple = ()
    derivatives: tuple = ()
    reduction: str = "mean"
    average_parts: bool = False
    weight: float = 1.0
    weighting: object = None
    _slices: list = dataclasses.field(default=None, repr=False, compare=False)

    def reduce(self, parts):
        """The term's value from its parts (the batched evaluator)."""
        squared = parts[0].square()
        for part in parts[1:]:
            squared = squared + part.square()
        if self.weighting is not None:
            value = self.weighting.reduce(squared, self.points[0])
        elif self.reduction == "sum":
            value = total(squared)
        else:
            value = average(squared)
            if self.average_parts and len(parts) > 1:
                value = value / len(parts)
        return value if self.weight == 1.0 else self.weight * value

    def row_scale(self, n_parts):
        """``(n,)`` or scalar: the factor of each row such that the squared rows sum to
        :meth:`reduce` (the Gauss-Newton evaluator)."""
        if self.weighting is not None:
            return (self.weight * self.weighting.row_weights(self.points[0])).sqrt()
        scale = self.weight
        if self.reduction == "mean":
            scale /= self.points[0].shape[0]
            if self.average_parts:
                scale /= n_parts
        return math.sqrt(scale)


def parts_of(value):
    """A term's rows as a tuple of ``(n,)`` tensors: a tensor ``(n,)`` or ``(n, k)``, or a
    tuple or list of ``(n,)`` tensors (a system's equations)."""
    if isinstance(value, (tuple, list)):
        return tuple(value)
    if value.dim() == 1:
        return (value,)
    return tuple(value.unbind(1))


def _jets(u_point, order):
    """``x -> (u, Du, D2u, ...)`` up to ``order``: the value and the derivative tensors of
    a point function ``u_point(x) -> (n_outputs,)`` (``D^k u`` of shape ``(n_outputs,) +
    (d,) * k``), by nested forward mode, each lower order computed once."""
    def level(k):
        if k == 0:
            def f(x):
                u = u_point(x)
                return u, (u,)
            return f
        inner = level(k - 1)

        def f(x):
            top, lower = jacfwd(inner, has_aux=True)(x)
            return top, (*lower, top)
        return f

    def jets(x):
        return level(order)(x)[1]
    return jets


class PINNLoss:
    """The loss of one training stage: its terms and both evaluators.

    Parameters
    ----------
    terms : list of Term
        In the order the batched evaluator stacks their points (terms that read
        derivatives first).
    names : dict
        ``name -> (output, coordinate indices)``: every input derivative a term reads.
    model : callable
        ``model(X) -> (n, n_outputs)``: the outputs (transforms applied).
    derivatives : callable
        ``derivatives(X, n_d) -> (u, {name: tensor})``: the outputs on every row and the
        named derivatives on the first ``n_d`` rows (the batched path).
    point_model : callable
        ``point_model(params, x) -> (n_outputs,)``: the outputs at one point as a function
        of the trainable tensors (the row path).
    coefficients : callable
        ``coefficients(params=None)``: the equation's coefficients, learned ones from
        ``params`` (or the live tensors when None).
    """

    def __init__(self, terms, names, derivatives, point_model, coefficients):
        self.terms, self.names = list(terms), dict(names)
        self._derivatives, self._point_model = derivatives, point_model
        self._coefficients = coefficients
        self.refresh = None  # set by the problem where points or weights change in training
        self.resample = None
        self.observe = None  # what the problem records beside the loss at each evaluation
        #: The :class:`physml._mlp.MLP` whose weights are every trainable tensor of the
        #: loss, where the batched derivatives come from its jets: :meth:`jacobian` then
        #: differentiates the rows through them (:class:`physml._mlp.JetCapture`).
        self.jets = None
        self._stacked = None

    # The batched evaluator -------------------------------------------------------------

    def replace_points(self, term, points):
        """Give ``term`` new points (new collocation points)."""
        term.points = tuple(points)
        self._stacked = None

    def state_dict(self):
        """What training changes in the loss: every term's points and the state of its
        weighting (the causal weights); for a checkpoint."""
        return {"points": [term.points for term in self.terms],
                "weighting": [None if term.weighting is None else dict(vars(term.weighting))
                              for term in self.terms]}

    def load_state_dict(self, state):
        for term, points, weighting in zip(self.terms, state["points"], state["weighting"]):
            self.replace_points(term, points)
            if weighting is not None:
                vars(term.weighting).update(weighting)

    def _stack(self):
        if self._stacked is None:
            # A point set two terms share (a periodic pair's values and slopes) is
            # evaluated once.
            sets, n_d, start, placed = [], 0, 0, {}
            for term in self.terms:
                slices = []
                for X in term.points:
                    if id(X) not in placed:
                        placed[id(X)] = slice(start, start + X.shape[0])
                        start += X.shape[0]
                        sets.append(X)
                    slices.append(placed[id(X)])
                if term.derivatives:
                    n_d = max(n_d, max(s.stop for s in slices))
                term._slices = slices
            X_all = torch.cat(sets) if sets else None
            self._stacked = (X_all, n_d)
        return self._stacked

    def __call__(self):
        """The named terms of the loss (scalar tensors; the loss is their sum)."""
        X_all, n_d = self._stack()
        u, d = self._derivatives(X_all, n_d)
        coefficients = self._coefficients()
        out = {}
        for term in self.terms:
            value = term.reduce(self._batched_parts(term, u, d, coefficients))
            out[term.name] = out[term.name] + value if term.name in out else value
        return out

    @staticmethod
    def _batched_parts(term, u, d, coefficients):
        """``term``'s parts from the outputs ``u`` and derivatives ``d`` at the stacked
        points."""
        fields = [Field(X, u[s], {k: v[s] for k, v in d.items()} if term.derivatives else {})
                  for X, s in zip(term.points, term._slices)]
        return parts_of(term.rows(fields, term.extras, coefficients))

    # The row evaluator -----------------------------------------------------------------

    def _point_rows(self, term):
        """``(params, *points, *extras) -> (k,)``: the term's rows at one point each."""
        n_sets = len(term.points)
        indices = [self.names[name] for name in term.derivatives]
        order = max([len(index) for _, index in indices] + [0])

        def rows(params, *args):
            points, extras = args[:n_sets], args[n_sets:]
            coefficients = self._coefficients(params)
            fields = []
            for x in points:
                jets = _jets(lambda z: self._point_model(params, z), order)(x)
                d = {name: jets[len(index)][(o, *index)][None]
                     for name, (o, index) in zip(term.derivatives, indices)}
                fields.append(Field(x[None], jets[0][None], d))
            parts = parts_of(term.rows(fields, tuple(e[None] for e in extras), coefficients))
            return torch.cat([part.reshape(-1) for part in parts])

        return rows

    def _scaled(self, term, values):
        """``values`` ``(n, k)`` scaled row by row (:meth:`Term.row_scale`), flattened."""
        scale = term.row_scale(values.shape[1])
        if torch.is_tensor(scale):
            values = values * scale.to(values.dtype)[:, None]
        else:
            values = values * scale
        return values.reshape(-1)

    def _live_terms(self):
        return [term for term in self.terms if term.points[0].shape[0]]

    def _term_rows(self, term, params):
        """The term's rows at ``params``, scaled, flattened."""
        in_dims = (None,) + (0,) * (len(term.points) + len(term.extras))
        values = vmap(self._point_rows(term), in_dims=in_dims)(params, *term.points,
                                                               *term.extras)
        return self._scaled(term, values)

    def rows(self, params):
        """Every row, and the loss per term: ``(rows, {term: value})``."""
        out, terms = [], {}
        with torch.no_grad():
            for term in self._live_terms():
                values = self._term_rows(term, params)
                out.append(values)
                terms[term.name] = terms.get(term.name, 0.0) + float(values.square().sum())
        return torch.cat(out), terms

    def jacobian(self, params, out=None):
        """The rows, their Jacobian ``(n_rows, n_weights)`` and the loss per term; the
        Jacobian written into ``out`` where it has that shape and dtype (a buffer reused
        from step to step is not paged in again) and it is formed through the jets."""
        if self.jets is not None and len(params) == sum(1 for _ in self.jets.parameters()):
            result = self._jacobian_by_jets(params, out)
            if result is not None:
                return result
        rows, blocks, terms = [], [], {}
        for term in self._live_terms():
            function = self._point_rows(term)

            def value(p, *x, f=function):
                v = f(p, *x)
                return v, v

            in_dims = (None,) + (0,) * (len(term.points) + len(term.extras))
            jac, val = vmap(jacrev(value, has_aux=True), in_dims=in_dims)(
                params, *term.points, *term.extras)
            n, k = val.shape
            scale = term.row_scale(k)
            if torch.is_tensor(scale):
                scale = scale.to(val.dtype).repeat_interleave(k)
            val = val.reshape(-1) * scale
            J = torch.cat([j.reshape(n * k, -1) for j in jac], 1)
            J = J * (scale[:, None] if torch.is_tensor(scale) else scale)
            rows.append(val)
            blocks.append(J)
            terms[term.name] = terms.get(term.name, 0.0) + float(val.square().sum())
        return torch.cat(rows), torch.cat(blocks), terms

    def _jacobian_by_jets(self, params, out=None):
        """:meth:`jacobian` from the batched evaluator's rows and the network's jets: each
        term's rows, and for each of its parts the rows' gradients with respect to the
        network's outputs and derivatives at their points, then one adjoint pass per part
        (:class:`physml._mlp.JetCapture`). None where the jets were not called once."""
        X_all, n_d = self._stack()
        with torch.enable_grad():
            with JetCapture(self.jets, params) as capture:
                u, d = self._derivatives(X_all, n_d)
            if capture.calls != 1:
                return None
            coefficients = self._coefficients()
            evaluated = []
            for term in self._live_terms():
                evaluated.append((term, self._batched_parts(term, u, d, coefficients)))
            n_rows = sum(parts[0].shape[0] * len(parts) for _, parts in evaluated)
            shape = (n_rows, sum(p.numel() for p in params))
            J = out if (out is not None and out.shape == shape and out.dtype == X_all.dtype
                        and out.is_contiguous()) else X_all.new_empty(shape)
            rows, terms, start = [], {}, 0
            for term, parts in evaluated:
                n, k = parts[0].shape[0], len(parts)
                scale = term.row_scale(k)
                if torch.is_tensor(scale):
                    scale = scale.to(X_all.dtype)
                for q, part in enumerate(parts):
                    u_bar = D_bar = None
                    if part.requires_grad:
                        u_bar, D_bar = torch.autograd.grad(
                            part.sum(), (capture.u, capture.D), retain_graph=True,
                            allow_unused=True)
                    capture.jacobian(u_bar, D_bar, term._slices, bool(term.derivatives),
                                     J[start + q:start + n * k:k], scale)
                val = torch.stack([part.detach() for part in parts], 1)
                val = (val * (scale[:, None] if torch.is_tensor(scale) else scale)).reshape(-1)
                rows.append(val)
                terms[term.name] = terms.get(term.name, 0.0) + float(val.square().sum())
                start += n * k
        return torch.cat(rows), J, terms

    def row_function(self):
        """``params -> rows``: every row as one differentiable function (for products
        with the Jacobian, ``torch.func.jvp`` and ``vjp``, without forming it)."""
        def rows(params):
            return torch.cat([self._term_rows(term, params) for term in self._live_terms()])

        return rows


def network_point_model(network, n_network, transform=None):
    """``(params, x) -> (n_outputs,)``: ``network`` (then ``transform``) at one point, its
    weights the first ``n_network`` of ``params``."""
    names = [name for name, _ in network.named_parameters()]

    def point_model(params, x):
        weights = dict(zip(names, params[:n_network]))
        u = functional_call(network, weights, (x[None],)).reshape(1, -1)
        if transform is not None:
            out = transform(x[None], u[:, 0] if u.shape[1] == 1 else u)
            u = out.reshape(1, -1)
        return u[0]

    return point_model
