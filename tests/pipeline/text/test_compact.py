"""The compact model (plain arrays, numpy only) predicts what the skops model predicts."""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path

import numpy as np
import pytest

from models.data import LabelledData
from models.train import train_classifier
from pipeline.config import PROJECT_ROOT
from pipeline.intake.normalize import normalize_text
from pipeline.text.classify import TopicModel, load_classifier, save_classifier
from pipeline.text.compact import (
    CompactClassifier,
    compact_path,
    load_compact,
    load_runtime_classifier,
)
from pipeline.text.features import ModelLoadError

SHIPPED = PROJECT_ROOT / "models" / "artifacts" / "topic_model.skops"
ROADS = ["Đường liên thôn {} bị sụt lún, xe máy đi rất nguy hiểm",
         "Cầu tạm qua khe ở xóm {} sắp gãy, học sinh phải lội nước"]
FARMS = ["Trại heo gần xóm {} xả nước thải hôi thối ra mương",
         "Bãi rác thôn {} bốc mùi, ruồi nhặng bay vào nhà"]
PLACES = ["Đông", "Tây", "Nam", "Bắc", "Thượng", "Hạ", "Trung", "Mới", "Cũ", "Lũy", "Giữa",
          "Ngoài"]


def _corpus_texts(count: int) -> list[str]:
    texts: list[str] = []
    for path in sorted((PROJECT_ROOT / "data" / "corpus").glob("*.jsonl")):
        with path.open(encoding="utf-8") as handle:
            texts += [normalize_text(json.loads(line)["text"]).text for line in handle]
    random.Random(3).shuffle(texts)
    return texts[:count]


def test_shipped_compact_copy_matches_the_skops_model() -> None:
    compact = load_compact(SHIPPED)
    assert isinstance(compact, CompactClassifier), "the shipped model needs its compact copy"
    texts = [*_corpus_texts(300), "ko dc", "x", "Xin chào.",
             "Cơ sở karaoke hát đến 2 giờ sáng, đã báo nhiều lần mà không ai xử lý, khẩn cấp!"]
    expected = load_classifier(SHIPPED).predict_batch(texts)
    got = compact.predict_batch(texts)
    assert [(p.topics, p.signals, p.confidence) for p in got] == [
        (p.topics, p.signals, p.confidence) for p in expected]
    for mine, theirs in zip(got, expected, strict=True):
        assert mine.scores.keys() == theirs.scores.keys()
        assert max(abs(mine.scores[k] - theirs.scores[k]) for k in mine.scores) <= 1e-4


def _trained(tmp_path: Path) -> tuple[Path, list[str]]:
    texts = [t.format(p) for t, p in itertools.product(ROADS + FARMS, PLACES)]
    labels = [["infrastructure"]] * 24 + [["environment"]] * 24
    pairs = list(zip(texts, labels, strict=True))
    random.Random(0).shuffle(pairs)
    # One text with both labels makes the model multi-label, the form the compact copy holds.
    data = LabelledData([t for t, _ in pairs] + [f"Trại heo làm sụt lún đường thôn {p}"
                                                 for p in PLACES[:8]],
                        [lab for _, lab in pairs] + [["environment", "infrastructure"]] * 8)
    path = tmp_path / "m.skops"
    save_classifier(train_classifier(data), path)
    return path, ["Cầu tạm xóm Giữa sắp gãy", "Rác thôn Giữa bốc mùi", "Chúc mừng năm mới"]


def test_saving_writes_the_copy_and_a_changed_model_file_ignores_it(tmp_path: Path) -> None:
    path, sample = _trained(tmp_path)
    assert compact_path(path).is_file()
    runtime = load_runtime_classifier(path)
    assert isinstance(runtime, CompactClassifier)
    assert [p.topics for p in runtime.predict_batch(sample)] == [
        p.topics for p in load_classifier(path).predict_batch(sample)]
    # A copy made from another file is never used: the skops file itself is loaded.
    path.write_bytes(path.read_bytes() + b"\0")
    assert load_compact(path) is None
    assert not isinstance(load_runtime_classifier(path), CompactClassifier)


def test_a_copy_holding_objects_is_ignored_and_single_label_models_have_none(
    tmp_path: Path,
) -> None:
    path, _ = _trained(tmp_path)
    with np.load(compact_path(path), allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    arrays["topic_coef"] = np.array([{"code": "x"}], dtype=object)  # would need pickle to read
    with compact_path(path).open("wb") as handle:
        np.savez(handle, **arrays)
    assert load_compact(path) is None
    assert not isinstance(load_runtime_classifier(path), CompactClassifier)
    with pytest.raises(ModelLoadError, match="không tìm thấy"):
        load_runtime_classifier(tmp_path / "absent.skops")
    single = tmp_path / "single.skops"
    texts = [t.format(p) for t, p in itertools.product(ROADS + FARMS, PLACES)]
    model = TopicModel(n_folds=3).fit(texts, [["đường"]] * 24 + [["rác"]] * 24)
    compact_path(single).write_bytes(b"stale")
    from pipeline.text.classify import TamtuClassifier

    save_classifier(TamtuClassifier(topic_model=model), single)
    assert not compact_path(single).exists()
    assert not isinstance(load_runtime_classifier(single), CompactClassifier)
