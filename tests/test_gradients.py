"""Input gradients for white-box attacks: finite differences (TextCNNs) and the per-step
snnTorch reference (SNN, surrogate gradient with a straight-through Bernoulli encoder)."""

import pytest
import torch
import torch.nn.functional as F

from robustsnn.models.encoding import Encoding
from robustsnn.models.gradients import ann_input_gradient, snn_input_gradient
from robustsnn.models.snn import simulate_stepwise
from robustsnn.models.textcnn import TailoredTextCNN, TextCNN
from test_snn_model import LEN, VOCAB, make_ids, make_model


def _ann(cls):
    torch.manual_seed(0)
    model = cls(VOCAB, 12, 3, widths=(2, 3), maps=8, dropout=0.5).double()
    with torch.no_grad():
        model.embedding.weight.uniform_(0.0, 1.0)
    return model


@pytest.mark.parametrize("cls", [TextCNN, TailoredTextCNN])
def test_ann_gradient_matches_finite_differences(cls):
    model = _ann(cls)
    ids = make_ids(batch=3)
    grad, labels = ann_input_gradient(model, ids)
    assert grad.shape == (3, LEN, 12)
    assert model.training  # mode restored (it was built in train mode)
    model.eval()  # finite differences on the deployed (eval) network, like the gradient
    x0 = model.embedding(ids).detach()

    @torch.no_grad()
    def loss(x):
        return float(F.cross_entropy(model.classify(x), labels, reduction="sum"))

    g = torch.Generator().manual_seed(3)
    eps = 1e-6
    checked = 0
    for _ in range(40):
        b, t, d = (int(torch.randint(0, n, (1,), generator=g)) for n in (3, LEN, 12))
        plus, minus = x0.clone(), x0.clone()
        plus[b, t, d] += eps
        minus[b, t, d] -= eps
        numeric = (loss(plus) - loss(minus)) / (2 * eps)
        assert grad[b, t, d].item() == pytest.approx(numeric, rel=1e-4, abs=1e-7)
        checked += abs(numeric) > 1e-6
    assert checked > 5  # the check saw real, non-zero gradients


def test_ann_gradient_does_not_touch_parameter_grads():
    model = _ann(TextCNN)
    ann_input_gradient(model, make_ids())
    assert all(p.grad is None for p in model.parameters())


def test_snn_gradient_equals_autograd_through_snntorchs_per_step_loop():
    model = make_model()
    ids = make_ids()
    enc = Encoding("frozen", seed=4)
    fused, labels = snn_input_gradient(model, ids, enc)
    reference, ref_labels = snn_input_gradient(model, ids, enc,
                                               simulate=lambda s: simulate_stepwise(model, s))
    assert torch.equal(labels, ref_labels)
    assert fused.abs().sum() > 0  # surrogate gradients really reach the input
    # The folded network skips windows over trailing padding shared by the whole batch
    # (they never spike); compare the positions that hold words (row 0 is padded from 7).
    assert torch.allclose(fused[:, :7], reference[:, :7], rtol=1e-5, atol=1e-7)
    assert torch.allclose(fused[1:], reference[1:], rtol=1e-5, atol=1e-7)
    assert all(p.grad is None for p in model.parameters())


def test_snn_gradient_is_the_mean_over_the_draws():
    # With probabilities of exactly 0 or 1 every draw is the same spike train, so the
    # k-draw expectation must equal the one-draw gradient (checks the folding and scaling).
    model = make_model()
    with torch.no_grad():
        model.embedding.weight.copy_((model.embedding.weight > 0.5).float())
        model.embedding.weight[0] = 0.0
    ids = make_ids()
    one, labels = snn_input_gradient(model, ids, Encoding("fresh"))
    five, labels5 = snn_input_gradient(model, ids, Encoding("mean-k", k=5))
    assert torch.equal(labels, labels5)
    assert one.abs().sum() > 0
    assert torch.allclose(one, five, rtol=1e-5, atol=1e-7)


def test_snn_fresh_gradients_vary_and_their_mean_is_stabler():
    model = make_model()
    ids = make_ids(batch=2)
    labels = torch.tensor([0, 1])
    g = torch.Generator().manual_seed(0)
    singles = [snn_input_gradient(model, ids, Encoding("fresh"), labels, generator=g)[0] for _ in range(6)]
    assert not torch.equal(singles[0], singles[1])
    means = [snn_input_gradient(model, ids, Encoding("mean-k", k=20), labels, generator=g)[0] for _ in range(6)]
    spread = lambda gs: torch.stack(gs).std(dim=0).mean()  # noqa: E731
    assert spread(means) < spread(singles)
