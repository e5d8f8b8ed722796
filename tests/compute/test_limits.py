import numpy as np
import pytest

import regionscope as rs
from regionscope.compute.limits import check_finite
from regionscope.network.program import compile_model


def _op():
    program = compile_model(rs.Sequential(rs.Linear(np.eye(2)), rs.ReLU()), 2)
    return next(op for op in program.ops if op.layer.piecewise)


def test_finite_values_pass():
    check_finite(np.array([[0.0, -1e308], [1e308, 5.0]]), _op())


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_overflowed_values_name_the_layer(bad):
    op = _op()
    z = np.zeros((3, 2))
    z[1, 1] = bad
    with pytest.raises(ValueError, match=rf"layer {op.index} \({op.name}: ReLU\).*not finite"):
        check_finite(z, op)
