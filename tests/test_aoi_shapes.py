"""AOI shapes and keyframes: the hand-checkable cases of AOI_SPEC.md, and the editing API."""
import numpy as np
import pytest

from salfom_core.aoi import AOI, AoiError, AoiSet, Keyframe, contains, full_mask, region


def rect_aoi():
    # two keyframes 10 frames apart: every vertex moves (+20, +20) and (+40, +20)
    return AOI("r", "rect", [Keyframe(1, True, ((10, 20), (30, 40))), Keyframe(11, True, ((30, 40), (70, 60)))])


def test_rectangle_with_two_keyframes_at_its_midpoint_frame():
    aoi = rect_aoi()
    # frame 6 is halfway from 1 to 11: v = v_a + 5/10 (v_b - v_a)
    assert aoi.vertices_at(6) == ((20, 30), (50, 50))
    assert aoi.vertices_at(1) == ((10, 20), (30, 40)) and aoi.vertices_at(11) == ((30, 40), (70, 60))
    assert aoi.vertices_at(500) == ((30, 40), (70, 60))          # the last keyframe holds to the end
    # x0 <= x <= x1, y0 <= y <= y1, edges included
    points = [20, 50, 50.01, 35, 35], [30, 50, 50, 29.99, 40]
    assert aoi.contains(6, *points).tolist() == [True, True, False, False, True]
    assert not aoi.contains(1, 50, 50)
    # pixels: the 0-based pixel [i, j] stands at (j + 1, i + 1): columns 19..49, rows 29..49
    mask = full_mask("rect", aoi.vertices_at(6), (100, 80))
    assert mask.sum() == 31 * 21
    rows, cols = np.nonzero(mask)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (29, 49, 19, 49)


def test_an_inactive_keyframe_switches_the_aoi_off_until_the_next_active_one():
    a, b, hidden = ((0, 0), (10, 10)), ((50, 50), (60, 60)), ((100, 100), (110, 110))
    aoi = AOI("x", "rect", [Keyframe(3, True, a), Keyframe(5, False, hidden), Keyframe(9, True, b)])
    # off before the first keyframe, on at 3-4, off at 5-8, on from 9 to the end
    assert aoi.active_frames(12).tolist() == [False] * 2 + [True] * 2 + [False] * 4 + [True] * 4
    assert [aoi.is_active(f) for f in (2, 3, 5, 8, 9)] == [False, True, False, False, True]
    assert aoi.vertices_at(7) is None and not aoi.contains(7, 5, 5)
    # no interpolation across the off stretch: frame 4 keeps keyframe 3's shape
    assert aoi.vertices_at(4) == a
    assert aoi.first_active_frame() == 3
    # where it is off, the app still knows the shape it last had (to draw it dimmed)
    assert aoi.last_vertices(7) == hidden and aoi.last_vertices(2) is None


def test_ellipse_boundary_point_is_inside():
    # bounding box (0, 0)-(20, 10): centre (10, 5), rx 10, ry 5; (16, 9): 0.6^2 + 0.8^2 = 1
    box = ((0, 0), (20, 10))
    assert contains("ellipse", box, 16, 9)
    assert not contains("ellipse", box, 16, 9.01)
    assert contains("ellipse", box, [10, 0, 20, 10], [5, 5, 5, 0]).all()     # centre and the four extremes
    assert not contains("ellipse", box, 0.5, 0.5)                             # a corner of the box
    # pixels of the box (1, 1)-(5, 3): centre (3, 2), rx 2, ry 1; the whole middle row (x 1..5)
    # and the centre column's top and bottom (x = 3): 7 pixels
    mask = full_mask("ellipse", ((1, 1), (5, 3)), (8, 6))
    expected = np.zeros((6, 8), bool)
    expected[1, 0:5] = True
    expected[0, 2] = expected[2, 2] = True
    np.testing.assert_array_equal(mask, expected)


def test_polygon_even_odd_rule():
    # a square with a V-shaped notch cut from its bottom edge down to (5, 5)
    notched = ((0, 0), (10, 0), (10, 10), (5, 5), (0, 10))
    assert contains("polygon", notched, [5, 5, 1, 9, 11], [3, 8, 8, 8, 5]).tolist() == [True, False, True, True, False]
    # a pentagram drawn in one stroke: its centre is crossed twice, so outside by the even-odd rule
    angles = np.deg2rad(-90 + 72 * np.array([0, 2, 4, 1, 3]))
    star = np.c_[10 * np.cos(angles), 10 * np.sin(angles)]
    assert not contains("polygon", star, 0, 0)
    assert contains("polygon", star, 0, -8)        # inside the top point
    # pixels: the triangle (1, 1), (5, 1), (1, 5) with its hypotenuse x + y = 6; strictly inside
    # points (x + y < 6, x > 1, y > 1) are (2, 2), (2, 3), (3, 2)
    mask = full_mask("polygon", ((1, 1), (5, 1), (1, 5)), (6, 6))
    assert {(2, 2), (2, 3), (3, 2)} <= {(j + 1, i + 1) for i, j in zip(*np.nonzero(mask))}
    assert not mask[4, 4] and not mask[3, 3]      # (5, 5) and (4, 4): beyond the hypotenuse


