"""The ``.coloc`` accessor on xarray DataArrays and Datasets.

Importing this module registers it::

    image.coloc.pairwise("GFP", "RFP", label_mask=cells, slice_axis="z")
    image.coloc.all_pairs(channel_axis="c")
    dataset.coloc.pairwise("GFP", "RFP")          # two data variables
    dataset.coloc.all_pairs()                     # every pair of data variables

Everything is taken by name, never by position: channels are coordinate
values of the channel dim (a DataArray) or variable names (a Dataset); the
slice axis is a dim name; a label image given as a DataArray (or as the name
of a coordinate, or of a Dataset variable) is transposed to the image's dims
by name, whatever its dim order.  A numpy/dask label image has no names: its
axes follow the image's dims without the channel dim.  The other keywords are
those of :func:`streamcoloc.analyse_pairwise` and
:func:`streamcoloc.analyse_all_to_all`, with the same meaning.

The result is the functions' table indexed by (region, slice, channel_a,
channel_b) (its ``attrs`` hold the provenance), or with ``as_xarray=True`` an
:class:`xarray.Dataset` (see :func:`table_to_dataset`).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import xarray as xr

from .analysis import analyse_all_to_all, analyse_pairwise

KEY = ["region", "slice", "channel_a", "channel_b"]
#: Dim of the channels stacked from a Dataset's variables by ``all_pairs``.
STACKED_CHANNEL_DIM = "channel"


@xr.register_dataarray_accessor("coloc")
class DataArrayColoc:
    """``da.coloc``: colocalization of the channels along a channel dim."""

    def __init__(self, obj: xr.DataArray):
        self._obj = obj

    def pairwise(self, channel_a, channel_b, *, channel_axis: str = "c", label_mask=None,
                 slice_axis: str | None = None, as_xarray: bool = False, **options):
        """:func:`streamcoloc.analyse_pairwise` of the channels named
        ``channel_a`` and ``channel_b`` (values of the ``channel_axis``
        coordinate)."""
        image = self._obj
        names = _channel_names(image, channel_axis, required=True)
        a, b = (image.isel({channel_axis: _position(names, c, channel_axis)}, drop=True)
                for c in (channel_a, channel_b))
        if str(channel_a) == str(channel_b):
            raise ValueError(f"channel_a and channel_b are both {str(channel_a)!r}; name two "
                             "different channels")
        labels = _label_mask(label_mask, image, a.dims, slice_axis)
        table = _measure(analyse_pairwise, a, b, label_mask=labels,
                         slice_axis=_slice_axis(slice_axis, a.dims),
                         channel_a=str(channel_a), channel_b=str(channel_b), **options)
        return _result(table, as_xarray)

    def all_pairs(self, channel_axis: str = "c", *, channels=None, label_mask=None,
                  slice_axis: str | None = None, as_xarray: bool = False, **options):
        """:func:`streamcoloc.analyse_all_to_all` of every pair of channels
        along ``channel_axis`` (or of the ``channels`` named), in one read."""
        image = self._obj
        names = _channel_names(image, channel_axis, required=channels is not None)
        if channels is not None:
            image = image.isel({channel_axis: [_position(names, c, channel_axis)
                                               for c in channels]})
            names = [str(c) for c in channels]
        spatial = tuple(d for d in image.dims if d != channel_axis)
        options.setdefault("channel_names", names)
        labels = _label_mask(label_mask, image, spatial, slice_axis)
        table = _measure(analyse_all_to_all, image, channel_axis, label_mask=labels,
                         slice_axis=_slice_axis(slice_axis, spatial), **options)
        return _result(table, as_xarray)


@xr.register_dataset_accessor("coloc")
class DatasetColoc:
    """``ds.coloc``: colocalization of data variables (one per channel)."""

    def __init__(self, obj: xr.Dataset):
        self._obj = obj

    def pairwise(self, channel_a: str, channel_b: str, *, label_mask=None,
                 slice_axis: str | None = None, as_xarray: bool = False, **options):
        """:func:`streamcoloc.analyse_pairwise` of the variables named
        ``channel_a`` and ``channel_b``."""
        a, b = self._variables([channel_a, channel_b])
        labels = _label_mask(label_mask, self._obj, a.dims, slice_axis)
        table = _measure(analyse_pairwise, a, b, label_mask=labels,
                         slice_axis=_slice_axis(slice_axis, a.dims),
                         channel_a=str(channel_a), channel_b=str(channel_b), **options)
        return _result(table, as_xarray)

    def all_pairs(self, channels=None, *, label_mask=None, slice_axis: str | None = None,
                  as_xarray: bool = False, **options):
        """:func:`streamcoloc.analyse_all_to_all` of every pair of the
        variables named in ``channels`` (default: every data variable but
        the one named by ``label_mask``), in one read."""
        if channels is None:
            label_variable = label_mask if isinstance(label_mask, str) else None
            channels = [str(v) for v in self._obj.data_vars if v != label_variable]
        variables = self._variables(channels)
        if STACKED_CHANNEL_DIM in variables[0].dims:
            raise ValueError(f"the variables already have a dim {STACKED_CHANNEL_DIM!r}; "
                             "rename it to stack the variables as channels")
        image = xr.concat(variables, dim=STACKED_CHANNEL_DIM, coords="minimal",
                          compat="override", join="exact")
        spatial = variables[0].dims
        options.setdefault("channel_names", [str(c) for c in channels])
        labels = _label_mask(label_mask, self._obj, spatial, slice_axis)
        table = _measure(analyse_all_to_all, image, STACKED_CHANNEL_DIM, label_mask=labels,
                         slice_axis=_slice_axis(slice_axis, spatial), **options)
        return _result(table, as_xarray)

    def _variables(self, names) -> list[xr.DataArray]:
        """The named data variables, transposed to the first one's dims."""
        names = list(names)
        known = [str(v) for v in self._obj.data_vars]
        unknown = [n for n in names if str(n) not in known]
        if unknown:
            raise ValueError(f"unknown channel variable(s) {unknown}; the Dataset has data "
                             f"variables {known}")
        if len(set(map(str, names))) != len(names):
            raise ValueError(f"channel variables {names} name one variable twice")
        if len(names) < 2:
            raise ValueError(f"at least 2 channel variables are needed, got {names}")
        first = self._obj[names[0]]
        variables = [first]
        for name in names[1:]:
            variable = self._obj[name]
            if set(variable.dims) != set(first.dims):
                raise ValueError(f"variable {name!r} has dims {variable.dims}, but "
                                 f"{names[0]!r} has {first.dims}")
            variables.append(variable.transpose(*first.dims))
        return variables


