"""Export of ``lite_transformer`` models for devices: ONNX graphs + a numpy/ONNX Runtime decoding loop."""
