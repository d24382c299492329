import numpy as np

from nncore.layout import Layout


def test_offsets_follow_the_shapes():
    layout = Layout.from_layer_sizes([4, 3, 2])
    assert layout.shapes == ((5, 3), (4, 2))
    assert layout.offsets == (0, 15, 23)
    assert layout.size == 23


def test_pack_then_unpack_round_trips_and_unpack_gives_views(rng):
    layout = Layout.from_layer_sizes([3, 5, 4, 2])
    thetas = [rng.standard_normal(shape) for shape in layout.shapes]
    flat = layout.pack(thetas)
    views = layout.unpack(flat)
    for view, theta in zip(views, thetas, strict=True):
        np.testing.assert_array_equal(view, theta)
        assert view.base is flat or view.base.base is flat
    flat[0] = 123.0
    assert views[0][0, 0] == 123.0


def test_pack_casts_to_the_requested_dtype(rng):
    layout = Layout.from_layer_sizes([2, 1])
    flat = layout.pack([rng.standard_normal((3, 1))], np.float32)
    assert flat.dtype == np.float32 and flat.shape == (3,)
