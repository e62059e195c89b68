"""Metrics against the benchmark's own code (metrics_oracle), hand-computed cases and real data."""
import csv
import math

import cv2
import numpy as np
import pytest
from conftest import shared_path
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from salfom_core.evaluation import metrics as M
from salfom_core.io import ground_truth as G


def oracle_rows():
    path = shared_path("reference", "metrics_oracle")
    cases = np.load(path / "cases.npz")
    for row in csv.DictReader(open(path / "expected.csv")):
        key = f"{int(row['case']):02d}"
        maps = {p: cases[f"{p}_{key}"] for p in "SFGO"}
        yield int(row["case"]), maps, {k: float(v) for k, v in row.items() if k != "case"}


def test_reproduces_benchmark_oracle():
    checked = 0
    for case, m, expected in oracle_rows():
        got = {
            "auc_judd": M.auc_judd(m["S"], m["F"], jitter=False),
            "auc_shuffled": M.auc_shuffled(m["S"], m["F"], m["O"]),
            "nss": M.nss(m["S"], m["F"]), "cc": M.cc(m["S"], m["G"]),
            "sim": M.sim(m["S"], m["G"]), "kld": M.kld(m["S"], m["G"]),
        }
        for name, value in got.items():
            want = expected[name]
            if math.isnan(want):
                assert math.isnan(value), (case, name, value)
            else:
                assert abs(value - want) <= 1e-9 * max(1.0, abs(want)), (case, name, value, want)
            checked += 1
    assert checked == 27 * 6


# Case A of the oracle README (4x4), indices (row, col)
S_A = np.array([[0, .05, .12, .25], [.33, .41, .47, .52], [.58, .63, .68, .74], [.81, .86, .93, 1]])
G_A = np.array([[0, 0, 0, 0], [0, 1, 0, 0], [1, 2, 1, 1], [0, 1, 2, 4]], dtype=float)


def points(shape, *rc):
    out = np.zeros(shape)
    for r, c in rc:
        out[r, c] = 1
    return out


def test_hand_case_a():
    f, o = points((4, 4), (3, 3), (2, 1)), points((4, 4), (0, 2), (2, 2))
    assert M.auc_judd(S_A, f, jitter=False) == pytest.approx(12.75 / 14, abs=1e-12)
    assert M.auc_shuffled(S_A, f, o) == pytest.approx(0.875, abs=1e-12)
    assert M.nss(S_A, f) == pytest.approx(0.932723, abs=1e-6)
    assert M.cc(S_A, G_A) == pytest.approx(0.689643, abs=1e-6)
    assert M.sim(S_A, G_A) == pytest.approx(0.654397, abs=1e-6)
    assert M.kld(S_A, G_A) == pytest.approx(0.457890, abs=1e-6)


def test_hand_case_b_pins_eps():
    s, g = np.array([[1., 2], [3, 4]]), np.array([[0., 1], [1, 2]])
    assert M.cc(s, g) == pytest.approx(0.948683, abs=1e-6)
    assert M.sim(s, g) == pytest.approx(0.916667, abs=1e-6)
    assert M.kld(s, g) == pytest.approx(0.121777, abs=1e-6)
    assert M.kld(g, s) == pytest.approx(3.294917, abs=1e-6)


def test_hand_case_c_ties():
    s = np.array([[1., 1], [0, 0]])
    assert M.auc_judd(s, s, jitter=False) == pytest.approx(0.75)
    assert M.auc_judd(s, s, jitter=True, seed=7) == pytest.approx(1.0)


def test_hand_case_d_threshold_endpoint():
    s = S_A.copy()
    s[3, 2] = 0.95
    f, o = points((4, 4), (3, 3), (2, 1)), points((4, 4), (0, 2), (3, 2))
    assert M.auc_shuffled(s, f, o) == pytest.approx(0.75, abs=1e-12)