def test_region_is_clipped_to_the_picture():
    reg = region("rect", ((-20, -20), (3, 2)), (10, 8))
    assert (reg.r0, reg.c0) == (0, 0) and reg.pixels == 3 * 2      # points x 1..3, y 1..2
    outside = region("rect", ((20, 20), (30, 30)), (10, 8))
    assert outside.pixels == 0 and outside.sum(np.ones((8, 10))) == 0


def test_aoi_set_edits():
    aois = AoiSet("clip.mp4")
    first = aois.add("rect", 5, [(1, 1), (10, 10)])
    second = aois.add("polygon", 5, [(0, 0), (4, 0), (0, 4)])
    assert (first.name, second.name) == ("AOI", "AOI 2") and first.color != second.color
    assert first.keyframes == [Keyframe(5, True, ((1, 1), (10, 10)))]
    # moving at another frame makes a keyframe there; the frames between interpolate
    first.move(15, 10, 0)
    assert [k.frame for k in first.keyframes] == [5, 15] and first.vertices_at(10) == ((6, 1), (15, 10))
    first.hide_from(20)
    assert not first.is_active(25) and first.keyframes[-1] == Keyframe(20, False, ((11, 1), (20, 10)))
    first.show_from(30)
    assert first.vertices_at(31) == ((11, 1), (20, 10))
    snapshot = aois.snapshot()
    # refused edits leave everything as it was, with one line naming the AOI
    with pytest.raises(AoiError, match="'AOI 2': two AOIs"):
        aois.rename("AOI", "AOI 2")
    with pytest.raises(AoiError, match="not #rrggbb"):
        aois.recolor("AOI", "red")
    with pytest.raises(AoiError, match=r"AOI 'AOI 2': the vertex count changes .*3 at frame 5, 4 at frame 9"):
        second.set_keyframe(9, [(0, 0), (4, 0), (4, 4), (0, 4)])
    with pytest.raises(AoiError, match="too few vertices"):
        second.set_keyframe(5, [(0, 0), (4, 0)])
    assert aois.snapshot() == snapshot
    aois.rename("AOI", "logo")
    aois.recolor("logo", "#00AA00")
    assert aois.get("logo").color == "#00aa00"
    aois.remove("AOI 2")
    assert aois.names == ["logo"]
    aois.restore(snapshot)
    assert aois.names == ["AOI", "AOI 2"] and aois.snapshot() == snapshot


def test_replace_keyframes_and_remove_keyframe():
    aoi = rect_aoi()
    aoi.set_keyframe(20, ((0, 0), (1, 1)))
    aoi.replace_keyframes([Keyframe(12, True, ((1, 1), (2, 2)))], 2, 20)
    assert [k.frame for k in aoi.keyframes] == [1, 12]
    aoi.remove_keyframe(12)
    with pytest.raises(AoiError, match="no keyframe at frame 12"):
        aoi.remove_keyframe(12)
    with pytest.raises(AoiError, match="no keyframes"):
        aoi.remove_keyframe(1)
    assert [k.frame for k in aoi.keyframes] == [1]


def test_an_aoi_covering_no_pixel_of_the_picture_in_any_frame_is_outside_it():
    """On a 10 x 8 picture the pixel points run over x 1..10, y 1..8 (pixel [i, j] at (j + 1, i + 1))."""
    size, n = (10, 8), 20
    screen = AOI("s", "rect", [Keyframe(1, True, ((300, 100), (500, 300)))])
    assert screen.outside_picture(n, size) and screen.extent() == (300, 500, 100, 300)
    # x 0..0.9 lies on the picture's left edge, yet left of the first pixel point (x = 1): no pixel
    sliver = AOI("e", "rect", [Keyframe(1, True, ((0, 0), (0.9, 8)))])
    assert sliver.outside_picture(n, size)
    assert not AOI("p", "rect", [Keyframe(1, True, ((0, 0), (1, 1)))]).outside_picture(n, size)   # pixel [0, 0]
    # within the picture's box, yet between the pixel rows y = 3 and y = 4 in every frame
    between = AOI("b", "rect", [Keyframe(1, True, ((2, 3.2), (4, 3.8))), Keyframe(21, True, ((6, 3.2), (9, 3.8)))])
    assert between.outside_picture(n, size)
    # both keyframes off the picture, left and right of it: at frame 11 it stands at x 5..6, inside
    crossing = AOI("c", "rect", [Keyframe(1, True, ((-15, 2), (-14, 3))), Keyframe(21, True, ((25, 2), (26, 3)))])
    assert crossing.vertices_at(11) == ((5, 2), (6, 3)) and not crossing.outside_picture(n, size)
    # inside, but on only once the video has ended (frame 30 of 20): never on, so not "outside"
    late = AOI("l", "rect", [Keyframe(30, True, ((2, 2), (5, 5)))])
    assert not late.outside_picture(n, size)
    # inside while on, then moved off the picture while hidden: some frames cover pixels
    hidden_off = AOI("h", "rect", [Keyframe(1, True, ((2, 2), (5, 5))), Keyframe(5, False, ((200, 200), (300, 300)))])
    assert not hidden_off.outside_picture(n, size)