def table_to_dataset(table: pd.DataFrame) -> xr.Dataset:
    """A results table as a Dataset with dims (region, slice, pair).

    Every column but the key (region, slice, channel_a, channel_b) becomes a
    variable.  ``pair`` is ``"channel_a|channel_b"`` (``channel_a`` and
    ``channel_b`` are coordinates along it).  A (region, slice) without any
    voxel has no row in the table: its counts (integer columns) are 0 and its
    metrics NaN.  A region or slice that is NA in the table (no label image,
    no slice axis) is a dim of length 1 whose coordinate is None.  ``attrs``
    are the table's.
    """
    regions, region_index = _key_coordinate(table["region"], "region")
    slices, slice_index = _key_coordinate(table["slice"], "slice")
    pair = (table["channel_a"].astype(str) + "|" + table["channel_b"].astype(str)).to_numpy()
    pairs = pd.unique(pair)
    pair_index = pd.Index(pairs).get_indexer(pair)
    flat = np.ravel_multi_index((region_index, slice_index, pair_index),
                                (len(regions), len(slices), len(pairs)))
    if np.unique(flat).size != len(table):
        raise ValueError("the table has two rows for one (region, slice, channel_a, channel_b)")
    _, first = np.unique(pair_index, return_index=True)  # a row of each pair
    shape = (len(regions), len(slices), len(pairs))
    variables = {}
    for column in table.columns:
        if column in KEY:
            continue
        values = table[column]
        if pd.api.types.is_integer_dtype(values) and not values.isna().any():
            grid = np.zeros(shape, dtype=np.int64)
            values = values.to_numpy(dtype=np.int64)
        else:
            grid = np.full(shape, np.nan)
            values = values.to_numpy(dtype=np.float64, na_value=np.nan)
        grid.reshape(-1)[flat] = values
        variables[column] = (("region", "slice", "pair"), grid)
    coords = {"region": regions, "slice": slices, "pair": pairs,
              "channel_a": ("pair", table["channel_a"].to_numpy()[first]),
              "channel_b": ("pair", table["channel_b"].to_numpy()[first])}
    return xr.Dataset(variables, coords=coords, attrs=dict(table.attrs))