def test_octave_range_keeps_endpoint_on_grid():
    np.testing.assert_allclose(M._octave_range(0, 1.0, 0.1), np.arange(11) * 0.1)
    assert M._octave_range(0, 1.0, 0.1)[-1] == 1.0
    assert len(M._octave_range(0, 0.95, 0.1)) == 10
    assert M._octave_range(0, 0.7, 0.1)[-1] == 0.7


def test_random_parts_follow_the_seed():
    rng = np.random.default_rng(1)
    s, f = rng.random((30, 40)), (rng.random((30, 40)) > 0.97)
    o = rng.random((30, 40)) > 0.9
    assert M.auc_shuffled(s, f, o, seed=3) == M.auc_shuffled(s, f, o, seed=3)
    assert M.auc_shuffled(s, f, o, seed=3) != M.auc_shuffled(s, f, o, seed=4)
    assert M.auc_judd(s, f, seed=3) == M.auc_judd(s, f, seed=3)


maps = arrays(np.float64, st.tuples(st.integers(2, 12), st.integers(2, 12)),
              elements=st.floats(0, 1, allow_nan=False, width=32))


@settings(max_examples=60, deadline=None)
@given(maps, st.data())
def test_properties(s, data):
    assume(np.ptp(s) > 1e-3)   # nearly constant maps are ill-conditioned in any implementation
    f = data.draw(arrays(np.bool_, s.shape))
    g = data.draw(arrays(np.float64, s.shape, elements=st.floats(0, 1, width=32)))
    # with jitter (the benchmark's default) ties are broken and the curve is monotone;
    # without it the reference's one-by-one tie counting can even give negative areas
    a = M.auc_judd(s, f, seed=0)
    assert math.isnan(a) or 0.0 <= a <= 1.0
    value = M.sim(s, g)
    assert math.isnan(value) or -1e-12 <= value <= 1 + 1e-12
    c = M.cc(s, g)
    assert math.isnan(c) or -1 - 1e-9 <= c <= 1 + 1e-9
    # scale and shift of the prediction change nothing the benchmark normalizes away
    if not math.isnan(c):
        assert M.cc(3 * s + 1, g) == pytest.approx(c, abs=1e-9)
    n = M.nss(s, f)
    if not math.isnan(n):
        assert M.nss(2 * s + 5, f) == pytest.approx(n, abs=1e-9)


def test_imresize_identity_ramp_and_constant():
    img = np.random.default_rng(0).random((9, 7))
    assert M.imresize(img, (9, 7)) is img
    # Keys' cubic reproduces a linear ramp exactly away from the mirrored border
    ramp = np.tile(np.arange(10.0), (4, 1))
    up = M.imresize(ramp, (4, 20))
    u = np.arange(1, 21) / 2 + 0.25 - 1          # MATLAB's source coordinate, 0-based
    np.testing.assert_allclose(up[:, 3:-3], np.tile(u, (4, 1))[:, 3:-3], atol=1e-12)
    np.testing.assert_allclose(M.imresize(np.full((40, 60), 0.3), (9, 14)), 0.3, atol=1e-12)
    small = M.imresize(np.full((40, 60), 200, np.uint8), (9, 14))
    assert small.dtype == np.uint8 and (small == 200).all()


def test_prediction_is_resized_to_the_fixation_size():
    f = points((36, 64), (10, 20), (20, 40))
    big = cv2.resize(np.random.default_rng(2).random((36, 64)), (128, 72))
    assert not math.isnan(M.nss(big, f))
    assert M.frame_metrics(big, fixations=f, ground_truth=f.astype(float))["cc"] == pytest.approx(
        M.cc(M.imresize(big, (36, 64)), f))


