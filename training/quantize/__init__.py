"""int8 versions of the companion's ONNX models (ONNX Runtime static quantization), calibrated
on what each model sees in real looks at trainval street photos, never on the test split.

``python -m training.quantize`` writes a complete models folder (quantized files where asked,
the others linked) that ``SHOP_THE_LOOK_MODELS`` or ``benchmarks.bench_look --models`` can use
as it is, so the evaluation scripts and the benchmark judge it before anything is installed;
``--install`` then copies the chosen files into models/ and updates their manifests (sha256,
bytes, provenance; "extra" untouched). Never imported by companion/.
"""
