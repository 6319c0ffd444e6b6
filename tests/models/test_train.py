"""Training and evaluation on any labelled data; safe loading of model files."""

from __future__ import annotations

import itertools
import json
import random
import zipfile
from pathlib import Path

import numpy as np
import pytest
from scipy import sparse

from models.data import LabelledData, LabelledDataError, read_labelled
from models.evaluate import label_metrics
from models.train import train_classifier
from pipeline.text.classify import (
    ModelLoadError,
    TopicModel,
    folded_syllable_analyzer,
    load_classifier,
    save_classifier,
)
from pipeline.text.selection import C_GRID, choose_settings

ROADS = ["Đường liên thôn {} bị sụt lún, xe máy đi rất nguy hiểm",
         "Cầu tạm qua khe ở xóm {} sắp gãy, học sinh phải lội nước",
         "Đèn đường khu {} hỏng cả tháng chưa ai sửa"]
FARMS = ["Trại heo gần xóm {} xả nước thải hôi thối ra mương",
         "Bãi rác thôn {} bốc mùi, ruồi nhặng bay vào nhà",
         "Xưởng gỗ ở khu {} xả khói bụi suốt ngày"]
PLACES = ["Đông", "Tây", "Nam", "Bắc", "Thượng", "Hạ", "Trung", "Mới", "Cũ", "Lũy"]


def _texts(templates: list[str]) -> list[str]:
    return [t.format(p) for t, p in itertools.product(templates, PLACES)]


def _shuffled(texts: list[str], labels: list[list[str]]) -> tuple[list[str], list[list[str]]]:
    # Calibration folds are contiguous: mix the templates so each fold sees all of them.
    pairs = list(zip(texts, labels, strict=True))
    random.Random(0).shuffle(pairs)
    return [t for t, _ in pairs], [lab for _, lab in pairs]


def test_single_label_model_predicts_exactly_one_label() -> None:
    texts = _texts(ROADS) + _texts(FARMS)
    labels = [["đường sá"]] * 30 + [["ô nhiễm"]] * 30
    model = TopicModel(n_folds=3).fit(*_shuffled(texts, labels))
    assert model.multilabel_ is False
    predicted = model.predict(["Con đường vào xóm Giữa lún sâu, xe đi không được",
                               "Mùi hôi từ trại heo bay khắp xóm Giữa"])
    assert predicted == [["đường sá"], ["ô nhiễm"]]


def test_multi_label_model_uses_other_when_nothing_passes() -> None:
    texts = _texts(ROADS) + _texts(FARMS) + [
        f"Trại heo xả thải làm sụt lún đường liên thôn {p}" for p in PLACES
    ] + [f"Chúc mừng đội bóng thôn {p} vô địch giải" for p in PLACES]
    labels = ([["infrastructure"]] * 30 + [["environment"]] * 30
              + [["environment", "infrastructure"]] * 10 + [["other"]] * 10)
    model = TopicModel(n_folds=3).fit(*_shuffled(texts, labels))
    assert model.multilabel_ is True
    assert model.labels_ == ["environment", "infrastructure"]
    assert set(model.thresholds_) == {"environment", "infrastructure"}
    (predicted,) = model.predict(["Chúc mừng đội bóng thôn Giữa vô địch giải"])
    assert predicted == ["other"]


def test_rare_labels_are_refused_with_a_clear_message() -> None:
    texts = _texts(ROADS) + ["Bà con hỏi lịch tiêm phòng"] * 3
    labels = [["a"]] * 30 + [["b"]] * 3
    with pytest.raises(ValueError, match="nhãn quá ít: b \\(3\\)"):
        TopicModel().fit(texts, labels)


def test_metrics_single_label_confusion_and_intervals() -> None:
    truth = [["a"], ["a"], ["b"], ["b"]]
    predicted = [["a"], ["b"], ["b"], ["b"]]
    metrics = label_metrics(truth, predicted, bootstrap=50)
    assert metrics["accuracy"] == pytest.approx(0.75)
    assert metrics["confusion"]["matrix"] == [[1, 1], [0, 2]]
    assert metrics["per_label"]["a"]["recall"] == pytest.approx(0.5)
    low, high = metrics["ci95"]["macro_f1"]
    assert 0 <= low <= metrics["macro_f1"] <= high <= 1


