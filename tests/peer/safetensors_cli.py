"""Command line over safetensors_io, for the C# tests (Serialization/SafetensorsTests.cs).

usage: /usr/bin/python3 safetensors_cli.py COMMAND ARGS

  write-sample OUT     write a fixed set of tensors (every supported dtype, special values, a 0-d
                       and empty tensors, awkward names) and metadata, from torch.manual_seed(0);
                       print the summary of what was written
  dump IN              load IN and print its summary
  resave IN OUT        load IN and write it again to OUT with the same metadata
  validate IN...       print {"IN": null | "error message", ...}: which files the reader rejects

A summary is JSON: {"metadata": {..}, "tensors": [{"name", "dtype", "shape", "hex", "values"}]},
tensors in file order (write-sample: in name order). "hex" is the row-major little-endian bytes;
"values" holds integers for integer and BOOL tensors (exact), float64 numbers for floating-point
ones (exact: every supported float converts to float64 without rounding), with "nan", "inf" and
"-inf" as strings.
"""
import json
import math
import sys

import torch

from safetensors_io import SafetensorsError, CODES, load_file, load_metadata, save_file, _tensor_bytes


def values_of(t):
    t = t.detach().cpu().reshape(-1)
    if t.dtype.is_floating_point:
        out = []
        for v in t.to(torch.float64).tolist():
            if math.isnan(v):
                out.append("nan")
            elif math.isinf(v):
                out.append("inf" if v > 0 else "-inf")
            else:
                out.append(v)
        return out
    return [int(v) for v in t.tolist()]


def summary(tensors, metadata):
    return {
        "metadata": metadata,
        "tensors": [
            {"name": name, "dtype": CODES[t.dtype], "shape": list(t.shape),
             "hex": _tensor_bytes(t).hex(), "values": values_of(t)}
            for name, t in tensors.items()
        ],
    }


def sample():
    torch.manual_seed(0)
    specials = [0.0, -0.0, float("inf"), float("-inf"), float("nan"), 1.0, -2.5]
    t = {}
    t["f64"] = torch.cat([torch.randn(12, dtype=torch.float64),
                          torch.tensor(specials + [5e-324, 1.7976931348623157e308], dtype=torch.float64)]).reshape(3, 7)
    t["f32"] = torch.cat([torch.randn(2 * 3 * 4 - 9),
                          torch.tensor(specials + [1e-45, 3.4028234663852886e38])]).reshape(2, 3, 4)
    t["f16"] = torch.cat([torch.randn(5).half(),
                          torch.tensor(specials + [6e-8, 65504.0], dtype=torch.float16)])
    t["bf16"] = torch.cat([torch.randn(7).bfloat16(),
                           torch.tensor(specials + [9.2e-41, 3.3895e38], dtype=torch.bfloat16)]).reshape(4, 4)
    t["i64"] = torch.cat([torch.randint(-2 ** 62, 2 ** 62, (4,), dtype=torch.int64),
                          torch.tensor([-2 ** 63, 2 ** 63 - 1, 0, -1], dtype=torch.int64)]).reshape(2, 2, 2)
    t["i32"] = torch.cat([torch.randint(-2 ** 31, 2 ** 31 - 1, (5,), dtype=torch.int32),
                          torch.tensor([-2 ** 31, 2 ** 31 - 1], dtype=torch.int32)])
    t["i16"] = torch.cat([torch.randint(-2 ** 15, 2 ** 15 - 1, (4,), dtype=torch.int16),
                          torch.tensor([-2 ** 15, 2 ** 15 - 1], dtype=torch.int16)]).reshape(3, 2)
    t["i8"] = torch.cat([torch.randint(-128, 127, (3,), dtype=torch.int8),
                         torch.tensor([-128, 127], dtype=torch.int8)])
    t["u8"] = torch.cat([torch.randint(0, 255, (6,), dtype=torch.uint8),
                         torch.tensor([0, 255], dtype=torch.uint8)]).reshape(2, 4)
    t["bool"] = (torch.rand(2, 5) > 0.5)
    t["bool"][0, 0] = True
    t["bool"][1, 4] = False
    t["scalar"] = torch.tensor(3.25)
    t["empty"] = torch.zeros(0, 3)
    t["empty.i64"] = torch.zeros(2, 0, 4, dtype=torch.int64)
    t["encoder.0.conv1.weight"] = torch.randn(2, 1, 3, 3)
    t['odd "name" \\ with\ttab'] = torch.randn(2)
    t["ünïcödé/€"] = torch.randn(1, 2)
    t["high-\U0001F600"] = torch.randn(1)
    t["high-\uFB01"] = torch.randn(1)  # sorts before the astral name by code point, after it by UTF-16
    metadata = {"source": "python-peer", "note": 'ünï "quoted" \\ back\nslash', "seed": "0"}
    return dict(sorted(t.items())), metadata


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    command, args = argv[1], argv[2:]
    if command == "write-sample" and len(args) == 1:
        tensors, metadata = sample()
        save_file(tensors, args[0], metadata)
        print(json.dumps(summary(tensors, load_metadata(args[0]))))
        return 0
    if command == "dump" and len(args) == 1:
        print(json.dumps(summary(load_file(args[0]), load_metadata(args[0]))))
        return 0
    if command == "resave" and len(args) == 2:
        save_file(load_file(args[0]), args[1], load_metadata(args[0]))
        return 0
    if command == "validate" and args:
        verdicts = {}
        for path in args:
            try:
                load_file(path)
                verdicts[path] = None
            except SafetensorsError as e:
                verdicts[path] = str(e)
        print(json.dumps(verdicts))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
