"""MinHash signatures and in-memory LSH clustering of near-duplicate texts."""

from __future__ import annotations

import pickle
from concurrent.futures import ProcessPoolExecutor

import pytest

from pipeline.text.neardup import (
    NEAR_DUPLICATE_JACCARD,
    NUM_PERM,
    ClusterIndex,
    band_hashes,
    cluster_texts,
    estimated_jaccard,
    pack_signature,
    shingles,
    signature,
    unpack_signature,
)
from pipeline.text.terms import day_terms

LETTER = ("Kính gửi UBND xã Vĩnh Giang. Chúng tôi là người dân thôn Lai Phước, sống gần trại heo "
          "của Công ty TNHH Chăn nuôi Hưng Phát. Từ đầu tháng đến nay trại xả nước thải ra mương "
          "chung, mùi hôi thối nồng nặc, ruồi muỗi nhiều, trẻ nhỏ bị ho. Đề nghị xã xử lý ngay.")
OTHER = ("Đề nghị xã xem xét cấp giấy chứng nhận quyền sử dụng đất cho gia đình tôi, hồ sơ đã "
         "nộp từ năm 2022 tại bộ phận một cửa mà đến nay vẫn chưa có kết quả trả lời.")


def test_signature_is_plain_ints_the_same_in_another_process() -> None:
    sig = signature(LETTER)
    assert len(sig) == NUM_PERM and all(type(v) is int and 0 <= v < 2**32 for v in sig)
    assert signature(LETTER) == sig
    assert pickle.loads(pickle.dumps(sig)) == sig
    with ProcessPoolExecutor(max_workers=1) as pool:
        assert list(pool.map(signature, [LETTER, OTHER])) == [sig, signature(OTHER)]
    assert unpack_signature(pack_signature(sig)) == sig


def test_unaccented_copy_has_the_same_signature() -> None:
    from pipeline.intake.normalize import fold_diacritics

    assert signature(fold_diacritics(LETTER).upper()) == signature(LETTER)
    assert shingles("Đường  hỏng") == {"duong hong"}


def test_estimated_jaccard_follows_the_true_one() -> None:
    edited = LETTER.replace("nồng nặc", "không chịu nổi").replace("ngay", "gấp")
    a, b = shingles(LETTER), shingles(edited)
    true = len(a & b) / len(a | b)
    assert abs(estimated_jaccard(signature(LETTER), signature(edited)) - true) < 0.15
    assert estimated_jaccard(signature(LETTER), signature(OTHER)) < 0.2
    with pytest.raises(ValueError, match="cùng độ dài"):
        estimated_jaccard((1, 2), (1,))


def test_band_hashes_are_64_bit_and_change_with_their_band() -> None:
    sig = signature(LETTER)
    hashes = band_hashes(sig)
    assert len(hashes) == 32 and all(-(2**63) <= h < 2**63 for h in hashes)
    changed = (sig[0] + 1, *sig[1:])
    assert band_hashes(changed)[1:] == hashes[1:] and band_hashes(changed)[0] != hashes[0]
    with pytest.raises(ValueError, match="chia hết"):
        band_hashes(sig[:-1])


def test_copies_join_the_first_letter_and_others_start_their_own() -> None:
    texts = {
        1: LETTER,
        2: OTHER,
        3: LETTER.replace("nồng nặc", "rất nặng"),
        4: LETTER.replace("Lai Phước", "Tân Mỹ").replace("ngay", "dứt điểm"),
        5: OTHER.replace("2022", "2021"),
        6: "Đèn đường ở ngõ 5 bị hỏng từ lâu, buổi tối đi lại rất nguy hiểm.",
    }
    assert cluster_texts(texts.items()) == {1: 1, 2: 2, 3: 1, 4: 1, 5: 2, 6: 6}


def test_best_match_gives_the_cluster_and_its_similarity() -> None:
    index = ClusterIndex()
    first = index.add(10, signature(LETTER))
    assert (first.cluster_id, first.matched_id, first.similarity) == (10, None, None)
    assert len(first.new_buckets) == 32
    copy = index.add(11, signature(LETTER + " Xin cảm ơn."))
    assert copy.cluster_id == 10 and copy.matched_id == 10
    assert copy.similarity is not None and copy.similarity >= NEAR_DUPLICATE_JACCARD
    # Bands the cluster already has are not stored again.
    assert len(copy.new_buckets) < 32
    assert index.add(12, signature(LETTER)).new_buckets == ()


def test_day_terms_hold_content_syllable_pairs_within_punctuation() -> None:
    terms = day_terms("Công ty CP Xây lắp Vĩnh An. Của và, xin cảm ơn")
    assert {"công ty", "xây lắp", "vĩnh an", "xin cảm"} <= terms
    assert "an của" not in terms  # a phrase never crosses punctuation
    assert "của và" not in terms  # two function words carry nothing
