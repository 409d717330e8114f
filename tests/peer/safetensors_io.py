"""A small, strict safetensors reader and writer over torch, written for this project as the
peer of the C# codec (UNet.Segmentation.Serialization.Safetensors). The PyPI
`safetensors` package is not installable here, so this is our own implementation of the format:

    u64 little-endian N | N bytes of UTF-8 JSON header | tensor data

The header is a JSON object: an optional "__metadata__" object of string values, then one entry
per tensor, {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, offsets relative to
the start of the data section. Data is row-major, little-endian, contiguous, without gaps.

The writer produces the same bytes as the C# writer for the same input: "__metadata__" first with
its keys in code-point order ("format": "pt" added unless given), then the tensors in code-point
order of their names, compact JSON, padded with spaces to a multiple of 8 bytes.

The reader validates as the reference Rust reader does (and rejects duplicate keys and BOOL bytes
other than 0 and 1). Every problem raises SafetensorsError naming the file.

Run with /usr/bin/python3 (Debian's python3-torch).
"""
import json
import os
import struct
import sys

import torch

__all__ = ["SafetensorsError", "save_file", "load_file", "load_metadata", "read_header",
           "DTYPES", "MAX_HEADER_LENGTH"]

MAX_HEADER_LENGTH = 100_000_000

# code -> (torch dtype, element size in bytes)
DTYPES = {
    "F64": (torch.float64, 8),
    "F32": (torch.float32, 4),
    "F16": (torch.float16, 2),
    "BF16": (torch.bfloat16, 2),
    "I64": (torch.int64, 8),
    "I32": (torch.int32, 4),
    "I16": (torch.int16, 2),
    "I8": (torch.int8, 1),
    "U8": (torch.uint8, 1),
    "BOOL": (torch.bool, 1),
}
CODES = {dtype: code for code, (dtype, _) in DTYPES.items()}
# Codes of the format this peer (like the C# binding) does not handle.
UNSUPPORTED = {"F8_E5M2", "F8_E4M3", "F8_E8M0", "F4", "F6_E2M3", "F6_E3M2", "U16", "U32", "U64",
               "C64", "E8M0"}

if sys.byteorder != "little":  # pragma: no cover - every machine we run on is little-endian
    raise RuntimeError("safetensors_io assumes a little-endian host")


class SafetensorsError(ValueError):
    """The file is not a valid safetensors file (or holds a dtype this peer does not handle)."""

    def __init__(self, path, problem, tensor=None):
        super().__init__(f"'{path}' is not a valid safetensors file: {problem}")
        self.path = str(path)
        self.problem = problem
        self.tensor = tensor


# ---- writing ----------------------------------------------------------------------------------

def _check_text(text, what):
    if not isinstance(text, str):
        raise TypeError(f"{what} must be a str, not {type(text).__name__}")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise ValueError(f"{what} {text!r} is not encodable as UTF-8: {e}") from None


def _tensor_bytes(t):
    """Row-major little-endian bytes of a tensor (any device, any layout)."""
    t = t.detach().cpu().contiguous()
    if t.numel() == 0:
        return b""
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)
    return t.numpy().tobytes()


