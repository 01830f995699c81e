import numpy as np
import pytest

roifile = pytest.importorskip("roifile")

from streamcoloc.readers.rois import rois_to_labels


def _roi(kind, left, top, right, bottom, name):
    return roifile.ImagejRoi(roitype=getattr(roifile.ROI_TYPE, kind), left=left, top=top,
                             right=right, bottom=bottom, name=name)


def test_rectangle_selects_exactly_its_pixels(tmp_path):
    _roi("RECT", 2, 4, 22, 14, "box").tofile(tmp_path / "box.roi")
    labels, names = rois_to_labels(tmp_path / "box.roi", (20, 30))
    expected = np.zeros((20, 30), np.int32)
    expected[4:14, 2:22] = 1
    np.testing.assert_array_equal(labels, expected)
    assert names == ["box"]


def test_oval_area_close_to_ellipse(tmp_path):
    _roi("OVAL", 10, 10, 50, 30, "cell").tofile(tmp_path / "oval.roi")
    labels, _ = rois_to_labels(tmp_path / "oval.roi", (40, 60))
    area = np.pi * 20 * 10
    assert abs((labels == 1).sum() - area) < 0.03 * area
    assert labels[20, 30] == 1 and labels[10, 10] == 0


def test_zip_of_rois_numbered_in_file_order_and_overlap_warned(tmp_path):
    rois = [_roi("RECT", 0, 0, 5, 5, "a"), _roi("RECT", 3, 3, 8, 8, "b")]
    roifile.roiwrite(tmp_path / "set.zip", rois)
    with pytest.warns(UserWarning, match="overlaps"):
        labels, names = rois_to_labels(tmp_path / "set.zip", (10, 10))
    assert names == ["a", "b"]
    assert labels[0, 0] == 1 and labels[4, 4] == 2 and labels[7, 7] == 2 and labels[9, 9] == 0


def test_line_roi_refused(tmp_path):
    line = roifile.ImagejRoi.frompoints([[1, 1], [8, 8]], name="cut")
    line.roitype = roifile.ROI_TYPE.LINE
    line.tofile(tmp_path / "line.roi")
    with pytest.raises(ValueError, match="only area ROIs"):
        rois_to_labels(tmp_path / "line.roi", (10, 10))


def test_missing_file_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such ROI file"):
        rois_to_labels(tmp_path / "absent.roi", (10, 10))
