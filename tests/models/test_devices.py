import pytest
import torch

from models.devices import resolve_dtype, resolve_placement
from models.errors import DeviceError


def test_auto_on_this_machine_picks_an_available_device():
    placement = resolve_placement("auto", "auto")
    if torch.cuda.is_available():
        assert placement.device.type == "cuda"
    else:
        assert placement.device.type in {"cpu", "mps"}
    assert "auto" in placement.reason


def test_cpu_auto_dtype_is_float32():
    assert resolve_dtype("auto", torch.device("cpu"))[0] == torch.float32


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_a_gpu_says_what_to_do():
    with pytest.raises(DeviceError, match="sees no CUDA/ROCm device.*'auto' or 'cpu'"):
        resolve_placement("cuda:0", "auto")


@pytest.mark.parametrize("device", ["tpu", "cuda:x", ""])
def test_unknown_device_lists_the_valid_ones(device):
    with pytest.raises(DeviceError, match="use auto, cpu, cuda, cuda:N, mps or npu"):
        resolve_placement(device, "auto")


def test_npu_names_the_missing_runtime():
    with pytest.raises(DeviceError, match="VitisAI"):
        resolve_placement("npu", "auto")


def test_explicit_dtype_is_used():
    assert resolve_placement("cpu", "bfloat16").dtype == torch.bfloat16
    with pytest.raises(DeviceError, match="unknown dtype"):
        resolve_placement("cpu", "int3")
