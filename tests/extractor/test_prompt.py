import functools
import operator

import pytest

from extractor.prompt import build_prompt, group_labels, parse_answer, parse_class_answer


def test_prompt_is_byte_for_byte_seqgpts():
    p = build_prompt("赛后公牛队主教练杰克逊对罗德曼的表现大加赞赏。", ["组织机构", "人物", "地点"])
    assert (
        p == "输入: 赛后公牛队主教练杰克逊对罗德曼的表现大加赞赏。\n抽取: 组织机构，人物，地点\n输出: [GEN]"
    )
    assert p.encode("utf-8") == (
        b"\xe8\xbe\x93\xe5\x85\xa5: "
        + "赛后公牛队主教练杰克逊对罗德曼的表现大加赞赏。".encode()
        + b"\n"
        + "抽取".encode()
        + b": "
        + "组织机构，人物，地点".encode()
        + b"\n"
        + "输出".encode()
        + b": [GEN]"
    )


def test_classification_prompt_and_english_text_keep_chinese_instructions():
    assert build_prompt("I love it", ["positive", "negative"], "分类") == (
        "输入: I love it\n分类: positive，negative\n输出: [GEN]"
    )


def test_ascii_commas_in_labels_become_full_width():
    assert build_prompt("t", ["项目阶段(立项,招标)", "a"]).splitlines()[1] == "抽取: 项目阶段(立项，招标)，a"


def test_bad_requests():
    with pytest.raises(ValueError):
        build_prompt("t", [])
    with pytest.raises(ValueError):
        build_prompt("t", ["a"], "翻译")
    with pytest.raises(ValueError):
        group_labels(["a"], 0)


def test_label_groups_of_six():
    labels = [f"l{i}" for i in range(14)]
    groups = group_labels(labels)
    assert [len(g) for g in groups] == [6, 6, 2]
    assert functools.reduce(operator.iadd, groups, []) == labels
    assert group_labels(labels, 4)[0] == ["l0", "l1", "l2", "l3"]


@pytest.mark.parametrize(
    "answer,expected",
    [
        (
            "人物: 罗德曼\t杰克逊\n组织机构: 公牛队\n地点: None",
            {"人物": ["罗德曼", "杰克逊"], "组织机构": ["公牛队"], "地点": []},
        ),
        ("人物：罗德曼，杰克逊", {"人物": ["罗德曼", "杰克逊"], "组织机构": [], "地点": []}),
        ("人物 罗德曼\n\n地点:", {"人物": ["罗德曼"], "组织机构": [], "地点": []}),
        (
            "人物: 罗德曼\t罗德曼\n球队: 公牛队\ngarbage line",
            {"人物": ["罗德曼"], "组织机构": [], "地点": []},
        ),
        ("[GEN]地点:none\n人物:  杰克逊  ", {"人物": ["杰克逊"], "组织机构": [], "地点": []}),
        ("", {"人物": [], "组织机构": [], "地点": []}),
    ],
)
def test_parse_answer_is_tolerant(answer, expected):
    assert parse_answer(answer, ["组织机构", "人物", "地点"]) == {
        k: expected[k] for k in ["组织机构", "人物", "地点"]
    }


def test_parse_class_answer():
    assert parse_class_answer("投诉", ["咨询", "投诉"]) == ["投诉"]
    assert parse_class_answer("投诉\t咨询\n其他", ["咨询", "投诉"]) == ["投诉", "咨询"]
    assert parse_class_answer("不知道", ["咨询", "投诉"]) == []
