"""ONNX's own checker (Debian python3-onnx) as the oracle of the exported files
(src/UNet.Segmentation/Export, tests/UNet.Segmentation.Tests/Export/Int8TrainedModelTests.cs).

usage: /usr/bin/python3 onnx_checker.py FILE...
         runs onnx.checker.check_model(FILE, full_check=True) on each file (the structural checks
         and strict shape inference; a failure exits non-zero with onnx's message) and prints a
         JSON list describing each as onnx reads it: "file", "ir_version", "opset" (the default
         domain's), "metadata" (key -> value), "operators" (op type -> count)
       /usr/bin/python3 onnx_checker.py --check   (exits 0 when onnx imports)
"""
import collections
import json
import sys

import onnx


def describe(path):
    onnx.checker.check_model(path, full_check=True)
    model = onnx.load(path)
    return {
        "file": path,
        "ir_version": model.ir_version,
        "opset": next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")),
        "metadata": {p.key: p.value for p in model.metadata_props},
        "operators": dict(collections.Counter(n.op_type for n in model.graph.node)),
    }


def main(argv):
    if argv == ["--check"]:
        return 0
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    print(json.dumps([describe(path) for path in argv]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
