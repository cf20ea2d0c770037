"""The original and the tailored TextCNN match their specifications."""

import torch

from robustsnn.models.textcnn import TailoredTextCNN, TextCNN


def test_original_textcnn_is_kim_2014():
    m = TextCNN(50, 8, 2, widths=(3, 4, 5), maps=100, dropout=0.5)
    assert [c.kernel_size[0] for c in m.convs] == [3, 4, 5]
    assert all(c.out_channels == 100 and c.bias is not None for c in m.convs)
    assert m.fc.bias is not None and m.dropout.p == 0.5
    assert m(torch.randint(0, 50, (4, 12))).shape == (4, 2)


def test_tailored_has_no_bias_avg_pool_and_population_output():
    m = TailoredTextCNN(50, 8, 3, widths=(2, 3), maps=5, dropout=0.0, neurons_per_class=4).eval()
    assert all(c.bias is None for c in m.convs) and m.fc.bias is None
    assert not [n for n, _ in m.named_parameters() if "bias" in n]
    ids = torch.randint(2, 50, (6, 10))
    pop = m.population(ids)
    assert pop.shape == (6, 12)
    torch.testing.assert_close(m(ids), pop.view(6, 3, 4).sum(-1))
    x = m.embedding(ids).transpose(1, 2)
    expected = torch.relu(m.convs[0](x)).mean(dim=2)  # average, not max, over time
    torch.testing.assert_close(m.features(ids)[0], expected)


def test_tailored_embedding_clip_touches_only_given_rows():
    m = TailoredTextCNN(10, 4, 2, widths=(2,), maps=3)
    with torch.no_grad():
        m.embedding.weight.fill_(1.5)
    m.clip_embedding(torch.tensor([[3, 4]]))
    w = m.embedding.weight
    assert (w[3:5] == 1.0).all() and (w[5] == 1.5).all()
    m.clip_embedding()
    assert w.max() <= 1.0 and w.min() >= 0.0


def test_padding_row_gets_no_gradient():
    m = TailoredTextCNN(10, 4, 2, widths=(2,), maps=3, dropout=0.0)
    with torch.no_grad():  # positive weights: every ReLU is active, so real rows get gradient
        for p in m.parameters():
            p.uniform_(0.1, 0.2)
        m.embedding.weight[0].zero_()
    loss = m(torch.tensor([[3, 4, 0, 0]])).sum()
    loss.backward()
    grad = m.embedding.weight.grad.to_dense()
    assert grad[0].abs().sum() == 0 and grad[3].abs().sum() > 0
