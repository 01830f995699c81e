"""object_table against a brute-force numpy computation and napari-colocalization."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pandas as pd
import pytest
from scipy import ndimage

from streamcoloc.objects import label_objects, object_table


def _labels(shape, seed, quantile=0.75):
    rng = np.random.default_rng(seed)
    image = ndimage.gaussian_filter(rng.random(shape), 1.0)
    return ndimage.label(image > np.quantile(image, quantile),
                         ndimage.generate_binary_structure(len(shape), len(shape)))[0]


def _brute_force(labels, other, image, spacing, rounding):
    """Every column of one channel's rows, object by object, with numpy."""
    scale = np.ones(labels.ndim) if spacing is None else np.asarray(spacing, float)
    other_centroids = {j: np.argwhere(other == j).mean(axis=0)
                       for j in np.unique(other[other > 0])}
    shift = 0.5 if rounding == "nearest" else 0.0

    def at(centre, where):
        voxel = np.clip(np.floor(centre + shift).astype(int), 0, np.array(where.shape) - 1)
        return where[tuple(voxel)]

    rows = []
    for i in np.unique(labels[labels > 0]):
        inside = labels == i
        voxels = np.argwhere(inside)
        centroid = voxels.mean(axis=0)
        row = {"label": i, "n_voxels": len(voxels), "centroid": centroid,
               "other_at_centroid": at(centroid, other)}
        if image is not None:
            weights = image[inside].astype(float)
            row["intensity_sum"] = weights.sum()
            row["mass_centre"] = (weights[:, None] * voxels).sum(axis=0) / weights.sum()
            row["other_at_mass_centre"] = at(row["mass_centre"], other)
        row["other_centroids_inside"] = sum(at(c, labels) == i for c in other_centroids.values())
        shared = other[inside]
        row["overlap_voxels"] = int((shared > 0).sum())
        ids, counts = np.unique(shared[shared > 0], return_counts=True)
        row["n_overlapping"] = len(ids)
        row["best_overlap_label"] = ids[np.argmax(counts)] if len(ids) else 0  # first max
        row["best_overlap_voxels"] = counts.max() if len(ids) else 0
        if other_centroids:
            distances = {j: np.sqrt((((c - centroid) * scale) ** 2).sum())
                         for j, c in other_centroids.items()}
            row["nearest_label"] = min(distances, key=distances.get)
            row["nearest_distance"] = distances[row["nearest_label"]]
        else:
            row["nearest_label"], row["nearest_distance"] = 0, np.nan
        rows.append(row)
    return rows


def _check_channel(table: pd.DataFrame, expected: list, ndim: int, has_image: bool, spacing):
    assert table["label"].tolist() == [r["label"] for r in expected]
    for key in ("n_voxels", "other_at_centroid", "other_centroids_inside", "overlap_voxels",
                "n_overlapping", "best_overlap_label", "best_overlap_voxels",
                "nearest_label"):
        assert table[key].tolist() == [r[key] for r in expected], key
    centroids = table[[f"centroid_{a}" for a in range(ndim)]].to_numpy()
    np.testing.assert_allclose(centroids, [r["centroid"] for r in expected], rtol=1e-12)
    np.testing.assert_allclose(table["nearest_distance"], [r["nearest_distance"] for r in expected],
                               rtol=1e-12)
    np.testing.assert_array_equal(table["centroid_in_other"],
                                  [r["other_at_centroid"] > 0 for r in expected])
    np.testing.assert_allclose(table["overlap_fraction"],
                               [r["overlap_voxels"] / r["n_voxels"] for r in expected])
    if spacing is not None:
        voxel_volume = np.prod(np.broadcast_to(spacing, (ndim,)))
        np.testing.assert_allclose(table["volume"],
                                   [r["n_voxels"] * voxel_volume for r in expected])
    if has_image:
        np.testing.assert_allclose(table["intensity_sum"], [r["intensity_sum"] for r in expected],
                                   rtol=1e-12)
        mass = table[[f"mass_centre_{a}" for a in range(ndim)]].to_numpy()
        np.testing.assert_allclose(mass, [r["mass_centre"] for r in expected], rtol=1e-12)
        assert table["other_at_mass_centre"].astype(int).tolist() == [
            r["other_at_mass_centre"] for r in expected]


CASES = [  # shape, chunks, voxel size, rounding
    ((10, 16, 18), (4, 5, 7), (0.3, 0.1, 0.1), "nearest"),
    ((10, 16, 18), (10, 16, 18), None, "floor"),
    ((10, 16, 18), (3, 16, 4), 0.2, "nearest"),
    ((30, 34), (7, 9), (2.0, 1.0), "floor"),
    ((30, 34), (30, 5), None, "nearest"),
]


