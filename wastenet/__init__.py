"""Wastenet: plans rural waste logistics for a whole province.

Data flows one way: scenario -> network -> problem data -> solver -> result -> exports.
The core is pure: problem data is immutable, solvers are functions ``solve(data, params)``
returning result objects, and no module keeps global mutable state, so every unit of
work can run in another process (a worker pool today, a Dask cluster later).
"""

from wastenet.errors import (
    DataFormatError,
    InfeasibleError,
    NoSolutionError,
    ValidationError,
    WastenetError,
)

__version__ = "0.1.0"

__all__ = [
    "DataFormatError",
    "InfeasibleError",
    "NoSolutionError",
    "ValidationError",
    "WastenetError",
    "__version__",
]
