"""The check of a conversion compares with the model itself, not with the traced graph."""

from __future__ import annotations

import pytest

import regionscope as rs
from regionscope.network.torch_import import convert, converter

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional


class DroppedRelu(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(2, 6)
        self.fc2 = nn.Linear(6, 2)

    def forward(self, x):
        h = self.fc1(x)
        F.relu_(h)
        return self.fc2(h)


def test_a_dropped_inplace_operation_fails_the_check(monkeypatch) -> None:
    """Without following in-place changes the traced graph drops the ReLU: the model does not."""
    torch.manual_seed(0)
    monkeypatch.setattr(converter, "follow_inplace", lambda gm: {})
    with pytest.raises(TypeError, match="DroppedRelu: the converted network differs from the"):
        convert(DroppedRelu(), (2,))


class Counter(nn.Module):
    """Each call multiplies by the number of calls so far (fx records the first)."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 3)
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return self.fc(x) * self.calls


class BufferChange(nn.Module):
    """Changes its buffer in place at every call (while tracing too: not in the graph)."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 3)
        self.register_buffer("shift", torch.zeros(3))

    def forward(self, x):
        shift = self.shift
        shift.add_(1.0)
        return self.fc(x) + shift


@pytest.mark.parametrize("model", [Counter(), BufferChange()])
def test_state_kept_between_calls_fails_the_check(model: nn.Module) -> None:
    with pytest.raises(TypeError, match=r"differs from the model on random inputs .*conversion"):
        convert(model, (2,))


def test_the_check_uses_the_conversion_tolerance() -> None:
    torch.manual_seed(1)
    with rs.tolerance(conversion_rtol=0.9):
        convert(Counter(), (2,))  # x1 against x2 and x3: relative differences up to 2/3
    with rs.tolerance(conversion_rtol=1e-9):
        with pytest.raises(TypeError, match="differs from the model"):
            convert(Counter(), (2,))


def test_the_model_is_unchanged_by_its_inplace_operations() -> None:
    model = BufferChange()
    with pytest.raises(TypeError):
        convert(model, (2,))
    assert torch.equal(model.shift, torch.zeros(3))  # only the converter's copy changed
