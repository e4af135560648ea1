"""`tandem doctor`: what this machine offers, which models would be used, and why."""

from __future__ import annotations

import importlib.util
import platform


def _line(label: str, value: str) -> None:
    print(f"{label:<18} {value}")


def run_doctor(settings: dict) -> int:
    import torch

    from models.devices import resolve_placement
    from models.embedded import resolve_model_dirs
    from models.errors import ModelError
    from models.loading import check_checkpoint_dir

    _line("python", platform.python_version())
    _line("torch", f"{torch.__version__} (CUDA {torch.version.cuda}, ROCm {torch.version.hip})")
    _line("cuda devices", ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
          or "none")
    mps = getattr(torch.backends, "mps", None)
    _line("mps", "available" if mps is not None and mps.is_available() else "not available")
    from models.acceleration import planned_engine
    from models.errors import DeviceError
    from models.onnx_backend import NPU_PROVIDER, available_providers, choose_providers

    providers = available_providers()
    if providers:
        import onnxruntime
        _line("onnxruntime", f"{onnxruntime.__version__}: {', '.join(providers)}"
              + ("" if NPU_PROVIDER in providers else f" (no {NPU_PROVIDER}: the Ryzen AI NPU is not usable)"))
    else:
        _line("onnxruntime", "not installed (needed for engine onnx and the Ryzen AI NPU: "
              "pip install 'tandem-code[onnx]', or AMD's Ryzen AI software for the NPU)")
    ok = True
    device, engine = settings.get("device", "auto"), settings.get("engine", "auto")
    try:
        if device == "npu" or engine == "onnx":
            chosen, why = choose_providers(device)
            _line("onnx providers", f"{', '.join(chosen)} ({why})")
        placement = resolve_placement("cpu" if device == "npu" else device, settings.get("dtype", "auto"))
        _line("placement", f"{placement.device} / {str(placement.dtype).removeprefix('torch.')} ({placement.reason})")
        planned = "onnx" if device == "npu" else planned_engine(engine, placement.device.type)
        _line("engine", f"{planned} (setting engine={engine}; auto = static caches and the draft's CUDA "
                        "graphs on a GPU, transformers on a CPU)")
    except (ModelError, DeviceError) as error:
        ok = False
        _line("placement", f"unusable: {error}")
    draft, target = resolve_model_dirs(settings.get("draftModel", ""), settings.get("targetModel", ""))
    for role, path in (("draft", draft), ("target", target)):
        try:
            check_checkpoint_dir(role, path)
            _line(f"{role} model", f"{path} (looks like a checkpoint)")
        except ModelError as error:
            ok = False
            _line(f"{role} model", str(error))
    return 0 if ok else 1
