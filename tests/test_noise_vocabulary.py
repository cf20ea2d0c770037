"""robustsnn/noise.py is the one owner of the noise-mode vocabulary: every layer (the
encoding, campaigns, the API, the worst case, the reports) reads a mode through it, and a
draw count that cannot be meant is refused where it enters, with one line and no run.

Before: ``--noise mean-1000000000`` was accepted and ran without end on both cores, and
"none" was defined three times, with mode strings sliced ad hoc in the reports.
"""

import pytest

from robustsnn import noise
from robustsnn.cli import main
from robustsnn.errors import UserError
from robustsnn.models.encoding import Encoding


@pytest.mark.parametrize("text, mode, k, spelled", [
    ("fresh", "fresh", 1, "fresh"), (" FROZEN ", "frozen", 1, "frozen"), ("direct", "direct", 1, "direct"),
    ("mean-020", "mean-k", 20, "mean-20"), (f"mean-{noise.MAX_DRAWS}", "mean-k", noise.MAX_DRAWS,
                                            f"mean-{noise.MAX_DRAWS}"),
])
def test_modes_parse_to_one_canonical_spelling(text, mode, k, spelled):
    parsed = noise.parse_mode(text)
    assert (parsed.mode, parsed.k, str(parsed)) == (mode, k, spelled)
    assert noise.canonical(text) == spelled
    assert str(Encoding.parse(text)) == spelled  # the encoding parses through the same owner


@pytest.mark.parametrize("bad", ["mean-1001", "mean-1000000000"])
def test_a_draw_count_that_cannot_be_meant_is_refused(bad):
    with pytest.raises(UserError, match=f"at most {noise.MAX_DRAWS} draws"):
        noise.parse_mode(bad)
    with pytest.raises(UserError, match="at most"):
        Encoding.parse(bad)
    with pytest.raises(UserError, match=f"1 to {noise.MAX_DRAWS} draws"):
        Encoding("mean-k", k=noise.MAX_DRAWS + 1)  # the Python API cannot go round the parser


def test_the_cli_refuses_a_huge_k_before_running_anything(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ROBUSTSNN_RESULTS", str(tmp_path / "results"))
    rc = main(["attack", "--model", "snn", "--recipe", "pwws", "--noise", "mean-1000000000"])
    err = capsys.readouterr().err
    assert rc != 0
    assert "at most 1000 draws" in err and "Traceback" not in err
    assert not (tmp_path / "results").exists()  # a refused run writes nothing


@pytest.mark.parametrize("text, draws, form", [
    ("none", None, "-"), ("fresh", 1, "poisson"), ("frozen", None, "poisson"), ("mean-20", 20, "poisson"),
    ("direct", None, "direct"),
])
def test_what_reports_read_from_a_mode(text, draws, form):
    assert noise.draws_per_query(text) == draws
    assert noise.deployed_form(text) == form
    assert noise.is_poisson(text) == (form == "poisson")


def test_reports_order_modes_by_draws_not_by_spelling():
    modes = ["direct", "mean-100", "frozen", "mean-20", "fresh", "mean-5"]
    assert sorted(modes, key=noise.sort_key) == ["fresh", "frozen", "mean-5", "mean-20", "mean-100", "direct"]


def test_none_is_defined_once():
    from robustsnn import api
    from robustsnn.campaign import spec
    from robustsnn.reports import site, site_plots

    for module in (spec, api, site, site_plots):
        assert module.NOISE_NONE is noise.NONE, module.__name__
    assert noise.is_none(None) and noise.is_none(" None ") and not noise.is_none("frozen")
