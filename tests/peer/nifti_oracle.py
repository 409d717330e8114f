"""nibabel (Debian python3-nibabel) as the oracle of the NIfTI reader and writer
(src/UNet.Segmentation.Core/Imaging/Nifti, tests/UNet.Segmentation.Tests/Imaging/Nifti).

usage: /usr/bin/python3 nifti_oracle.py make DIR
         writes nibabel's variants into DIR (NIfTI-1 and NIfTI-2, plain and gzipped, every voxel
         type we read, 3-D and 4-D, big-endian, scaled, qform only, sform and qform, neither,
         NIfTI-1 extensions) and prints a JSON list describing each, as `describe` does
       /usr/bin/python3 nifti_oracle.py describe FILE...
         prints a JSON list describing each file as nibabel reads it
       /usr/bin/python3 nifti_oracle.py --check   (exits 0 when nibabel imports)

A description: "file" (the name), "version" (1 or 2), "big_endian", "header" (every raw header
field by nibabel's name, read by Nifti1Header/Nifti2Header.from_fileobj without fixes: integers
as numbers, floats as strings ("NaN", "Infinity", "-Infinity" or Python's repr), text as Latin-1
strings without trailing NULs, arrays as lists), "shape", "extensions" (how many), "affine"
(nibabel's best affine), "sform" and "qform" (when their codes are above 0, else null). Beside
FILE, FILE.raw receives the voxels as stored (dataobj.get_unscaled(), little-endian, x fastest)
and FILE.f64 nibabel's scaled values (get_fdata(), float64, little-endian, x fastest).
"""
import json
import math
import os
import sys

import numpy as np
import nibabel as nib
from nibabel.openers import ImageOpener, Opener
from nibabel.volumeutils import array_to_file

DTYPES = ["u1", "i1", "i2", "u2", "i4", "u4", "i8", "f4", "f8"]


def scalar(x):
    if isinstance(x, (bytes, np.bytes_)):
        return bytes(x).decode("latin-1")
    if isinstance(x, (np.floating, float)):
        f = float(x)
        if math.isnan(f):
            return "NaN"
        if math.isinf(f):
            return "Infinity" if f > 0 else "-Infinity"
        return repr(f)
    if isinstance(x, (np.integer, int)):
        return int(x)
    raise TypeError(f"unexpected header value {x!r} ({type(x)})")


def value(v):
    v = np.asarray(v)
    return scalar(v[()]) if v.ndim == 0 else [scalar(e) for e in v]


def matrix(m):
    return None if m is None else [[scalar(e) for e in row] for row in np.asarray(m, dtype=np.float64)]


def describe(path):
    with ImageOpener(path) as f:
        first = f.read(4)
    version = 2 if 540 in (int.from_bytes(first, "little"), int.from_bytes(first, "big")) else 1
    klass = nib.Nifti2Header if version == 2 else nib.Nifti1Header
    with ImageOpener(path) as f:
        hdr = klass.from_fileobj(f, check=False)
    img = nib.load(path)
    raw = np.asanyarray(img.dataobj.get_unscaled())
    with open(path + ".raw", "wb") as f:
        f.write(raw.astype(raw.dtype.newbyteorder("<")).tobytes(order="F"))
    with open(path + ".f64", "wb") as f:
        f.write(img.get_fdata(dtype=np.float64).astype("<f8").tobytes(order="F"))
    return {
        "file": os.path.basename(path),
        "version": version,
        "big_endian": hdr.endianness == ">",
        "header": {key: value(hdr[key]) for key in hdr.keys()},
        "shape": [int(s) for s in img.shape],
        "extensions": len(hdr.extensions),
        "affine": matrix(img.affine),
        "sform": matrix(hdr.get_sform()) if int(hdr["sform_code"]) > 0 else None,
        "qform": matrix(hdr.get_qform()) if int(hdr["qform_code"]) > 0 else None,
    }


def voxels(rng, dtype, shape):
    """Random bits of every kind (NaNs, infinities, subnormals for floats) and each type's extremes."""
    dt = np.dtype(dtype)
    n = int(np.prod(shape))
    arr = np.frombuffer(rng.bytes(n * dt.itemsize), dtype=dt).copy()
    if dt.kind in "iu":
        arr[:2] = [np.iinfo(dt).min, np.iinfo(dt).max]
    else:
        arr[:4] = [np.nan, np.inf, -np.inf, -0.0]
    return arr.reshape(shape, order="F")


ROTATED = np.array([[-0.9, 0.1, 0.0, 90.0], [0.05, 1.1, -0.2, -126.0], [0.0, 0.3, 2.5, -72.0], [0, 0, 0, 1]])
# a rotation about z by 30 degrees, voxels 0.8 x 0.9 x 2.0, left-handed (qfac -1)
_c, _s = math.cos(math.pi / 6), math.sin(math.pi / 6)
FLIPPED = np.array([[_c * 0.8, -_s * 0.9, 0, -40.0], [_s * 0.8, _c * 0.9, 0, 12.5], [0, 0, -2.0, 30.0], [0, 0, 0, 1]])


