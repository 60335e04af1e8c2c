"""check_model.py - the onnx package's checker and shape inference on a model
file (tests/test_onnx_export.c runs it with Debian's /usr/bin/python3 and
python3-onnx).

    /usr/bin/python3 check_model.py MODEL.onnx [MODEL2.onnx ...]

For each model "ok <path> <opset> <nodes> <producer> <version> ir<N>
<input>:<dims>;..." when check_model(full_check=True)
passes and strict shape inference agrees with the output shape the graph
declares, "FAIL <path>: <error>" otherwise; exit 1 when any failed."""
import sys

import onnx
from onnx import shape_inference


def dims(vi):
    return [d.dim_value if d.HasField("dim_value") else d.dim_param for d in vi.type.tensor_type.shape.dim]


def main(path):
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    inferred = shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    declared = {o.name: dims(o) for o in model.graph.output}
    for o in inferred.graph.output:
        if dims(o) != declared[o.name]:
            raise ValueError(f"output {o.name}: inferred {dims(o)}, declared {declared[o.name]}")
    ins = ";".join(f"{i.name}:{','.join(map(str, dims(i)))}" for i in model.graph.input)
    print(f"ok {path} {model.opset_import[0].version} {len(model.graph.node)} {model.producer_name} "
          f"{model.producer_version} ir{model.ir_version} {ins}")


if __name__ == "__main__":
    failed = 0
    for p in sys.argv[1:]:
        try:
            main(p)
        except Exception as e:  # noqa: BLE001 - any failure is the answer
            print(f"FAIL {p}: {e}")
            failed += 1
    sys.exit(1 if failed else 0)
