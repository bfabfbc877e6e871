"""Immutable problem data: read-only numpy arrays, and pickling that keeps them so.

The problem-data classes (:class:`~wastenet.routing.data.RoutingData`,
:class:`~wastenet.siting.data.SitingData` and its parts) are frozen dataclasses whose
``__post_init__`` validates the fields and stores every array as a read-only copy
(:func:`frozen_array`). Python's default pickling restores an object's ``__dict__``
without calling ``__init__``, and numpy unpickles arrays writable, so a copy sent to a
worker process (a ``plan-province`` work unit carries its county's routing data) would
come back mutable. :class:`FrozenData` makes such classes pickle through their
constructor instead: the copy is validated and read-only again, like the original.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from numpy.typing import NDArray


def frozen_array(a: object, dtype: type | np.dtype[Any]) -> NDArray[Any]:
    """A read-only copy of ``a`` as an array of ``dtype``."""
    out: NDArray[Any] = np.array(a, dtype=dtype, copy=True)
    out.setflags(write=False)
    return out


def _construct(cls: type[Any], kwargs: dict[str, Any]) -> Any:
    return cls(**kwargs)


class FrozenData:
    """Mixin for frozen dataclasses: pickle (and copy) through the constructor, so that
    a copy is validated by ``__post_init__`` and its arrays are read-only."""

    def __reduce__(self) -> tuple[Any, tuple[type[Any], dict[str, Any]]]:
        kwargs = {f.name: getattr(self, f.name)
                  for f in dataclasses.fields(self)  # type: ignore[arg-type]
                  if f.init}
        return (_construct, (type(self), kwargs))