def save_file(tensors, path, metadata=None):
    """Writes `tensors` (name -> torch.Tensor) and `metadata` (str -> str) to `path`,
    atomically (temporary file in the same folder, fsync, rename)."""
    if not isinstance(tensors, dict):
        tensors = dict(tensors)
    meta = {}
    for key, value in (metadata or {}).items():
        _check_text(key, "metadata key")
        _check_text(value, f"metadata value of {key!r}")
        meta[key] = value
    meta.setdefault("format", "pt")

    entries = []
    for name, t in tensors.items():
        _check_text(name, "tensor name")
        if name == "" or name == "__metadata__":
            raise ValueError(f"invalid tensor name {name!r}")
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"tensor {name!r} is a {type(t).__name__}, not a torch.Tensor")
        if t.dtype not in CODES:
            raise ValueError(f"tensor {name!r} has dtype {t.dtype}, which safetensors_io does not write")
        entries.append((name, t))
    entries.sort(key=lambda e: e[0])  # str order is code-point order, as the C# writer's

    header = {"__metadata__": {k: meta[k] for k in sorted(meta)}}
    offset = 0
    for name, t in entries:
        size = t.numel() * DTYPES[CODES[t.dtype]][1]
        header[name] = {"dtype": CODES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + size]}
        offset += size
    raw = json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    raw += b" " * ((8 - len(raw) % 8) % 8)

    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    temp = os.path.join(folder, f".{os.path.basename(path)}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    try:
        with open(temp, "xb") as f:
            f.write(struct.pack("<Q", len(raw)))
            f.write(raw)
            for name, t in entries:
                f.write(_tensor_bytes(t))
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except FileNotFoundError:
            pass
        raise


# ---- reading ----------------------------------------------------------------------------------

def _no_duplicates(path):
    def hook(pairs):
        seen = {}
        for key, value in pairs:
            if key in seen:
                raise SafetensorsError(path, f"duplicate key '{key}' in the header")
            seen[key] = value
        return seen
    return hook


def _reject_constant(name):
    raise ValueError(f"{name} is not a JSON number")


def _is_int(v):
    return type(v) is int  # bool is a subclass of int: excluded on purpose


def _parse_header(path, raw, data_length):
    try:
        text = raw.decode("utf-8", errors="strict")
    except UnicodeDecodeError as e:
        raise SafetensorsError(path, f"the header is not valid UTF-8 ({e})") from None
    if not text.startswith("{"):
        raise SafetensorsError(path, "the header does not start with '{'")
    try:
        doc = json.loads(text, object_pairs_hook=_no_duplicates(path), parse_constant=_reject_constant)
    except SafetensorsError:
        raise
    except (ValueError, RecursionError) as e:
        raise SafetensorsError(path, f"the header is not valid JSON ({e})") from None
    if not isinstance(doc, dict):
        raise SafetensorsError(path, "the header is not a JSON object")

    metadata = {}
    entries = []

    def unicode(s, what, tensor=None):
        try:
            s.encode("utf-8")  # JSON escapes can spell lone surrogates, which are no Unicode text
        except UnicodeEncodeError:
            raise SafetensorsError(path, f"{what} {s!r} is not valid Unicode", tensor) from None
        return s

    for name, info in doc.items():
        unicode(name, "the key")
        if name == "__metadata__":
            if info is None:
                continue
            if not isinstance(info, dict):
                raise SafetensorsError(path, "__metadata__ is not an object")
            for k, v in info.items():
                unicode(k, "the __metadata__ key")
                if not isinstance(v, str):
                    raise SafetensorsError(path, f"__metadata__ value of '{k}' is not a string")
                unicode(v, f"the __metadata__ value of '{k}'")
            metadata = dict(info)
            continue
        if not isinstance(info, dict):
            raise SafetensorsError(path, f"the entry of tensor '{name}' is not an object", name)
        for field in ("dtype", "shape", "data_offsets"):
            if field not in info:
                raise SafetensorsError(path, f"tensor '{name}' has no '{field}'", name)
        code = info["dtype"]
        if not isinstance(code, str):
            raise SafetensorsError(path, f"the dtype of tensor '{name}' is not a string", name)
        if code not in DTYPES:
            if code in UNSUPPORTED:
                raise SafetensorsError(path, f"tensor '{name}' has dtype {code}, which is not supported by this binding", name)
            raise SafetensorsError(path, f"tensor '{name}' has unknown dtype '{code}'", name)
        shape = info["shape"]
        if not isinstance(shape, list) or not all(_is_int(d) and d >= 0 for d in shape):
            raise SafetensorsError(path, f"the shape of tensor '{name}' is not an array of non-negative integers", name)
        offsets = info["data_offsets"]
        if (not isinstance(offsets, list) or len(offsets) != 2
                or not all(_is_int(o) and o >= 0 for o in offsets)):
            raise SafetensorsError(path, f"data_offsets of tensor '{name}' are not two non-negative integers", name)
        begin, end = offsets
        if begin > end:
            raise SafetensorsError(path, f"invalid offset: data_offsets of tensor '{name}' end ({end}) before they begin ({begin})", name)
        entries.append((name, code, shape, begin, end))

    entries.sort(key=lambda e: (e[3], e[4], e[0]))
    position = 0
    for name, code, shape, begin, end in entries:
        if begin != position:
            raise SafetensorsError(path, f"invalid offset: tensor '{name}' begins at {begin} but the data before it ends at {position}", name)
        need = 1
        for d in shape + [DTYPES[code][1]]:  # checked as the Rust reader does, dimension by dimension
            need *= d
            if need > 2 ** 63 - 1:
                raise SafetensorsError(path, f"the byte size of tensor '{name}' overflows", name)
        if end - begin != need:
            raise SafetensorsError(path, f"tensor '{name}' spans {end - begin} bytes but dtype {code} and shape {shape} need {need}", name)
        position = end
    if position != data_length:
        raise SafetensorsError(path, f"incomplete buffer: the tensors cover {position} bytes but the data section holds {data_length}")
    return metadata, entries


def _open_header(path, f):
    size = os.fstat(f.fileno()).st_size
    if size < 8:
        raise SafetensorsError(path, f"the file holds {size} bytes, fewer than the 8 of the header length")
    (n,) = struct.unpack("<Q", f.read(8))
    if n > MAX_HEADER_LENGTH:
        raise SafetensorsError(path, f"header length {n} exceeds the limit of {MAX_HEADER_LENGTH} bytes")
    if n > size - 8:
        raise SafetensorsError(path, f"header length {n} runs past the end of the file ({size - 8} bytes follow it)")
    raw = f.read(n)
    if len(raw) != n:
        raise OSError(f"{path}: short read of the header")
    return _parse_header(path, raw, size - 8 - n)


def read_header(path):
    """(metadata, [(name, code, shape, begin, end)] in offset order) without reading tensor data."""
    with open(path, "rb") as f:
        return _open_header(path, f)


def load_metadata(path):
    """The "__metadata__" dict of the file (validated like load_file, without reading the data)."""
    return read_header(path)[0]


def load_file(path, device="cpu"):
    """name -> torch.Tensor, in the order of the data offsets."""
    result = {}
    with open(path, "rb") as f:
        _, entries = _open_header(path, f)
        for name, code, shape, begin, end in entries:
            dtype, _ = DTYPES[code]
            data = bytearray(end - begin)
            if f.readinto(data) != len(data):
                raise OSError(f"{path}: short read of tensor '{name}'")
            if len(data) == 0:
                t = torch.empty(shape, dtype=dtype)
            else:
                if code == "BOOL" and int(torch.frombuffer(data, dtype=torch.uint8).max()) > 1:
                    raise SafetensorsError(path, f"tensor '{name}' holds a BOOL byte other than 0 or 1", name)
                t = torch.frombuffer(data, dtype=dtype).reshape(shape)
            result[name] = t.to(device)
    return result
