"""athena_train: Isaac Lab 3.0 tasks, rsl-rl training and ONNX export for athena."""
