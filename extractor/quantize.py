"""int8 linear layers for CPU inference (``--quantize int8``), independent of the batch.

Measured on the project's 2-core AVX2 machine (one thread, Gemma 3 270M's shapes): an
int8 matrix product through fbgemm runs 7-11x faster than fp32 (the 262,144 x 640 output
head at batch 8: 9 ms vs 104 ms), because decoding on a CPU is bound by reading the
weights, and int8 weights are a quarter of the bytes.

torch's own dynamic quantization (``quantize_dynamic``) quantizes each input *tensor* with
one scale taken from its largest value, so a row's result depends on the other rows in the
batch: the same document could get another answer next to another document.  ``Int8Linear``
quantizes per row instead, and exactly: each row is divided by its own largest absolute
value, a constant row ``[1, -1, 0, ...]`` is appended so that the tensor's range is always
exactly [-1, 1] (the scale fbgemm derives is then the same for every batch), and the
result is multiplied back by the row's scale.  Weights are int8 per output channel
(symmetric).  A row's output is therefore a function of that row alone: deterministic
whatever else is decoded with it (a test checks bit equality across batches).

Outliers are smoothed first (SmoothQuant, Xiao et al. 2023): a few input channels of some
layers carry values far larger than the rest (Gemma's in particular), and a per-row scale
set by them leaves the other channels a handful of levels.  Each layer's input channel ``j``
is divided by ``s_j = a_j^0.75 / w_j^0.25`` (``a_j``: its largest activation on a fixed
calibration set of SeqGPT prompts over business text, ``CALIBRATION``; ``w_j``: the largest
weight of that input channel) and the weights' column ``j`` multiplied by it, which leaves
the product unchanged in exact arithmetic and balances what int8 must represent.  Measured
on 60 held-out generated documents with the Gemma-based seqgpt-mini: at step 100, F1 0.643
in fp32, 0.593 with plain per-row int8, 0.624-0.639 with smoothing (alpha 0.5) depending on
the calibration set (fp16 weights: 0.643); at step 300, 0.712 in fp32, 0.696 with alpha 0.5,
**0.705 with alpha 0.75** (the migration strength used), 0.711 with alpha 0.5 and the MLP
down projections left in fp32 (slower); at step 600, 0.865 in fp32 and 0.861 in int8 (alpha
0.75), which made int8 the CPU default for seqgpt-mini (``auto_quantize`` in its card).  The
int8 model runs the sample contracts 2.5x as fast as fp32 on this CPU (``bench/cpu.py``).

Input embeddings stay fp32 (they are a lookup, not a product): the decoder reads the
grammar's allowed rows of a tied output head from them (``extractor.decoding``).
"""

from __future__ import annotations

import warnings

import torch
from torch import nn

QUANTIZE_CHOICES = ("auto", "none", "int8")
SMOOTH_ALPHA = 0.75

# Calibration for the smoothing: business text of the kinds the product reads, in both
# languages, asked the way the engine asks (labels as users write them).
CALIBRATION = [
    (
        "采购合同\n合同编号：CG-2024-0315\n甲方：北京云杉数据科技有限公司\n乙方：深圳市华南精密机械制造有限公司\n"
        "合同金额：人民币壹佰贰拾万元整（¥1,200,000.00），签约日期：2024年3月15日，合同期限自2024年4月1日起至"
        "2025年3月31日止。争议提交北京仲裁委员会仲裁，适用中华人民共和国法律。联系人：王建国，电话010-82561234。",
        ["甲方", "乙方", "合同金额", "签约日期", "联系人", "电话"],
    ),
    (
        "市民王女士来电反映，朝阳区建国路88号院3号楼下的垃圾已经连续五天无人清运，气味很大。她表示此前曾向物业反映过"
        "两次，联系电话13812345678，希望相关部门尽快协调处理。工单编号RX20240521003，受理时间2024-05-21 09:32。",
        ["来电人", "地址", "联系电话", "诉求", "工单编号"],
    ),
    (
        "SERVICES AGREEMENT between Northwind Analytics Inc. (Party A) and Bluefin Software Solutions Ltd. (Party B), "
        "signed on February 20, 2024. Total fee: USD 250,000, payable in three installments. Term: March 1, 2024 to "
        "February 28, 2025. Governing law: the laws of the State of New York. Contact: Jane Miller, +1 212 555 0142.",
        ["Party A", "Party B", "amount", "signing date", "person", "phone"],
    ),
    (
        "个人简历\n姓名：李晓明  性别：男  出生日期：1990年6月\n2016.07-2020.12 上海浦东发展银行 数据分析师\n"
        "2021.01-至今 阿里巴巴集团 高级算法工程师，负责推荐系统优化，年薪约45万元。毕业院校：复旦大学 计算机科学硕士。",
        ["姓名", "公司", "职位", "学校", "年薪", "出生日期"],
    ),
    (
        "交通事故认定书 编号：沪公交认字[2024]第0087号。2024年1月9日17时20分，在浦东新区世纪大道与张杨路交叉口，"
        "沪A·3K2J7小型轿车（驾驶人张伟）与沪B·88M21重型货车（驾驶人刘强）发生碰撞，造成一人轻伤。认定刘强负主要责任。",
        ["事故时间", "事故地点", "车牌号", "驾驶人", "责任认定"],
    ),
]


