"""How a loaded model runs: transformers as is, the static KV cache (and the draft's CUDA-
graphed loop) or ONNX Runtime. Engines know nothing of decoding; decoders call every engine's
model the same way (`model(input_ids=…, cache=…, use_cache=True, logits_to_keep=…)`)."""
