"""`tandem doctor`: what this machine offers, which models would be used, and why.

Placement, engines and providers are printed from `models.plan.plan_load`, the plan that
loading follows, so the doctor never works them out on its own.
"""

from __future__ import annotations

import platform


def _line(label: str, value: str) -> None:
    print(f"{label:<18} {value}")


def run_doctor(settings: dict) -> int:
    import torch

    from models.config import PairSpec
    from models.embedded import resolve_model_dirs
    from models.engines.onnx_backend import NPU_PROVIDER, available_providers
    from models.errors import ModelError
    from models.loading import check_checkpoint_dir
    from models.plan import plan_load

    _line("python", platform.python_version())
    _line("torch", f"{torch.__version__} (CUDA {torch.version.cuda}, ROCm {torch.version.hip})")
    _line("cuda devices", ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
          or "none")
    mps = getattr(torch.backends, "mps", None)
    _line("mps", "available" if mps is not None and mps.is_available() else "not available")
    providers = available_providers()
    if providers:
        import onnxruntime
        _line("onnxruntime", f"{onnxruntime.__version__}: {', '.join(providers)}"
              + ("" if NPU_PROVIDER in providers else f" (no {NPU_PROVIDER}: the Ryzen AI NPU is not usable)"))
    else:
        _line("onnxruntime", "not installed (needed for engine onnx and the Ryzen AI NPU: "
              "pip install 'tandem-code[onnx]', or AMD's Ryzen AI software for the NPU)")
    ok = True
    spec = PairSpec(settings.get("draftModel", ""), settings.get("targetModel", ""), settings.get("device", "auto"),
                    settings.get("dtype", "auto"), settings.get("engine", "auto"))
    try:
        plan = plan_load(spec)
        if plan.providers is not None:
            chosen, why = plan.providers
            _line("onnx providers", f"{', '.join(chosen)} ({why})")
        placement = plan.placement
        _line("placement", f"{placement.device} / {str(placement.dtype).removeprefix('torch.')} ({placement.reason})")
        _line("engine", f"{plan.describe_engines()} ({plan.engine_reason})")
    except ModelError as error:  # DeviceError included: a device or provider that is missing
        ok = False
        _line("placement", f"unusable: {error}")
    draft, target = resolve_model_dirs(spec.draft, spec.target)
    for role, path in (("draft", draft), ("target", target)):
        try:
            check_checkpoint_dir(role, path)
            _line(f"{role} model", f"{path} (looks like a checkpoint)")
        except ModelError as error:
            ok = False
            _line(f"{role} model", str(error))
    return 0 if ok else 1
