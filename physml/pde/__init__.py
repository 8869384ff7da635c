"""Equations: coefficients, domain, residual, initial/boundary data and reference solutions."""

from ._base import PDE, CustomPDE
from .equations import AllenCahn, Burgers, Convection, NavierStokes, Reaction, ReactionDiffusion

__all__ = ["PDE", "CustomPDE", "Convection", "Reaction", "ReactionDiffusion", "Burgers",
           "AllenCahn", "NavierStokes"]
