"""AdaptiveLogSoftmaxWithLoss against torch: output, loss, gradients, log_prob, predict,
errors."""
from __future__ import annotations

import numpy as np
import pytest

import jtorch

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("head_bias", [False, True])
def test_adaptive_log_softmax_matches_torch(head_bias):
    torch.manual_seed(0)
    t = torch.nn.AdaptiveLogSoftmaxWithLoss(8, 20, [5, 12], div_value=2.0, head_bias=head_bias)
    j = jtorch.nn.AdaptiveLogSoftmaxWithLoss(8, 20, [5, 12], div_value=2.0,
                                             head_bias=head_bias)
    assert repr(j) == repr(t)
    j.load_state_dict({k: jtorch.tensor(v.numpy()) for k, v in t.state_dict().items()})
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 8)).astype(np.float32)
    y = np.array([0, 4, 5, 11, 12, 19])
    xt, xj = torch.tensor(x, requires_grad=True), jtorch.tensor(x, requires_grad=True)
    ot, oj = t(xt, torch.tensor(y)), j(xj, jtorch.tensor(y))
    np.testing.assert_allclose(oj.output.detach().numpy(), ot.output.detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    ot.loss.backward()
    oj.loss.backward()
    np.testing.assert_allclose(xj.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-6)
    for (name, a), (_, b) in zip(j.named_parameters(), t.named_parameters()):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-4, atol=1e-6,
                                   err_msg=name)
    np.testing.assert_allclose(j.log_prob(xj).detach().numpy(),
                               t.log_prob(xt).detach().numpy(), rtol=1e-5, atol=1e-5)
    assert j.predict(xj).tolist() == t.predict(xt).tolist()
    single = j(xj[0], jtorch.tensor(y[0]))
    assert single.output.shape == t(xt[0], torch.tensor(y[0])).output.shape


def test_adaptive_log_softmax_errors():
    for T in (torch, jtorch):
        with pytest.raises(ValueError):
            T.nn.AdaptiveLogSoftmaxWithLoss(8, 20, [12, 5])
        m = T.nn.AdaptiveLogSoftmaxWithLoss(8, 20, [5])
        with pytest.raises(RuntimeError, match="Target values should be in"):
            m(T.zeros(2, 8), T.tensor([0, 20]))
        with pytest.raises(RuntimeError, match="same size in the batch"):
            m(T.zeros(3, 8), T.tensor([0, 1]))