def calibration_prompts() -> list[str]:
    """Each calibration text with its labels, then all of them as one long prompt (long
    chunks have larger activations deep in the context)."""
    from .prompt import build_prompt

    prompts = [build_prompt(text, labels) for text, labels in CALIBRATION]
    return [*prompts, build_prompt("\n".join(text for text, _ in CALIBRATION), CALIBRATION[0][1])]


def activation_maxima(
    model: nn.Module, tokenizer, prompts: list[str] | None = None
) -> dict[str, torch.Tensor]:
    """Per ``nn.Linear`` of ``model`` (by name): the largest absolute input of each channel
    over ``prompts`` (default: the calibration prompts), one prompt at a time."""
    maxima: dict[str, torch.Tensor] = {}
    hooks = []
    for name, mod in model.named_modules():
        if type(mod) is nn.Linear:

            def hook(_mod, inputs, _out, name=name):
                x = inputs[0].detach()
                a = x.reshape(-1, x.shape[-1]).abs().amax(0).float()
                maxima[name] = torch.maximum(maxima[name], a) if name in maxima else a

            hooks.append(mod.register_forward_hook(hook))
    device = next(model.parameters()).device
    try:
        with torch.inference_mode():
            for prompt in prompts or calibration_prompts():
                ids = tokenizer(prompt, return_tensors="pt")["input_ids"].to(device)
                model(input_ids=ids)
    finally:
        for h in hooks:
            h.remove()
    return maxima


class Int8Linear(nn.Module):
    """``nn.Linear`` with int8 per-channel weights and exact per-row int8 activations,
    optionally smoothed by ``act_max`` (the largest input of each channel, ``SMOOTH_ALPHA``)."""

    def __init__(self, linear: nn.Linear, act_max: torch.Tensor | None = None, alpha: float = SMOOTH_ALPHA):
        super().__init__()
        w = linear.weight.detach().float()
        smooth = None
        if act_max is not None:
            w_max = w.abs().amax(dim=0).clamp_min(1e-5)
            smooth = (act_max.float().clamp_min(1e-5) ** alpha / w_max ** (1 - alpha)).clamp_min(1e-5)
            w = w * smooth[None, :]
        self.register_buffer("_inv_smooth", None if smooth is None else (1.0 / smooth), persistent=False)
        self.in_features, self.out_features = w.shape[1], w.shape[0]
        scales = (w.abs().amax(dim=1) / 127.0).clamp_min(1e-12).double()
        zeros = torch.zeros(w.shape[0], dtype=torch.long)
        with warnings.catch_warnings():  # fbgemm's prepack still takes a quantized tensor (torch 2.13)
            warnings.filterwarnings("ignore", message=".*quantized tensor creation functions.*")
            qw = torch.quantize_per_channel(w, scales, zeros, axis=0, dtype=torch.qint8)
        self._packed = torch.ops.quantized.linear_prepack(qw, None)
        bias = linear.bias.detach().float().clone() if linear.bias is not None else None
        self.register_buffer("bias", bias, persistent=False)
        calib = torch.zeros((1, self.in_features))
        calib[0, 0], calib[0, -1 if self.in_features > 1 else 0] = 1.0, -1.0
        self.register_buffer("_calib", calib, persistent=False)

    weight = None  # not a float matrix: the decoder computes this head whole, or reads tied embeddings

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape, dtype = x.shape, x.dtype
        x2 = x.reshape(-1, self.in_features).float()
        if self._inv_smooth is not None:
            x2 = x2 * self._inv_smooth
        scale = x2.abs().amax(dim=1, keepdim=True).clamp_min(1e-30)
        y = torch.ops.quantized.linear_dynamic(torch.cat([x2 / scale, self._calib]), self._packed, True)
        y = y[:-1] * scale
        if self.bias is not None:
            y = y + self.bias
        return y.reshape(*shape[:-1], self.out_features).to(dtype)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, int8"