def write_raw(path, hdr, data):
    """nibabel's own low-level writer: the header (and its extensions) as set, the voxels as given, unscaled."""
    offset = int(hdr.sizeof_hdr + 4 + hdr.extensions.get_sizeondisk())
    hdr.set_data_offset(offset)
    with Opener(path, "wb") as f:
        hdr.write_to(f)
        array_to_file(data, f, hdr.get_data_dtype(), offset=offset, order="F")


def make(folder):
    rng = np.random.default_rng(26)
    paths = []
    # nibabel's ordinary save, every type, both versions, plain and gzipped, 3-D and 4-D
    for version, klass in ((1, nib.Nifti1Image), (2, nib.Nifti2Image)):
        for gz in (False, True):
            for i, dt in enumerate(DTYPES):
                shape = (5, 4, 3) if i % 2 == 0 else (5, 4, 3, 2)
                img = klass(voxels(rng, dt, shape), ROTATED, dtype=np.dtype(dt))
                path = os.path.join(folder, f"nib{version}-{dt}-{len(shape)}d.nii" + (".gz" if gz else ""))
                nib.save(img, path)
                paths.append(path)

    def header(version, data, endian="<"):
        hdr = (nib.Nifti2Header if version == 2 else nib.Nifti1Header)(endianness=endian)
        hdr.set_data_shape(data.shape)
        hdr.set_data_dtype(data.dtype)
        hdr.set_xyzt_units("mm", "sec")
        hdr["descrip"] = f"nibabel variant, NIfTI-{version} {endian}".encode()
        return hdr

    def add(name, hdr, data):
        path = os.path.join(folder, name)
        write_raw(path, hdr, data)
        paths.append(path)

    # big-endian, scaled, both transforms, a time step and a display range
    d = voxels(rng, "i2", (6, 5, 4, 3)).astype(">i2")
    h = header(1, d, ">")
    h.set_qform(FLIPPED, code=1)
    h.set_sform(ROTATED, code=2)
    h.set_slope_inter(2.5, -10.0)
    h["pixdim"][4] = 2.0
    h["cal_min"], h["cal_max"], h["intent_code"], h["aux_file"] = -5.0, 300.0, 1002, b"aux.txt"
    add("nib1-be-i2-scaled.nii", h, d)
    d = voxels(rng, "f8", (4, 6, 5)).astype(">f8")
    h = header(2, d, ">")
    h.set_sform(ROTATED, code=4)
    h.set_slope_inter(0.5, 3.0)
    add("nib2-be-f8-scaled.nii.gz", h, d)
    # qform only (left-handed), sform unset
    for version, dt, gz in ((1, "u2", ""), (2, "i4", ".gz")):
        d = voxels(rng, dt, (7, 3, 4))
        h = header(version, d)
        h.set_qform(FLIPPED, code=1)
        h.set_sform(None, code=0)
        add(f"nib{version}-qform-only-{dt}.nii{gz}", h, d)
    # neither transform: pixdim scaling
    d = voxels(rng, "u1", (5, 6, 7))
    h = header(1, d)
    h.set_qform(None, code=0)
    h.set_sform(None, code=0)
    h.set_zooms((0.7, 0.8, 2.2))
    add("nib1-no-xform-u1.nii", h, d)
    # NIfTI-1 extensions before the voxels (vox_offset past 352)
    d = voxels(rng, "f4", (4, 4, 4))
    h = header(1, d)
    h.set_sform(ROTATED, code=1)
    h.extensions.append(nib.nifti1.Nifti1Extension("comment", b"an extension our reader skips"))
    add("nib1-extension-f4.nii", h, d)
    d = voxels(rng, "u4", (3, 5, 2, 2)).astype(">u4")
    h = header(1, d, ">")
    h.set_sform(ROTATED, code=2)
    h.extensions.append(nib.nifti1.Nifti1Extension("comment", b"big-endian and gzipped"))
    add("nib1-be-extension-u4.nii.gz", h, d)
    # slope 0: no scaling, whatever the intercept
    d = voxels(rng, "i1", (6, 5, 4))
    h = header(1, d)
    h["scl_slope"], h["scl_inter"] = 0.0, 5.0
    add("nib1-slope-zero-i1.nii", h, d)
    # NIfTI-2, 4-D int64 with an intercept only
    d = voxels(rng, "i8", (3, 4, 5, 2))
    h = header(2, d)
    h.set_slope_inter(1.0, 1000.0)
    add("nib2-i8-4d-inter.nii", h, d)
    return paths


def main(argv):
    if argv[1:] == ["--check"]:
        return 0
    if len(argv) == 3 and argv[1] == "make":
        paths = make(argv[2])
    elif len(argv) >= 3 and argv[1] == "describe":
        paths = argv[2:]
    else:
        print(__doc__, file=sys.stderr)
        return 2
    print(json.dumps([describe(p) for p in paths]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
