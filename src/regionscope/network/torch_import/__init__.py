"""Convert a PyTorch module into a regionscope :class:`~regionscope.network.Graph`.

The module is traced with :mod:`torch.fx` (so subclasses of torch layers,
nested containers and custom ``forward`` methods are followed, not matched by
name), run on a float64 copy to learn every tensor's shape, and each traced
operation becomes a regionscope layer named after it (``"features.0"`` for a
submodule, ``"relu_1"`` or ``"add"`` for a function).  The converted network
is then checked against the model itself on random inputs, to
:attr:`~regionscope.tolerances.Tolerance.conversion_rtol`.

The user's model is never changed: all work is done on a deep copy, made
without its hooks (hooks are not part of the converted network).

In-place operations (``F.relu_(h)``, ``h.relu_()``, ``h.clamp_(min=0)``,
``h.mul_(2)``, ``h += y``, ``F.relu(h, inplace=True)``,
``nn.ReLU(inplace=True)``) are followed: every later use of the changed
tensor uses the changed values, as in torch.  A change that cannot be
followed through the traced graph (of a tensor whose memory another tensor
used later shares, such as a view; of the model's own parameters) is refused
with a ``TypeError`` naming the operation and how to write it instead.

torch is imported only when a function here is called, so importing this
package is cheap and works without torch; :func:`is_torch_module` (from
:mod:`regionscope.network.detect`, the one place torch modules are
recognised) never imports it.

Supported
---------
``Linear``; ``Conv1d/2d/3d`` (zero padding, any stride, dilation, groups);
``BatchNorm1d/2d/3d`` in evaluation mode (folded into a per-channel affine
map); ``AvgPool1d/2d``, ``AdaptiveAvgPool1d/2d``, ``mean`` over sample axes;
``MaxPool1d/2d`` (windowed max); ``AdaptiveMaxPool1d/2d`` (any output size)
and maxima over sample axes (``torch.amax(x, dim)``, ``x.amax(dim)``, the
values of ``torch.max(x, dim)`` and ``x.max(dim)``: global max-pooling is
``x.amax(dim=(2, 3))``); ``Flatten``, ``Unflatten``, ``view``,
``reshape``, ``flatten``, ``squeeze``, ``unsqueeze``; ``ReLU``,
``LeakyReLU``, ``PReLU``, ``ReLU6``, ``Hardtanh``, ``clamp`` with constant
bounds; ``Identity`` and dropout in evaluation mode; ``+``/``-`` of two
tensors (residual blocks), ``+ - * /`` with constants; ``torch.cat`` along
the channel axis; the functional forms (``F.relu``, ``torch.relu``,
``F.conv2d``, ``F.max_pool2d``...), and the in-place forms of all of these.
A softmax ending the forward becomes an ``Argmax`` on the logits.  Anything
else raises ``TypeError`` naming the traced node.

Layout
------
``converter``
    :func:`convert` and the :class:`~.converter.Converter`: tracing, running,
    dispatching each traced node to its handler, the check.
``tracing``
    The fx tracer (``+=`` traced as an in-place operation) and the cut of
    the traced graph to the output.
``inplace``
    In-place operations: the tensor each changes, following the change, and
    what is refused.
``runs``
    Running the traced graph (shapes, constants) and the model itself.
``verify``
    The converted network against the model on random inputs.
``modules``, ``functions``, ``methods``
    Handlers of torch.nn modules, of torch functions, of tensor methods.
``builders``
    The layers of one traced operation, shared by the handlers.
``maxima``
    The groups of maxima over axes and of adaptive max-pooling.
``support``
    torch's namespaces (imported lazily), the layer types converted by type,
    error text.
``copying``
    The model's copy, made without hooks.

Examples
--------
>>> import torch
>>> import torch.nn.functional as F
>>> class Net(torch.nn.Module):
...     def __init__(self):
...         super().__init__()
...         self.fc = torch.nn.Linear(2, 3)
...
...     def forward(self, x):
...         h = self.fc(x)
...         F.relu_(h)  # changes h: the product below sees the ReLU
...         return h * 2.0
>>> g = convert(Net(), (2,))
>>> [type(layer).__name__ for _, layer, _ in g.nodes]
['Linear', 'ReLU', 'ElementwiseAffine']
>>> is_torch_module(Net()), is_torch_module(g)
(True, False)
"""

from regionscope.network.detect import is_torch_module

from .converter import convert

__all__ = ["convert", "is_torch_module"]
