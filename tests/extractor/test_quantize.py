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


def test_quantize_choices_and_errors(tiny_bloom_dir):
    from extractor.loading import ModelLoadError, load_model, resolve_quantize
    from extractor.mini import bundled_card

    expected = "int8" if bundled_card().get("auto_quantize") == "int8" else "none"
    assert resolve_quantize("auto", "cpu", "seqgpt-mini") == expected  # the card decides, by measurement
    assert resolve_quantize("auto", "cuda", "seqgpt-mini") == "none"
    assert resolve_quantize("auto", "cpu", "/models/seqgpt-560m") == "none"
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