# ---------------------------------------------------------------- helpers

def _channel_names(image: xr.DataArray, channel_axis: str, required: bool) -> list[str] | None:
    if not isinstance(channel_axis, str):
        raise TypeError(f"channel_axis must be a dim name, got {channel_axis!r}")
    if channel_axis not in image.dims:
        raise ValueError(f"the image has no channel dim {channel_axis!r}; its dims are "
                         f"{image.dims} (pass channel_axis=...)")
    if channel_axis not in image.coords:
        if required:
            raise ValueError(f"the channel dim {channel_axis!r} has no coordinate, so channels "
                             f"cannot be named; add one: da.assign_coords({channel_axis}=[...])")
        return None
    return [str(v) for v in image.coords[channel_axis].values]


def _position(names: list[str], channel, channel_axis: str) -> int:
    matches = [i for i, name in enumerate(names) if name == str(channel)]
    if not matches:
        raise ValueError(f"unknown channel {str(channel)!r}; the {channel_axis!r} dim has "
                         f"channels {names}")
    if len(matches) > 1:
        raise ValueError(f"channel {str(channel)!r} appears {len(matches)} times along "
                         f"{channel_axis!r} ({names}); channel names must be unique")
    return matches[0]


def _slice_axis(slice_axis, spatial_dims) -> str | None:
    if slice_axis is None:
        return None
    if not isinstance(slice_axis, str):
        raise TypeError(f"slice_axis must be a dim name with the accessor, got {slice_axis!r}")
    if slice_axis not in spatial_dims:
        raise ValueError(f"slice_axis {slice_axis!r} is not a dim of the image {spatial_dims}")
    return slice_axis


def _label_mask(label_mask, obj, spatial_dims, slice_axis):
    """A DataArray label image (or the name of a coordinate or Dataset
    variable) transposed by name to the image's spatial dims or, with a
    slice axis, to those of one plane; anything else is passed on as is."""
    if label_mask is None:
        return None
    if isinstance(label_mask, str):
        known = list(obj.coords) + (list(obj.data_vars) if isinstance(obj, xr.Dataset) else [])
        if label_mask not in known:
            raise ValueError(f"label_mask {label_mask!r} is not a coordinate"
                             + (" or variable" if isinstance(obj, xr.Dataset) else "")
                             + f" of the input; it has {[str(k) for k in known]}")
        label_mask = obj[label_mask]
    if not isinstance(label_mask, xr.DataArray):
        return label_mask
    plane = tuple(d for d in spatial_dims if d != slice_axis)
    for dims in (tuple(spatial_dims), plane):
        if set(label_mask.dims) == set(dims):
            return label_mask.transpose(*dims)
    expected = f"{tuple(spatial_dims)}" + (f" or one plane {plane}" if slice_axis else "")
    raise ValueError(f"label_mask has dims {label_mask.dims}; expected the image's dims "
                     f"{expected} in any order")


def _key_coordinate(column: pd.Series, name: str):
    """(coordinate values, row positions) of a key column: None for an
    all-NA column, else its sorted distinct values."""
    missing = column.isna().to_numpy()
    if missing.all():
        return np.array([None], dtype=object), np.zeros(len(column), dtype=np.int64)
    if missing.any():
        raise ValueError(f"the table's {name} column is NA in some rows only")
    values = column.to_numpy(dtype=np.int64)
    distinct = np.unique(values)
    return distinct, np.searchsorted(distinct, values)


def _measure(function, *args, **kwargs) -> pd.DataFrame:
    """``function(*args, **kwargs)``, its warnings re-issued at the line
    that called the accessor (not inside this module)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = function(*args, **kwargs)
    for warning in caught:
        warnings.warn(warning.message, warning.category, stacklevel=3)
    return table


def _result(table: pd.DataFrame, as_xarray: bool):
    if as_xarray:
        return table_to_dataset(table)
    indexed = table.set_index(KEY)
    indexed.attrs = dict(table.attrs)
    return indexed
