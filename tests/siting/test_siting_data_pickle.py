"""Problem data stays immutable across processes: a pickled copy (what a plan-province
work unit or a process pool hands a worker) is validated again and read-only."""

from __future__ import annotations

import pickle

import numpy as np
from siting_helpers import checker_instance

from wastenet.siting.data import SitingData


def _arrays(obj: object) -> dict[str, np.ndarray]:
    return {k: v for k, v in vars(obj).items() if isinstance(v, np.ndarray)}


def test_siting_data_copies_stay_read_only() -> None:
    """A pickled SitingData and its site tables are read-only again, and equal."""
    data = checker_instance()
    got = pickle.loads(pickle.dumps(data))
    assert isinstance(got, SitingData)
    for part, orig in ((got, data), (got.transfer, data.transfer),
                       (got.incinerator, data.incinerator)):
        arrays = _arrays(part)
        assert arrays and all(not a.flags.writeable for a in arrays.values())
        for name, a in arrays.items():
            assert np.array_equal(a, getattr(orig, name), equal_nan=True), name
