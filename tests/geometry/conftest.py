"""``both_backends``: a test module that uses it runs with NumPy and with numba's kernels.

pytestmark = pytest.mark.usefixtures("both_backends")
"""

from __future__ import annotations

import importlib.util

import pytest

from regionscope.backends import backend

BACKENDS = ["numpy"] + (["numba"] if importlib.util.find_spec("numba") else [])


@pytest.fixture(params=BACKENDS)
def both_backends(request):
    with backend(request.param):
        yield request.param
