from extractor.vocab import TokenBytes, byte_level_alphabet


def test_byte_level_alphabet_is_a_bijection_over_256_bytes():
    table = byte_level_alphabet()
    assert len(table) == 256
    assert sorted(table.values()) == list(range(256))
    assert table["Ġ"] == 0x20  # GPT-2's stand-in for the space
    assert table["!"] == ord("!")


def test_token_bytes_concatenate_to_the_utf8_of_the_text(tiny_tokenizer):
    vb = TokenBytes(tiny_tokenizer)
    for text in [
        "甲方：北京云杉科技有限公司",
        "Party A: Acme Corp., USD 250,000",
        "生僻字：龘靐齉 emoji 🙂\t end",
    ]:
        ids = tiny_tokenizer(text, add_special_tokens=False)["input_ids"]
        assert b"".join(vb.bytes[i] for i in ids) == text.encode("utf-8")


def test_special_tokens_have_no_bytes(tiny_tokenizer):
    vb = TokenBytes(tiny_tokenizer)
    for tid in tiny_tokenizer.all_special_ids:
        assert vb.bytes[tid] is None


def test_some_tokens_split_a_chinese_character(tiny_tokenizer):
    """Byte-level BPE: rare characters are written byte by byte, so tokens end mid-character."""
    vb = TokenBytes(tiny_tokenizer)
    ids = tiny_tokenizer("齉", add_special_tokens=False)["input_ids"]
    assert len(ids) > 1
    pieces = [vb.bytes[i] for i in ids]
    assert any(_invalid_utf8(p) for p in pieces)


def _invalid_utf8(b: bytes) -> bool:
    try:
        b.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def test_ids_along_finds_every_token_prefix(tiny_tokenizer):
    vb = TokenBytes(tiny_tokenizer)
    data = "北京云杉科技".encode()
    found = {tid for tid, _ in vb.ids_along(data, 0)}
    brute = {i for i, b in enumerate(vb.bytes) if b and data.startswith(b)}
    assert found == brute and found


def _sentencepiece_byte_fallback_tokenizer():
    """A SentencePiece-style vocabulary built in-process: ``▁`` for spaces, ``<0xNN>`` byte
    fallback for characters it lacks, and ``\\n`` as an added non-special token (as Gemma's)."""
    from tokenizers import AddedToken, Tokenizer, decoders, normalizers
    from tokenizers.models import BPE
    from transformers import PreTrainedTokenizerFast

    pieces = [
        "<unk>",
        "<s>",
        "</s>",
        *[f"<0x{b:02X}>" for b in range(256)],
        "▁",
        "甲",
        "方",
        "甲方",
        "a",
        "b",
    ]
    model = BPE(
        vocab={p: i for i, p in enumerate(pieces)},
        merges=[("甲", "方")],
        unk_token="<unk>",
        byte_fallback=True,
    )
    tk = Tokenizer(model)
    tk.normalizer = normalizers.Replace(" ", "▁")
    tk.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse()])
    tk.add_tokens([AddedToken("\n", special=False, normalized=False)])
    return PreTrainedTokenizerFast(tokenizer_object=tk, bos_token="<s>", eos_token="</s>", unk_token="<unk>")


def test_sentencepiece_byte_fallback_vocabulary():
    tok = _sentencepiece_byte_fallback_tokenizer()
    vb = TokenBytes(tok)
    newline = tok("\n", add_special_tokens=False)["input_ids"]
    assert len(newline) == 1 and newline[0] != tok.convert_tokens_to_ids("<0x0A>")
    # the added, non-special line break is text, and the id the grammar names for b"\n"
    assert vb.bytes[newline[0]] == b"\n" and vb.by_bytes[b"\n"] == newline[0]
    # pieces and their byte fallbacks: the tokenizer's own piece wins for the space
    assert vb.by_bytes[b" "] == tok.convert_tokens_to_ids("▁")
    assert vb.bytes[tok.convert_tokens_to_ids("<0x0A>")] == b"\n"
    for tid in tok.all_special_ids:
        assert vb.bytes[tid] is None
    for text in ["甲方 ab\n乙方", "龘\n\na"]:  # 乙 and 龘 only exist as bytes
        ids = tok(text, add_special_tokens=False)["input_ids"]
        assert b"".join(vb.bytes[i] for i in ids) == text.encode("utf-8")