def available() -> bool:
    """True when this torch build has the fbgemm/x86 int8 kernels."""
    engines = getattr(torch.backends.quantized, "supported_engines", [])
    return any(e in engines for e in ("fbgemm", "x86"))


def quantize_int8(model: nn.Module, tokenizer=None, *, smooth: bool = True) -> int:
    """Replace every ``nn.Linear`` of ``model`` (the output head included; a tied head gets its
    own int8 copy, the input embeddings stay fp32) with ``Int8Linear``, in place, smoothed by
    the activation maxima of the calibration prompts when ``tokenizer`` is given; returns how
    many were replaced."""
    if not available():
        raise RuntimeError("this torch build has no int8 CPU kernels (fbgemm/x86)")
    maxima = activation_maxima(model, tokenizer) if smooth and tokenizer is not None else {}
    targets = [(name, mod) for name, mod in model.named_modules() if type(mod) is nn.Linear]
    for name, mod in targets:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, Int8Linear(mod, maxima.get(name)))
    if hasattr(model, "config"):
        model.config.seqgpt_quantized = "int8"
    return len(targets)


# --------------------------------------------------------------------------------------
# Does int8 pay off on this machine?
# --------------------------------------------------------------------------------------

PROBE_ROWS = (4, 64)  # a decode step's rows and a prefill's (the output head: decode rows only)
HEAD_ROWS = 32768  # a linear layer this wide is the output head
PROBE_MIN_GAIN = 1.1  # int8 is chosen when it is at least this much faster than fp32


def machine_key() -> str:
    """What decides int8's speed here: the CPU model, its vector extensions, torch's version
    and the thread count."""
    import platform

    model, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("model name") and model in ("", platform.machine()):
                    model = line.split(":", 1)[1].strip()
                elif line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    break
    except OSError:
        pass
    ext = sorted(f for f in flags if f.startswith(("avx", "amx")) or f in ("fma", "f16c", "vnni"))
    return f"{model} | {' '.join(ext)} | torch {torch.__version__} | {torch.get_num_threads()} threads"


def _probe_layers(model: nn.Module) -> list[nn.Linear]:
    """One of each linear shape the model multiplies by (one transformer layer's and the head)."""
    seen: dict[tuple[int, int], nn.Linear] = {}
    for mod in model.modules():
        if type(mod) is nn.Linear:
            seen.setdefault((mod.in_features, mod.out_features), mod)
    return list(seen.values())


def _time(fn, reps: int) -> float:
    import time

    fn()  # warm up (fbgemm packs, allocations)
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def probe_int8(model: nn.Module, *, reps: int = 2, cache: str | None = None) -> dict:
    """Time this machine's fp32 and int8 matrix products on ``model``'s own linear shapes, at
    a decode step's and a prefill's number of rows; ``{"int8_s", "fp32_s", "speedup",
    "choice", "machine"}``.  The answer is cached per machine (``machine_key``) and shape set
    in the JSON file ``cache`` (e.g. ``$SEQGPT_CACHE/int8-probe.json``), so it costs a
    fraction of a second once per machine.  int8 runs 5x faster than fp32 on one CPU and
    slower on another (the README's benchmark section), so the default is measured, not
    assumed."""
    import json
    import os
    from pathlib import Path

    layers = _probe_layers(model)
    key = machine_key() + " | " + ",".join(f"{m.in_features}x{m.out_features}" for m in layers)
    path = Path(cache) if cache else None
    stored: dict = {}
    if path is not None and path.is_file():
        try:
            stored = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            stored = {}
        if key in stored:
            return stored[key]
    int8 = [Int8Linear(m) for m in layers]
    fp32_s = int8_s = 0.0
    with torch.inference_mode():
        for rows in PROBE_ROWS:
            for lin, q in zip(layers, int8):
                if lin.out_features >= HEAD_ROWS and rows != PROBE_ROWS[0]:
                    continue  # the engine runs the whole head on decode rows only
                x = torch.randn(rows, lin.in_features)
                fp32_s += _time(lambda lin=lin, x=x: lin(x), reps)
                int8_s += _time(lambda q=q, x=x: q(x), reps)
    speedup = fp32_s / int8_s if int8_s > 0 else 0.0
    result = {
        "fp32_s": round(fp32_s, 6),
        "int8_s": round(int8_s, 6),
        "speedup": round(speedup, 3),
        "choice": "int8" if speedup >= PROBE_MIN_GAIN else "none",
        "machine": machine_key(),
    }
    if path is not None:
        stored[key] = result
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")  # whole or not at all, for readers
            tmp.write_text(json.dumps(stored, indent=1) + "\n", encoding="utf-8")
            os.replace(tmp, path)
        except OSError:
            pass  # a read-only cache only costs the probe again next time
    return result
