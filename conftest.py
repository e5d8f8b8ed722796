"""Suite-wide set-up: strict mode for every test, and doctests of optional modules skipped.

Every test (doctests included) runs with ``tolerance(strict=True)``: each mesh
is checked after every layer (:func:`regionscope.geometry.check_mesh`).
"""

import importlib.util

import pytest

from regionscope.tolerances import tolerance

collect_ignore = []
if importlib.util.find_spec("torch") is None:
    collect_ignore.append("src/regionscope/network/torch_import")
if importlib.util.find_spec("matplotlib") is None:
    collect_ignore.append("src/regionscope/lab")


@pytest.fixture(autouse=True)
def _strict_mode():
    with tolerance(strict=True):
        yield
