"""The coarse-to-fine plan: hand-computed orders and properties over many lengths and playheads."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salfom_core.inference.plan import LEVELS, coarse_to_fine, grid, levels, outward, target_batches


def test_levels_by_hand():
    # 40 frames, playhead 20: every 16th frame and the last, then 8th, 4th, 2nd, the rest
    got = [lv.tolist() for lv in levels(40, 20)]
    assert got[0] == [16, 32, 39, 0]              # distances 4, 12, 19, 20
    assert got[1] == [24, 8]                      # 4, 12
    assert got[2] == [20, 28, 12, 36, 4]          # 0, 8 (later first on a tie), 8, 16, 16
    assert got[3] == [22, 18, 26, 14, 30, 10, 34, 6, 38, 2]
    assert got[4] == [21, 19, 23, 17, 25, 15, 27, 13, 29, 11, 31, 9, 33, 7, 35, 5, 37, 3, 1]


def test_grid_is_every_kth_frame_and_the_last():
    assert grid(23, 8).tolist() == [0, 8, 16, 22]
    assert grid(17, 8).tolist() == [0, 8, 16]     # the last is on the grid already
    assert grid(5, 1).tolist() == [0, 1, 2, 3, 4]
    assert grid(0, 4).tolist() == []


def test_bad_strides_are_refused():
    with pytest.raises(ValueError, match="strictly decreasing"):
        levels(10, 0, (4, 8))
    with pytest.raises(ValueError, match="order must be"):
        target_batches(np.arange(5), 5, 0, 2, "random")


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 300).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n - 1))))
def test_every_frame_exactly_once_levels_in_order_outward(case):
    n, playhead = case
    plan_levels = levels(n, playhead)
    order = coarse_to_fine(n, playhead)
    assert sorted(order.tolist()) == list(range(n))             # every frame exactly once
    assert np.array_equal(order, np.concatenate(plan_levels))
    # level k: on the grid of its stride and of no coarser one (the last frame: first level)
    for k, (stride, level) in enumerate(zip(LEVELS, plan_levels)):
        for f in level.tolist():
            if k == 0:
                assert f % stride == 0 or f == n - 1
            else:
                assert f % stride == 0 and f % LEVELS[k - 1] != 0 and f != n - 1
        distance = np.abs(level - playhead)
        assert np.all(np.diff(distance) >= 0)                   # outward from the playhead
        ties = (np.diff(distance) == 0)
        assert np.all(level[:-1][ties] > level[1:][ties])       # the later frame first on a tie
    assert set(range(0, n, 16)) | {n - 1} == set(plan_levels[0].tolist())


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 200).flatmap(lambda n: st.tuples(
    st.just(n), st.integers(0, n - 1), st.integers(1, 9),
    st.lists(st.booleans(), min_size=n, max_size=n))))
def test_engine_groups_follow_the_plan(case):
    n, playhead, batch, missing_mask = case
    missing = np.flatnonzero(missing_mask)
    groups = target_batches(missing, n, playhead, batch, "coarse-to-fine")
    flat = np.concatenate(groups) if groups else np.zeros(0, int)
    assert sorted(flat.tolist()) == missing.tolist()            # each missing frame once, nothing else
    level_of = {f: k for k, lv in enumerate(levels(n, playhead)) for f in lv.tolist()}
    group_levels = []
    for g in groups:
        assert 1 <= len(g) <= batch and np.all(np.diff(g) > 0)  # a sorted batch
        assert len({level_of[f] for f in g.tolist()}) == 1       # within one level
        assert np.all(g >= playhead) or np.all(g < playhead)     # on one side of the playhead
        group_levels.append(level_of[int(g[0])])
    assert group_levels == sorted(group_levels)                  # levels in order
    # on each side, within a level, groups move away from the playhead
    for k in set(group_levels):
        after = [g for g, lv in zip(groups, group_levels) if lv == k and g[0] >= playhead]
        before = [g for g, lv in zip(groups, group_levels) if lv == k and g[0] < playhead]
        assert all(a[-1] < b[0] for a, b in zip(after, after[1:]))
        assert all(a[0] > b[-1] for a, b in zip(before, before[1:]))


def test_sequential_groups_are_the_old_order():
    groups = target_batches(np.array([1, 2, 5, 7, 9]), 10, 5, 2, "sequential")
    assert [g.tolist() for g in groups] == [[5, 7, 9], [1, 2]]


def test_outward_breaks_ties_forward():
    assert outward(np.array([0, 2, 4, 6]), 3).tolist() == [4, 2, 6, 0]
