"""int8 linear layers: close to fp32, independent of the batch, and used through loading."""

import pytest
import torch

from extractor.quantize import Int8Linear, available, quantize_int8

pytestmark = pytest.mark.skipif(not available(), reason="no int8 CPU kernels in this torch build")


def test_int8_linear_is_close_to_fp32_and_a_rows_result_ignores_the_batch():
    torch.manual_seed(0)
    lin = torch.nn.Linear(64, 48)
    q = Int8Linear(lin)
    x = torch.randn(6, 64)
    ref = lin(x)
    out = q(x)
    assert (out - ref).abs().max() < 0.05 * ref.abs().max()
    louder = x.clone()
    louder[1:] *= 40.0  # other rows with a much larger range: torch's per-tensor scale would move
    assert torch.equal(q(x[:1])[0], out[0]) and torch.equal(q(louder)[0], out[0])
    assert q(x[None]).shape == (1, 6, 48)  # any leading shape


def test_quantized_model_decodes_like_fp32_and_keeps_fp32_embeddings(tiny_llama_dir):
    from extractor.engine import Extractor
    from extractor.loading import load_model
    from extractor.schema import Schema

    fp32 = load_model(str(tiny_llama_dir), device="cpu", quantize="none")
    q = load_model(str(tiny_llama_dir), device="cpu", quantize="int8")
    assert q.quantized == "int8" and fp32.quantized is None
    linears = [m for m in q.model.modules() if isinstance(m, torch.nn.Linear)]
    assert not linears and isinstance(q.model.get_output_embeddings(), Int8Linear)
    assert q.model.get_input_embeddings().weight.dtype == torch.float32
    text = "甲方：北京云杉科技有限公司，乙方：上海海川贸易有限公司。"
    schema = Schema.parse("甲方,乙方")
    a = Extractor(fp32.model, fp32.tokenizer).extract(text, schema)
    b = Extractor(q.model, q.tokenizer).extract(text, schema)
    for spans in b.values.values():  # verbatim spans, real confidences
        for s in spans:
            assert text[s.start : s.end] == s.text and 0.0 < s.confidence <= 1.0
    assert a.prompts == b.prompts


def test_quantize_choices_and_errors(tiny_bloom_dir, tmp_path):
    import json

    from extractor.loading import ModelLoadError, load_model, resolve_quantize
    from extractor.mini import bundled_card

    # the card says whether int8 is accurate enough; a timed probe then says whether it is faster here
    expected = "probe" if bundled_card().get("auto_quantize") == "int8" else "none"
    assert resolve_quantize("auto", "cpu", "seqgpt-mini") == expected
    assert resolve_quantize("auto", "cuda", "seqgpt-mini") == "none"
    assert resolve_quantize("auto", "cpu", "/models/seqgpt-560m") == "none"
    # a local folder is judged by its own card: a copy of the bundled adapter keeps its int8 probe
    assert resolve_quantize("auto", "cpu", str(tiny_bloom_dir)) == "none"
    (tmp_path / "card.json").write_text(json.dumps({"auto_quantize": "int8"}))
    assert resolve_quantize("auto", "cpu", str(tmp_path)) == "probe"
    assert resolve_quantize("auto", "cuda", str(tmp_path)) == "none"
    assert resolve_quantize("none", "cpu", str(tmp_path)) == "none"
    with pytest.raises(ModelLoadError, match="unknown quantization"):
        load_model(str(tiny_bloom_dir), device="cpu", quantize="int4")
    model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    assert quantize_int8(model) == 2 and isinstance(model[2], Int8Linear)


def test_smoothing_tames_outlier_channels_and_keeps_rows_independent():
    """A few input channels 50x larger than the rest (as in Gemma): smoothed int8 is much
    closer to fp32 than plain int8, and a row's result still ignores its batch."""
    torch.manual_seed(1)
    lin = torch.nn.Linear(128, 64)
    x = torch.randn(32, 128)
    x[:, :3] *= 50.0
    ref = lin(x)
    plain = Int8Linear(lin)(x)
    smooth_q = Int8Linear(lin, act_max=x.abs().amax(0))
    smooth = smooth_q(x)
    err_plain = (plain - ref).abs().mean()
    err_smooth = (smooth - ref).abs().mean()
    assert err_smooth < 0.5 * err_plain
    assert torch.equal(smooth_q(x[:1])[0], smooth[0])


def test_calibration_runs_the_engines_prompts(tiny_llama_dir):
    from extractor.loading import load_model
    from extractor.quantize import activation_maxima, calibration_prompts

    lm = load_model(str(tiny_llama_dir), device="cpu", quantize="none")
    maxima = activation_maxima(lm.model, lm.tokenizer)
    linears = {n for n, m in lm.model.named_modules() if isinstance(m, torch.nn.Linear)}
    assert set(maxima) == linears and all((v >= 0).all() and v.max() > 0 for v in maxima.values())
    assert len(calibration_prompts()) >= 5 and all("输出: [GEN]" in p for p in calibration_prompts())


def test_int8_probe_times_the_models_shapes_and_is_cached_per_machine(tmp_path):
    """``--quantize auto`` decides by what this machine's kernels do: the probe times fp32 and
    int8 on the model's own linear shapes, chooses int8 only when it is faster, and keeps
    the answer per machine so later loads do not pay for it."""
    import json

    from extractor.quantize import PROBE_MIN_GAIN, machine_key, probe_int8

    model = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.ReLU(), torch.nn.Linear(256, 64))
    cache = tmp_path / "probe.json"
    first = probe_int8(model, cache=str(cache))
    assert first["fp32_s"] > 0 and first["int8_s"] > 0
    assert first["choice"] == ("int8" if first["speedup"] >= PROBE_MIN_GAIN else "none")
    assert first["machine"] == machine_key() and "torch" in first["machine"]
    stored = json.loads(cache.read_text())
    (key,) = stored
    assert key.endswith("64x256,256x64")  # the shapes are part of the key
    stored[key]["choice"] = "planted"  # a cached answer is read back, not measured again
    cache.write_text(json.dumps(stored))
    assert probe_int8(model, cache=str(cache))["choice"] == "planted"
    other = torch.nn.Sequential(torch.nn.Linear(32, 32))
    assert probe_int8(other, cache=str(cache))["choice"] in ("int8", "none")  # other shapes: measured
    assert len(json.loads(cache.read_text())) == 2
