"""The tamtu command as a user runs it: ingest, train, evaluate, classify, errors, docs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from pipeline.config import PROJECT_ROOT, get_settings

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TAMTU_DATABASE_URL", db_url)
    monkeypatch.setenv("TAMTU_RUNS_DIR", str(tmp_path / "runs"))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def _tcvn3(text: str) -> bytes:
    # A few TCVN3 (ABC) byte values, enough for the sentence below.
    table = {"ư": 0xAD, "ờ": 0xEC, "n": ord("n"), "đ": 0xAE, "ộ": 0xE9, "ở": 0xEE, "ỏ": 0xE1,
             "ơ": 0xAC, "ố": 0xE8, "à": 0xB5, "á": 0xB8, "ã": 0xB7, "ệ": 0xD6, "ổ": 0xE6}
    return bytes(table.get(c, ord(c)) if ord(c) < 128 or c in table else ord("?") for c in text)


def test_ingest_counts_broken_rows_duplicates_and_a_tcvn3_file(env: Path) -> None:
    rows = ["Ngày tiếp nhận,Họ tên,Địa chỉ,Nội dung đơn"]
    for i in range(18):
        rows.append(f"0{1 + i % 9}/06/2025,Người {i},thôn {i % 5 + 1},"
                    f"Đường bê tông đoạn số {i} ở thôn {i % 5 + 1} bị nứt và sụt lún")
    rows.append("03/06/2025,Người 1,thôn 2,Đường bê tông đoạn số 1 ở thôn 2 bị nứt và sụt lún")
    rows.append(",Người X,thôn 9,")  # no text
    rows.append("45/13/2025,Người Y,thôn 9,Cống thoát nước bị tắc")  # impossible date
    (env / "thang6.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (env / "cu.csv").write_bytes(
        b"Noi dung\n" + _tcvn3("đường ống nước bị vỡ, nước chảy tràn ra đường") + b"\n"
    )
    result = runner.invoke(app, ["ingest", str(env / "thang6.csv"), str(env / "cu.csv"),
                                 "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert (report["read"], report["stored"], report["duplicates"], report["quarantined"]) == (
        22, 19, 1, 2)
    assert report["by_topic"]
    # The road letters of one village differ by one number: five villages, five clusters.
    assert report["near_duplicates"] == 13
    text = runner.invoke(app, ["ingest", str(env / "thang6.csv")])
    assert ("Kiểm đếm: 21 đã đọc = 0 lưu mới (trong đó 0 trùng gần đúng) + 19 trùng lặp"
            " + 2 cách ly") in " ".join(text.output.split())


def test_ingest_counts_near_duplicates_inside_the_stored(env: Path) -> None:
    letter = ("Trại heo của Công ty TNHH Chăn nuôi Hưng Phát xả nước thải ra mương chung, mùi "
              "hôi thối {w}, ruồi muỗi nhiều, trẻ nhỏ bị ho, đề nghị xã kiểm tra và xử lý ngay")
    rows = ["Ngày tiếp nhận,Họ tên,Địa chỉ,Nội dung đơn"]
    for name, words in (("Nguyễn Văn Hòa", "nồng nặc"), ("Trần Thị Lan", "rất nặng"),
                        ("Lê Văn Nam", "không chịu nổi")):
        rows.append(f"10/03/2025,{name},thôn Lai Phước,\"{letter.format(w=words)}\"")
    rows.append("11/03/2025,Phạm Thị Hoa,thôn Lai Phước,Đèn đường ở ngõ 5 bị hỏng từ lâu")
    (env / "chien-dich.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["ingest", str(env / "chien-dich.csv")])
    assert result.exit_code == 0, result.output
    assert ("Kiểm đếm: 4 đã đọc = 4 lưu mới (trong đó 2 trùng gần đúng) + 0 trùng lặp"
            " + 0 cách ly") in " ".join(result.output.split())
    assert re.search(r"trong đó trùng gần đúng\s*│\s*2", result.output)


def test_ingest_with_nothing_readable_exits_non_zero(env: Path) -> None:
    (env / "rong.csv").write_text("Nội dung\n\n,\n", encoding="utf-8")
    missing = runner.invoke(app, ["ingest", str(env / "khong-co.csv")])
    assert missing.exit_code == 2 and "không tìm thấy" in missing.output
    bad = runner.invoke(app, ["ingest", str(env / "rong.csv")])
    assert bad.exit_code == 1 and "không đọc được bản ghi nào" in bad.output
    wrong_type = runner.invoke(app, ["ingest", str(env / "rong.csv"), "--source-type", "thu"])
    assert wrong_type.exit_code == 2 and "petition" in wrong_type.output


def test_train_evaluate_classify_round_trip(env: Path) -> None:
    lines = ["text,label"]
    for i in range(12):
        lines.append(f"Giảng viên dạy chương {i} rất dễ hiểu và nhiệt tình,giảng viên")
        lines.append(f"Phòng học số {i} nóng và máy chiếu bị mờ,cơ sở vật chất")
    (env / "fb.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    model = env / "m.skops"
    trained = runner.invoke(app, ["train", "--data", str(env / "fb.csv"), "--label-col", "label",
                                  "--out", str(model), "--json"])
    assert trained.exit_code == 0, trained.output
    summary = json.loads(trained.output)
    assert summary["multi_label"] is False and summary["texts"] == 24
    assert summary["selection"]["c"] in (0.1, 0.3, 1.0)
    assert len(summary["selection"]["macro_f1"]) == 6
    shown = runner.invoke(app, ["train", "--data", str(env / "fb.csv"), "--label-col", "label",
                                "--out", str(env / "m2.skops")])
    assert "Tham số chọn bằng kiểm định chéo trên chính tệp huấn luyện: C =" in shown.output
    evaluated = runner.invoke(app, ["evaluate", "--data", str(env / "fb.csv"), "--label-col",
                                    "label", "--model", str(model), "--json"])
    metrics = json.loads(evaluated.output)
    assert metrics["accuracy"] > 0.9 and set(metrics) >= {
        "micro_f1", "macro_f1", "weighted_f1", "per_label", "confusion"}
    table = runner.invoke(app, ["evaluate", "--data", str(env / "fb.csv"), "--label-col", "label",
                                "--model", str(model)])
    assert "F1 macro" in table.output and "Bảng nhầm lẫn" in table.output
    assert "Số nhãn mỗi văn bản (dự đoán / đúng)" in table.output
    assert metrics["labels_per_text"] == {"gold": 1.0, "predicted": 1.0, "ratio": 1.0}
    (env / "in.jsonl").write_text(
        json.dumps({"id": 7, "text": "Máy chiếu phòng 3 hỏng"}, ensure_ascii=False) + "\n"
        + json.dumps({"id": 8, "text": ""}) + "\n", encoding="utf-8")
    out = env / "out.jsonl"
    classified = runner.invoke(app, ["classify", "--input", str(env / "in.jsonl"), "--output",
                                     str(out), "--model", str(model)])
    assert classified.exit_code == 0, classified.output
    first, second = (json.loads(line) for line in out.read_text(encoding="utf-8").splitlines())
    assert first["id"] == 7 and first["topics"] == ["cơ sở vật chất"]
    assert set(first["scores"]) == {"giảng viên", "cơ sở vật chất"}
    assert second["id"] == 8 and "error" in second


def test_classify_one_text_with_the_default_model(env: Path) -> None:
    result = runner.invoke(app, ["classify", "Xưởng cát tặc hút cát ban đêm làm sạt lở bờ sông"])
    assert result.exit_code == 0
    assert "Môi trường (environment)" in result.output
    assert "Độ tin cậy của kết luận:" in result.output


def test_train_refuses_a_file_without_the_label_column(env: Path) -> None:
    (env / "x.csv").write_text("text\nabc\n", encoding="utf-8")
    result = runner.invoke(app, ["train", "--data", str(env / "x.csv"), "--out",
                                 str(env / "m.skops")])
    assert result.exit_code == 2 and "không có cột 'topics'" in result.output


def test_every_command_is_documented_in_the_readme() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    commands = [c.name or c.callback.__name__ for c in app.registered_commands]  # type: ignore
    for group in app.registered_groups:
        commands += [f"{group.name} {c.name or c.callback.__name__}"  # type: ignore[union-attr]
                     for c in group.typer_instance.registered_commands]  # type: ignore[union-attr]
    assert len(commands) > 10
    undocumented = [c for c in commands if not re.search(rf"tamtu {c}\b", readme)]
    assert undocumented == []


def test_classify_reads_a_csv_with_a_vietnamese_text_column(env: Path) -> None:
    (env / "don.csv").write_text("Số đơn,Nội dung\n1,Cống thoát nước thôn 3 bị tắc\n",
                                 encoding="utf-8")
    out = env / "kq.jsonl"
    result = runner.invoke(app, ["classify", "--input", str(env / "don.csv"), "--output", str(out)])
    assert result.exit_code == 0, result.output
    (row,) = (json.loads(line) for line in out.read_text(encoding="utf-8").splitlines())
    assert row["Số đơn"] == "1" and "infrastructure" in row["topics"]
    empty = runner.invoke(app, ["classify", "  "])
    assert empty.exit_code == 2 and "trống" in empty.output


def test_rebuild_clusters_command(env: Path) -> None:
    letter = "Trại heo xả nước thải ra mương chung của thôn, mùi hôi thối {w}, đề nghị xử lý ngay"
    rows = ["Nội dung đơn"] + [f'"{letter.format(w=w)}"' for w in ("nồng nặc", "rất nặng")]
    (env / "hai.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert runner.invoke(app, ["ingest", str(env / "hai.csv")]).exit_code == 0
    result = runner.invoke(app, ["rebuild-clusters"])
    assert result.exit_code == 0, result.output
    assert "Đã xếp lại 2 đơn vào các nhóm đơn gần giống nhau." in result.output


def test_rebuild_aggregates_repairs_damaged_counts(env: Path) -> None:
    import sqlalchemy as sa

    from pipeline.store import create_db_engine
    from pipeline.store.aggregates import read_counts
    from pipeline.store.schema import daily_counts

    rows = ["Ngày nhận,Địa chỉ,Nội dung,Lĩnh vực",
            "02/06/2025,thôn Tân Mỹ,Tranh chấp ranh giới đất với hộ bên cạnh,Đất đai",
            "03/06/2025,thôn Tân Mỹ,Khói đốt rác gây ô nhiễm,Môi trường"]
    (env / "ls.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert runner.invoke(app, ["ingest", str(env / "ls.csv")]).exit_code == 0
    engine = create_db_engine(get_settings().database_url)
    before = read_counts(engine)
    with engine.begin() as conn:
        conn.execute(sa.update(daily_counts).values(count=99))
    result = runner.invoke(app, ["rebuild-aggregates"])
    assert result.exit_code == 0, result.output
    assert "Đã tính lại số liệu tổng hợp từ 2 đơn." in result.output
    assert read_counts(engine).equals(before)
    assert sorted(before["topic"]) == ["environment", "land"]
    engine.dispose()
