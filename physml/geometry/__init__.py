"""Where an equation holds: primitives, their unions, differences and intersections, and
point clouds, with samplers, named boundary pieces, outward normals and distances.

>>> from physml.geometry import Disk, Rectangle
>>> plate = Rectangle([-0.5, -0.5], [0.5, 0.5], name="outer") - Disk([0, 0], 0.1, name="hole")
>>> sample = plate.sample_boundary(1000, random_state=0)
>>> sorted(set(sample.pieces))
['hole', 'outer']
"""

from ._base import SAMPLERS, BoundarySample, Difference, Geometry, Intersection, Union
from .primitives import Ball, Box, Disk, Interval, PointCloud, Polygon, Rectangle

__all__ = ["Geometry", "Interval", "Rectangle", "Box", "Disk", "Ball", "Polygon", "PointCloud",
           "Union", "Difference", "Intersection", "BoundarySample", "SAMPLERS"]
