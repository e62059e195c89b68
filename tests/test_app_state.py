"""The app's state model, without a window."""
import numpy as np

from salfom_app.state import Layer, ViewerState
from salfom_core.io.frame_clock import FrameClock


class FakeVideo:
    info = type("Info", (), {"fps": 25.0})()
    clock = FrameClock(25.0)

    def __len__(self):
        return 50

    def close(self):
        pass


def test_frame_is_clamped_and_signals_fire():
    state = ViewerState()
    seen = []
    state.frame_changed.connect(seen.append)
    state.set_video(FakeVideo(), "v.mp4")
    state.set_frame(80)
    state.step(-10)
    state.set_frame(-5)
    assert seen == [0, 49, 39, 0]
    assert state.time_s(50) == 2.0


def test_layers_replace_by_name_and_fill_active_then_compare():
    state = ViewerState()
    state.set_video(FakeVideo(), "v.mp4")
    a = state.add_layer(Layer("a", "center-bias", 50, lambda i: None))
    b = state.add_layer(Layer("b", "folder", 50, lambda i: None))
    assert (state.active, state.compare) == (a, b)
    a2 = state.add_layer(Layer("a", "center-bias", 50, lambda i: None))
    assert [l.name for l in state.layers] == ["b", "a"] and state.active is a2
    state.remove_layer(a2)
    assert state.active is b and state.compare is None


def test_layer_changes_are_observable_and_summary_drops_nan():
    layer = Layer("a", "salfom", 4, lambda i: None)
    changes = []
    layer.changed.connect(lambda l, what: changes.append(what))
    layer.set(opacity=0.3, colormap="magma")
    assert changes == [("opacity", "colormap")]
    layer.metrics["cc"] = np.array([0.2, np.nan, 0.4, np.nan])
    assert abs(layer.summary()["cc"] - 0.3) < 1e-12


def test_worst_frame_navigation():
    state = ViewerState()
    state.set_video(FakeVideo(), "v.mp4")
    layer = state.add_layer(Layer("a", "salfom", 50, lambda i: None))
    values = np.linspace(0.2, 0.9, 50)
    values[[5, 30, 44]] = [0.0, -0.1, 0.01]
    layer.metrics["cc"] = values
    state.set_frame(10)
    assert state.worst_frame(layer, "cc", +1) == 30
    assert state.worst_frame(layer, "cc", -1) == 5
    kld = -values
    layer.metrics["kld"] = kld            # for KLD the worst frames are the highest
    assert state.worst_frame(layer, "kld", +1) == 30


def test_unknown_names_are_errors_not_new_state():
    import pytest

    state = ViewerState()
    with pytest.raises(AttributeError):
        state.curve_metrc = "nss"                  # a typo must not create a field nobody observes
    with pytest.raises(AttributeError):
        state.set_view(show_fixation=False)
    with pytest.raises(ValueError):
        state.set_view_mode("side-by-side")
    with pytest.raises(ValueError):
        state.set_curve_metric("accuracy")
    layer = Layer("a", "salfom", 4, lambda i: None)
    with pytest.raises(AttributeError):
        layer.set(opacty=0.2)


def test_every_interaction_setter_emits_what_changed():
    state = ViewerState()
    state.set_video(FakeVideo(), "v.mp4")
    a = state.add_layer(Layer("a", "center-bias", 50, lambda i: None))
    b = state.add_layer(Layer("b", "folder", 50, lambda i: None))
    views, speeds = [], []
    state.view_changed.connect(views.append)
    state.speed_changed.connect(speeds.append)
    state.set_active(b, compare=a)
    state.set_compare(b)                           # b is active: they swap
    assert (state.active, state.compare) == (a, b)
    state.set_view_mode("split")
    state.set_curve_metric("nss")
    state.set_view(show_fixations=False, show_ground_truth=True)
    state.set_view_mode("split")                   # no change: no signal
    state.set_speed(2.0)
    assert views == [("active", "compare"), ("active", "compare"), ("view_mode",), ("curve_metric",),
                     ("show_fixations", "show_ground_truth")]
    assert speeds == [2.0] and state.speed == 2.0 and state.curve_metric == "nss"


def test_comparing_the_active_layer_swaps_instead_of_showing_it_twice():
    state = ViewerState()
    state.set_video(FakeVideo(), "v.mp4")
    a = state.add_layer(Layer("a", "center-bias", 50, lambda i: None))
    b = state.add_layer(Layer("b", "folder", 50, lambda i: None))
    state.set_compare(a)
    assert (state.active, state.compare) == (b, a)
    state.set_active(a)
    assert (state.active, state.compare) == (a, b)
