"""Command-line inputs shared by the subcommands: numbers, channels, the
two channels of a pair (one image with a channel axis 'c', or two
single-channel images), masks."""

from __future__ import annotations

from pathlib import Path

from ..readers import open_image


def numbers(text: str | None, n: int | None, what: str, kind=float) -> list | None:
    """Comma-separated numbers (``n`` of them unless None); None stays None."""
    if text is None:
        return None
    try:
        values = [kind(v) for v in text.split(",")]
    except ValueError:
        raise ValueError(f"{what} needs comma-separated numbers, got {text!r}") from None
    if n is not None and len(values) != n:
        raise ValueError(f"{what} needs {n} comma-separated numbers, got {text!r}")
    return values


def names(text: str | None) -> list[str] | None:
    """Comma-separated names, stripped; None stays None."""
    return None if text is None else [v.strip() for v in text.split(",")]


def channel_labels(image) -> list[str] | None:
    """The 'c' coordinate's labels as strings, None without one."""
    return [str(v) for v in image.coords["c"].values] if "c" in image.coords else None


def channel_index(image, channel: str) -> int:
    """A channel of ``image`` by its 'c' coordinate label or its index."""
    labels = channel_labels(image) or []
    if channel in labels:
        return labels.index(channel)
    if channel.isdigit() and int(channel) < image.sizes["c"]:
        return int(channel)
    raise ValueError(f"unknown channel {channel!r}; the image has "
                     f"{labels or list(range(image.sizes['c']))}")


def single_channel(image, path):
    """A single-channel image without its channel axis."""
    if "c" in image.dims:
        if image.sizes["c"] != 1:
            raise ValueError(f"{path} has {image.sizes['c']} channels; expected one (with two "
                             "paths, or as a mask or label image)")
        image = image.isel(c=0, drop=True)
    return image


def add_pair_arguments(parser) -> None:
    """``path [path_b] --channels --level`` of a command on two channels."""
    parser.add_argument("path", help="image: OME-Zarr, Zarr or (OME-)TIFF; with one path it "
                                     "must have a channel axis 'c'")
    parser.add_argument("path_b", nargs="?", help="second single-channel image (channel B)")
    parser.add_argument("--channels", help="two channel names or indices, comma-separated "
                                           "(default: the first two); with two paths, the "
                                           "names to report (default: file names)")
    parser.add_argument("--level", type=int, default=0, help="OME-Zarr multiscale level (0)")


def open_pair(args):
    """(a, b, names, image): the two single-channel images of a pair command,
    their names, and the (first) image opened (for its metadata)."""
    chosen = names(args.channels)
    if chosen is not None and len(chosen) != 2:
        raise ValueError(f"--channels needs two names or indices, got {args.channels!r}")
    image = open_image(args.path, level=args.level)
    if args.path_b:
        a = single_channel(image, args.path)
        b = single_channel(open_image(args.path_b, level=args.level), args.path_b)
        return a, b, chosen or [Path(args.path).stem, Path(args.path_b).stem], image
    if "c" not in image.dims:
        raise ValueError(f"{args.path} has no channel axis 'c' (dims {image.dims}); give two "
                         "paths")
    picked = [channel_index(image, c) for c in (chosen or ["0", "1"])]
    labels = channel_labels(image)
    a, b = (image.isel(c=i, drop=True) for i in picked)
    return a, b, [labels[i] if labels else f"c{i}" for i in picked], image


def open_pair_and_mask(args):
    """(a, b, names, mask, given): :func:`open_pair`, the ``--mask`` image,
    and the inputs as recorded in run.json."""
    a, b, names, image = open_pair(args)
    mask = open_single(args.mask, args.level)
    given = {"paths": [str(args.path)] + ([str(args.path_b)] if args.path_b else []),
             "mask": args.mask, "level": args.level, "dims": list(a.dims),
             "voxel_size": image.attrs.get("voxel_size")}
    return a, b, names, mask, given


def open_single(path, level: int):
    """A single-channel image (mask, labels) from a path, or None."""
    return None if path is None else single_channel(open_image(path, level=level), path)