@pytest.mark.parametrize("shape, chunks, spacing, rounding", CASES)
def test_equals_brute_force(shape, chunks, spacing, rounding):
    a = _labels(shape, seed=len(chunks))
    b = _labels(shape, seed=10 + len(chunks)) * 7  # sparse, non-consecutive ids
    rng = np.random.default_rng(5)
    image_a = rng.integers(0, 4000, shape).astype(np.uint16)
    image_b = rng.random(shape).astype(np.float32)
    result = object_table(da.from_array(a, chunks=chunks), b, image_a,
                          da.from_array(image_b, chunks=chunks), voxel_size=spacing,
                          channel_a="red", channel_b="green", centre_rounding=rounding)
    objects = result.objects
    assert objects["channel"].tolist() == ["red"] * len(np.unique(a[a > 0])) + ["green"] * len(
        np.unique(b[b > 0]))
    for name, labels, other, image in (("red", a, b, image_a), ("green", b, a, image_b)):
        rows = objects[objects["channel"] == name].reset_index(drop=True)
        expected = _brute_force(labels, other, image, spacing, rounding)
        _check_channel(rows, expected, len(shape), True, spacing)
        summary = result.summary.set_index("channel").loc[name]
        assert summary["n_objects"] == len(expected)
        assert summary["n_centroid_in_other"] == sum(r["other_at_centroid"] > 0 for r in expected)
        assert summary["n_containing_other_centroid"] == sum(
            r["other_centroids_inside"] > 0 for r in expected)
        assert summary["n_overlapping"] == sum(r["overlap_voxels"] > 0 for r in expected)
        assert summary["overlap_voxel_fraction"] == pytest.approx(
            sum(r["overlap_voxels"] for r in expected) / sum(r["n_voxels"] for r in expected))
        distances = [r["nearest_distance"] for r in expected]
        assert summary["mean_nearest_distance"] == pytest.approx(np.mean(distances))
        assert summary["median_nearest_distance"] == pytest.approx(np.median(distances))


def test_without_images_and_with_big_ids():
    a = _labels((12, 14, 16), seed=3).astype(np.uint64)
    a[a > 0] += 2**40
    b = _labels((12, 14, 16), seed=4).astype(np.int16)
    result = object_table(da.from_array(a, chunks=(5, 5, 5)), b)
    assert "mass_centre_0" not in result.objects and "intensity_sum" not in result.objects
    rows = result.objects[result.objects["channel"] == "A"].reset_index(drop=True)
    _check_channel(rows, _brute_force(a.astype(np.int64), b, None, None, "nearest"), 3, False,
                   None)
    assert result.objects.attrs["distance_units"] == "voxels"


def test_from_label_objects():
    rng = np.random.default_rng(8)
    image = ndimage.gaussian_filter(rng.random((40, 44)), 1.5)
    other = ndimage.gaussian_filter(rng.random((40, 44)), 1.5)
    a = label_objects(da.from_array(image, chunks=(9, 10)), threshold=np.quantile(image, 0.7))
    b = label_objects(da.from_array(other, chunks=(9, 10)), threshold=np.quantile(other, 0.7))
    result = object_table(a, b, image, other)
    assert result.summary["n_objects"].tolist() == [a.n_objects, b.n_objects]
    rows = result.objects[result.objects["channel"] == "B"].reset_index(drop=True)
    _check_channel(rows, _brute_force(b.labels.compute(), a.labels.compute(), other, None,
                                      "nearest"), 2, True, None)


def test_empty_channel():
    a = _labels((20, 22), seed=2)
    result = object_table(a, np.zeros_like(a))
    summary = result.summary.set_index("channel")
    assert summary.loc["B", "n_objects"] == 0
    assert np.isnan(summary.loc["B", "fraction_overlapping"])
    assert np.isnan(summary.loc["A", "mean_nearest_distance"])
    assert (result.objects["nearest_label"] == 0).all()
    assert not result.objects["overlaps"].any()


def test_matches_napari_colocalization():
    """Same sizes, coincidence, overlap and nearest distances as the plugin
    (objects whose centroid has a .5 coordinate are skipped: the plugin
    rounds half to even, we round half up)."""
    napari_objects = pytest.importorskip("napari_colocalization._objects")
    a = _labels((24, 40, 40), seed=20, quantile=0.8)
    b = _labels((24, 40, 40), seed=21, quantile=0.8)
    rows, summary = napari_objects.object_table(a, b)
    ours = object_table(da.from_array(a, chunks=(8, 16, 16)), b).objects
    theirs = pd.DataFrame(rows)
    assert len(theirs) == len(ours) and summary["n_objects_a"] == len(np.unique(a)) - 1
    ties = ours[[c for c in ours if c.startswith("centroid_")]].apply(
        lambda c: (c % 1) == 0.5).any(axis=1).to_numpy()
    assert (~ties).sum() > len(ours) // 2
    np.testing.assert_array_equal(ours["label"], theirs["object"])
    np.testing.assert_array_equal(ours["n_voxels"], theirs["n_pixels"])
    np.testing.assert_array_equal(ours["overlaps"], theirs["overlap"])
    np.testing.assert_allclose(ours["nearest_distance"], theirs["nn_distance_px"], rtol=1e-12)
    np.testing.assert_array_equal(ours["centroid_in_other"][~ties],
                                  theirs["coincident"][~ties])


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(labels_a=np.ones((4, 5))), TypeError, "labels must be integer"),
    (dict(labels_b=np.ones((4, 6), np.int32)), ValueError, "labels_b has shape"),
    (dict(image_a=np.ones((5, 4))), ValueError, "image_a has shape"),
    (dict(image_b=np.ones((4, 5), complex)), TypeError, "image_b has dtype"),
    (dict(labels_a=-np.ones((4, 5), np.int32)), ValueError, "negative"),
    (dict(voxel_size=(1.0, 0.0)), ValueError, "voxel_size"),
    (dict(voxel_size=(1.0, 2.0, 3.0)), ValueError, "voxel_size"),
    (dict(centre_rounding="round"), ValueError, "centre_rounding"),
    (dict(labels_a=np.ones((2, 2, 2, 2), np.int32), labels_b=np.ones((2, 2, 2, 2), np.int32)),
     ValueError, "1-D to 3-D"),
])
def test_bad_input(kwargs, error, match):
    arguments = dict(labels_a=np.ones((4, 5), np.int32), labels_b=np.ones((4, 5), np.int32))
    arguments.update(kwargs)
    with pytest.raises(error, match=match):
        object_table(**arguments)
