"""Learning from the office: reviewed petitions join the training data, and a retrained model
learns a corrected example (its agreement with the reviewed petitions improves)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from models.corrections import with_corrections
from models.data import LabelledData
from pipeline.config import get_settings
from pipeline.store import create_db_engine, list_petitions, migrate
from pipeline.store.cases import Correction, review_petition
from pipeline.store.petitions import PetitionFilter

runner = CliRunner()

# The office's own category: in this commune, talk of the "quỹ khuyến học" goes to policy.
# The shipped model has never seen the phrase; an officer corrects the first three.
TEXTS = [
    "Đề nghị công khai quỹ khuyến học của thôn Tân Mỹ năm nay, bà con chưa được biết thu chi.",
    "Quỹ khuyến học thôn Tân Mỹ thu mỗi hộ 50 nghìn nhưng không công khai danh sách nhận.",
    "Bà con hỏi quỹ khuyến học thôn Tân Mỹ trao thưởng cho học sinh giỏi theo tiêu chí nào.",
]


def test_merge_drops_corpus_copies_and_weights_reviewed_texts() -> None:
    base = LabelledData(["a b c", "Quỹ  khuyến học", "d e"], [["land"], ["other"], ["policy"]],
                        [["mass"], [], []])
    reviewed = LabelledData(["quỹ khuyến học"], [["policy"]], [[]])
    merged = with_corrections(base, reviewed, weight=2)
    assert merged.texts == ["a b c", "d e", "quỹ khuyến học", "quỹ khuyến học"]
    assert merged.labels[-1] == ["policy"] and merged.signals == [["mass"], [], [], []]
    with pytest.raises(ValueError):
        with_corrections(base, reviewed, weight=0)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("TAMTU_DATABASE_URL", f"sqlite:///{tmp_path / 'office.db'}")
    monkeypatch.setenv("TAMTU_RUNS_DIR", str(tmp_path / "runs"))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


LATER = [
    "Xin hỏi quỹ khuyến học thôn Tân Mỹ năm nay thu bao nhiêu và đã chi cho những cháu nào.",
    "Đề nghị ban quản lý quỹ khuyến học thôn Tân Mỹ công khai sổ thu chi trước dân.",
]


def _ingest(env: Path, name: str, texts: list[str], first_day: int) -> list[int]:
    rows = ["Ngày nhận,Địa chỉ,Nội dung"] + [
        f'{first_day + i:02d}/06/2025,"thôn Tân Mỹ, xã Vĩnh Giang","{text}"'
        for i, text in enumerate(texts)]
    (env / name).write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert runner.invoke(app, ["ingest", str(env / name), "--workers", "1"]).exit_code == 0
    engine = create_db_engine(get_settings().database_url)
    migrate(engine)
    stored, _ = list_petitions(engine, PetitionFilter(q="khuyến học"), order="number", limit=50)
    ids = [r["id"] for r in stored][-len(texts):]
    for petition_id in ids:
        review_petition(engine, petition_id, "cán bộ Hoa", Correction(topics=("policy",)))
    return ids


def _evaluate(*extra: str) -> dict:  # type: ignore[type-arg]
    result = runner.invoke(app, ["evaluate", "--on-reviewed", "--from", "01/01/2020", "--json",
                                 *extra])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)  # type: ignore[no-any-return]


def test_a_retrained_model_learns_the_office_corrections(env: Path) -> None:
    first = _ingest(env, "don.csv", TEXTS, 2)
    assert len(first) == len(TEXTS)
    before = _evaluate()
    assert before["n"] == len(TEXTS) and before["left_out_trained_on"] == 0
    trained = runner.invoke(app, ["train", "--with-corrections", "--out",
                                  str(env / "office.skops"), "--json"])
    assert trained.exit_code == 0, trained.output
    summary = json.loads(trained.output)
    assert summary["corrections"] == len(TEXTS)
    card = json.loads(Path(summary["corrections_file"]).read_text(encoding="utf-8"))
    assert card["petition_ids"] == first and card["weight"] == 3
    # Only the model it trained is scored on it: the office model sees the trained ones left
    # out, so it is measured on petitions it has never seen.
    nothing_new = runner.invoke(app, ["evaluate", "--on-reviewed", "--from", "01/01/2020",
                                      "--model", str(env / "office.skops")])
    assert nothing_new.exit_code == 1 and "đã dùng để huấn luyện" in nothing_new.output
    later = _ingest(env, "sau.csv", LATER, 20)
    shipped = _evaluate()
    office = _evaluate("--model", str(env / "office.skops"))
    assert office["n"] == len(LATER) and office["left_out_trained_on"] == len(TEXTS)
    assert shipped["n"] == len(TEXTS) + len(LATER)
    # It learned the corrected examples (scored on them on purpose), and it files the new
    # petitions about the fund at least as the shipped model does.
    learned = _evaluate("--model", str(env / "office.skops"), "--include-trained",
                        "--to", "31/12/2099")
    learned_first = 1 - len(set(first) & set(learned["wrong_ids"])) / len(first)
    shipped_first = 1 - len(set(first) & set(shipped["wrong_ids"])) / len(first)
    assert learned_first == 1.0 and learned_first >= shipped_first
    shipped_on_later = 1 - len(set(later) & set(shipped["wrong_ids"])) / len(later)
    assert office["agreement"] >= shipped_on_later

    text = runner.invoke(app, ["evaluate", "--on-reviewed", "--from", "01/01/2020"])
    assert "đơn đã kiểm tra" in text.output and text.exit_code == 0
    neither = runner.invoke(app, ["evaluate"])
    assert neither.exit_code == 2 and "--on-reviewed" in neither.output
    nothing = runner.invoke(app, ["train", "--out", str(env / "x.skops")])
    assert nothing.exit_code == 2 and "--with-corrections" in nothing.output
