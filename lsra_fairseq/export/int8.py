"""int8 graphs: every Linear's weight int8 per output channel, integer matrix products at run time.

ONNX Runtime's dynamic quantization does the work (``MatMulInteger``-family kernels, activations
quantized per step); it quantizes ``MatMul`` nodes with a constant weight, so the exporter's
``Gemm`` nodes (a Linear on a 2-D input) are first rewritten as ``MatMul`` + ``Add``.
"""
from pathlib import Path


def gemm_to_matmul(model) -> int:
    """Rewrites ``Gemm(x, W, b)`` with constant W (transB = 1 or 0, alpha = beta = 1) as
    ``MatMul(x, W') + b`` in place; returns how many were rewritten."""
    from onnx import helper, numpy_helper

    graph = model.graph
    initializers = {init.name: init for init in graph.initializer}
    rewritten, nodes = 0, []
    for node in graph.node:
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if (node.op_type != "Gemm" or node.input[1] not in initializers or attrs.get("transA", 0)
                or attrs.get("alpha", 1.0) != 1.0 or attrs.get("beta", 1.0) != 1.0):
            nodes.append(node)
            continue
        weight = numpy_helper.to_array(initializers[node.input[1]])
        if attrs.get("transB", 0):
            weight = weight.T
        name = f"{node.input[1]}_matmul"
        graph.initializer.append(numpy_helper.from_array(weight.copy(), name))
        product = node.output[0] + ("_product" if len(node.input) > 2 else "")
        nodes.append(helper.make_node("MatMul", [node.input[0], name], [product], name=f"{node.name}_matmul"))
        if len(node.input) > 2:
            nodes.append(helper.make_node("Add", [product, node.input[2]], [node.output[0]],
                                          name=f"{node.name}_bias"))
        rewritten += 1
    del graph.node[:]
    graph.node.extend(nodes)
    used = {name for node in graph.node for name in node.input}
    kept = [init for init in graph.initializer if init.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    return rewritten


def quantize_graph(source: Path, target: Path, reduce_range: bool = True) -> Path:
    """int8 copy of an exported graph: per-channel int8 weights for every MatMul with a constant weight."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model = onnx.load(str(source))
    gemm_to_matmul(model)
    constants = {init.name for init in model.graph.initializer}
    # Only products with a weight: attention's activation x activation products stay float.
    linears = [node.name for node in model.graph.node if node.op_type == "MatMul" and node.input[1] in constants]
    staged = Path(target).with_suffix(".fp32.onnx")
    onnx.save(model, str(staged))
    try:
        quantize_dynamic(str(staged), str(target), op_types_to_quantize=["MatMul"], nodes_to_quantize=linears,
                         per_channel=True, reduce_range=reduce_range, weight_type=QuantType.QInt8)
    finally:
        staged.unlink()
    return Path(target)