def test_fixation_map_rounding_bounds_and_grid():
    shape = (5, 6)
    xs = np.array([2.5, 0.4, 6.0, 3.49, -1])
    ys = np.array([1.5, 2, 2, 4.51, 2])
    m = G.fixation_map(xs, ys, shape)
    # (2.5, 1.5) -> 1-based (2, 3) half away from zero; x=0.4 -> 0 and x=6 >= W dropped; (3.49, 4.51) -> (5, 3) dropped (y >= H)
    assert np.argwhere(m).tolist() == [[1, 2]]
    grid = G.fixation_map(np.array([2., 4]), np.array([1., 3]), shape, groups=[0, 0], grid=True)
    assert np.argwhere(grid).tolist() == [[0, 1], [0, 3], [2, 1], [2, 3]]


def test_density_map_of_one_point_has_dhf1k_width():
    f = np.zeros((101, 101))
    f[50, 50] = 1
    d = G.density_map(f)
    assert d.max() == 1.0 and d[50, 50] == 1.0
    half = d[50, 50:]
    # full width at half maximum 30 px: the value 15 px out is one half
    assert np.interp(0.5, half[::-1], np.arange(51)[::-1]) == pytest.approx(15.0, abs=0.05)


def test_density_map_matches_official_dhf1k_maps():
    root = shared_path("data", "dhf1k_0601_first20")
    values = []
    for k in (1, 7, 20):
        fix = cv2.imread(str(root / "fixation" / f"{k:04d}.png"), cv2.IMREAD_GRAYSCALE)
        official = cv2.imread(str(root / "maps" / f"{k:04d}.png"), cv2.IMREAD_GRAYSCALE)
        values.append(M.cc(G.density_map(fix), official))
    assert min(values) > 0.99


def test_protocol_is_mean_over_frames_not_videos():
    scores = M.ProtocolScores(metrics=("cc",))
    for v in (0.2, math.nan):
        scores.add("a", {"cc": v})
    for v in (1.0, 1.0, 0.4):
        scores.add("b", {"cc": v})
    assert scores.overall()["cc"] == pytest.approx(0.65)
    assert scores.per_video() == {"a": {"cc": pytest.approx(0.2)}, "b": {"cc": pytest.approx(0.8)}}
    assert scores.frame_count() == 5


def test_other_fixation_map_rescales_and_excludes():
    pool = [M.fixation_points(points((10, 20), (i, 2 * i))) for i in range(5)]
    other = M.other_fixation_map(pool, (20, 40), n=10, exclude=0)
    assert sorted(map(tuple, np.argwhere(other))) == [(2 * i, 4 * i) for i in range(1, 5)]


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 120), st.integers(1, 160), st.integers(1, 64), st.sampled_from([None, 7, 8, 150]),
       st.floats(1.0, 20.0), st.integers(0, 2**32 - 1))
def test_sparse_density_equals_filtering_the_whole_frame(h, w, n, kernel_size, sigma, seed):
    """A few fixated pixels are summed as separable Gaussians (fast); the result is the zero-border
    filter of the whole frame (DHF1K's imfilter), odd and even kernels alike."""
    import salfom_core.io.ground_truth as gt

    rng = np.random.default_rng(seed)
    f = np.zeros((h, w), np.uint8)
    f[rng.integers(0, h, n), rng.integers(0, w, n)] = 1
    assert int(f.sum()) <= gt.SPARSE_POINTS
    size = kernel_size or 2 * int(math.ceil(4 * sigma)) + 1
    taps = np.arange(size) - (size - 1) / 2
    g1 = np.exp(-(taps ** 2) / (2 * sigma ** 2))
    g1 /= g1.sum()
    anchor = (size + 1) // 2 - 1
    whole = cv2.sepFilter2D(f.astype(np.float64), cv2.CV_64F, g1, g1, anchor=(anchor, anchor),
                            borderType=cv2.BORDER_CONSTANT)
    whole = np.maximum(whole, 0)
    np.testing.assert_allclose(gt.density_map(f, sigma, kernel_size), whole / whole.max(), rtol=0, atol=1e-12)
