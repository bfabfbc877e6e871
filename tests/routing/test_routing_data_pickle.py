"""Problem data stays immutable across processes: a pickled copy (what a plan-province
work unit or a process pool hands a worker) is validated again and read-only."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
from routing_helpers import make_data, truck

from wastenet.errors import ValidationError
from wastenet.routing.data import RoutingData


def _tiny() -> RoutingData:
    """Three stops, one facility with a daily capacity, one truck."""
    return make_data((0, 0), [{"xy": (1000 * i, 0), "q": 2.0} for i in range(1, 4)],
                     [{"xy": (100, 0), "cap": 10.0}], [truck(count=2, capacity=(5.0,))])


def _arrays(obj: object) -> dict[str, np.ndarray]:
    return {k: v for k, v in vars(obj).items() if isinstance(v, np.ndarray)}


@pytest.mark.parametrize("copier", [lambda o: pickle.loads(pickle.dumps(o)), copy.deepcopy],
                         ids=["pickle", "deepcopy"])
def test_routing_data_copies_stay_read_only(copier: object) -> None:
    """Every array of a copied RoutingData is equal to the original's and read-only
    (numpy unpickles arrays writable, and the default pickling skips __post_init__)."""
    data = _tiny()
    got = copier(data)  # type: ignore[operator]
    assert isinstance(got, RoutingData) and got is not data
    arrays = _arrays(got)
    assert arrays and all(not a.flags.writeable for a in arrays.values())
    for name, a in arrays.items():
        assert np.array_equal(a, getattr(data, name), equal_nan=True), name
    with pytest.raises(ValueError, match="read-only"):
        got.distance_m[0, 1] = 1.0


def test_a_corrupted_pickle_is_refused() -> None:
    """A copy goes through the constructor, so a pickle whose arrays were tampered
    with (a negative distance) is refused by validation instead of loading."""
    data = _tiny()
    blob = pickle.dumps(data)
    fn, (cls, kwargs) = data.__reduce__()
    bad = dict(kwargs, distance_m=-np.asarray(data.distance_m) - 1.0)
    with pytest.raises(ValidationError, match="distance_m"):
        fn(cls, bad)
    assert pickle.loads(blob).ids == data.ids