def test_read_labelled_names_missing_columns(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("noi_dung,nhan\nabc,x\n", encoding="utf-8")
    with pytest.raises(LabelledDataError, match="không có cột 'text'.*noi_dung"):
        read_labelled(path)
    data = read_labelled(path, text_col="noi_dung", label_col="nhan")
    assert data.texts == ["abc"] and data.labels == [["x"]]


def test_saved_model_loads_and_tampered_file_is_refused(tmp_path: Path) -> None:
    texts = _texts(ROADS) + _texts(FARMS)
    data = LabelledData(*_shuffled(texts, [["infrastructure"]] * 30 + [["environment"]] * 30))
    model = train_classifier(data)
    path = tmp_path / "m.skops"
    save_classifier(model, path)
    loaded = load_classifier(path)
    sample = ["Cầu tạm xóm Giữa sắp gãy"]
    assert loaded.predict_batch(sample)[0].topics == model.predict_batch(sample)[0].topics
    # Rewrite the schema so that it names a type outside the trusted list.
    tampered = tmp_path / "bad.skops"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(tampered, "w") as target:
        for item in source.infolist():
            payload = source.read(item.filename)
            if item.filename == "schema.json":
                schema = json.loads(payload)
                schema["__module__"] = "os"
                schema["__class__"] = "system"
                payload = json.dumps(schema).encode()
            target.writestr(item, payload)
    with pytest.raises(ModelLoadError, match="không tin cậy"):
        load_classifier(tampered)
    broken = tmp_path / "broken.skops"
    broken.write_bytes(b"not a zip")
    with pytest.raises(ModelLoadError, match="bị hỏng"):
        load_classifier(broken)


def test_metrics_compare_labels_per_text_with_the_gold() -> None:
    truth = [["a"], ["a", "b"], ["b"], ["b"]]
    predicted = [["a", "b"], ["a", "b"], ["b", "a"], ["b"]]
    per_text = label_metrics(truth, predicted, bootstrap=0)["labels_per_text"]
    assert per_text == {"gold": 1.25, "predicted": 1.75, "ratio": 1.4}


def _fitted_by_hand(floor: float) -> TopicModel:
    # The decision rule on its own: thresholds and floor set as training would set them.
    model = TopicModel()
    model.multilabel_ = True
    model.labels_ = ["land", "security", "religion"]
    model.thresholds_ = {"land": 0.4, "security": 0.4, "religion": 0.5}
    model.relative_floor_ = floor
    return model


def test_extra_label_is_kept_only_when_close_to_the_best() -> None:
    scores = np.array([[0.95, 0.45, 0.1],   # security passes its threshold but is far below land
                       [0.70, 0.60, 0.1],   # close to the best: both kept
                       [0.30, 0.20, 0.45]])  # nothing passes: other
    assert _fitted_by_hand(0.0).predict_labels(scores) == [
        ["land", "security"], ["land", "security"], ["other"]]
    assert _fitted_by_hand(0.6).predict_labels(scores) == [
        ["land"], ["land", "security"], ["other"]]


def test_confidence_is_the_weakest_chosen_score_or_the_chance_of_no_topic() -> None:
    model = _fitted_by_hand(0.6)
    assert model.confidence(np.array([0.70, 0.60, 0.1]), ["land", "security"]) == 0.6
    assert model.confidence(np.array([0.30, 0.20, 0.45]), ["other"]) == pytest.approx(0.55)


def test_relative_floor_is_learned_and_predictions_carry_confidence() -> None:
    texts = _texts(ROADS) + _texts(FARMS) + [
        f"Trại heo xả thải làm sụt lún đường liên thôn {p}" for p in PLACES
    ] + [f"Chúc mừng đội bóng thôn {p} vô địch giải" for p in PLACES]
    labels = ([["infrastructure"]] * 30 + [["environment"]] * 30
              + [["environment", "infrastructure"]] * 10 + [["other"]] * 10)
    data = LabelledData(*_shuffled(texts, labels))
    model = train_classifier(data, with_signals=False)
    assert model.topic_model.relative_floor_ in (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
    (prediction,) = model.predict_batch(["Bãi rác thôn Giữa bốc mùi, ruồi nhặng bay vào nhà"])
    assert prediction.topics == ["environment"]
    assert prediction.confidence == pytest.approx(prediction.scores["environment"], abs=1e-4)


def test_chat_shorthand_and_unaccented_text_share_features_with_accented_text() -> None:
    accented = folded_syllable_analyzer("mọi người ơi không được đổ rác")
    assert folded_syllable_analyzer("mn oi ko dc do rac") == accented
    assert folded_syllable_analyzer("MN ơi KO đc đổ rác") == accented
    # A shorthand that could be a real syllable is not expanded.
    assert "hong" in folded_syllable_analyzer("máy bơm hỏng")


def test_single_label_settings_are_chosen_by_cross_validation_and_survive_saving(
    tmp_path: Path,
) -> None:
    texts = _texts(ROADS) + _texts(FARMS)
    data = LabelledData(*_shuffled(texts, [["đường sá"]] * 30 + [["ô nhiễm"]] * 30))
    model = train_classifier(data, with_signals=False)
    selection = model.topic_model.selection_
    assert selection["c"] in C_GRID
    assert len(selection["macro_f1"]) == 2 * len(C_GRID)
    path = tmp_path / "single.skops"
    save_classifier(model, path)
    sample = ["Con đường vào xóm Giữa lún sâu", "Mùi hôi từ trại heo bay khắp xóm Giữa"]
    assert [p.topics for p in load_classifier(path).predict_batch(sample)] == [
        ["đường sá"], ["ô nhiễm"]]


def test_character_ngrams_are_kept_only_when_they_carry_the_signal() -> None:
    rng = np.random.default_rng(0)
    labels = ["a", "b"] * 30
    informative = np.array([[1.0, 0.0] if y == "a" else [0.0, 1.0] for y in labels])
    noise = rng.random((60, 4))
    # Base (word/syllable) columns are pure noise; the two trailing columns decide the label.
    choice = choose_settings(sparse.csr_matrix(np.hstack([noise, informative])), labels, 4)
    assert choice.chars is True
    assert choice.scores[f"C={choice.c} +chars"] == pytest.approx(1.0)
