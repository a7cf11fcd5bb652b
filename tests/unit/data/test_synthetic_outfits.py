"""The hidden stylist rule of SynthWardrobe outfits, its negatives and its FITB questions."""

from __future__ import annotations

import numpy as np
import pytest

from wardrobe.data.formats.polyvore import fitb_correct_index, token_set_id
from wardrobe.data.synthetic import is_compatible, rule_violations, sample_garment
from wardrobe.data.synthetic.outfits import Catalogue, build_splits, semantic_category, title_for
from wardrobe.data.synthetic.spec import make_spec
from wardrobe.taxonomy import CATEGORY_BY_NAME, FINE_CATEGORIES


def item(category, colour="black", pattern="solid"):
    df2 = (CATEGORY_BY_NAME[category].df2_classes or (None,))[0]
    return make_spec(category, df2, colour, "white", pattern, "regular")


OFFICE = [item("dress_shirt", "white"), item("dress_pants", "navy"), item("dress_shoes")]


def test_a_coherent_outfit_is_compatible():
    assert rule_violations(OFFICE) == ()
    assert is_compatible([item("midi_dress", "red"), item("heels", "black")])


@pytest.mark.parametrize(
    ("outfit", "broken"),
    [
        (OFFICE[:2], "slots"),  # no shoes
        ([*OFFICE, item("chinos", "tan")], "slots"),  # two bottoms
        ([item("midi_dress", "navy"), *OFFICE], "slots"),  # dress and separates
        ([item("dress_shirt", "red"), item("dress_pants", "green"), item("dress_shoes")], None),
        ([item("dress_shirt", "red"), item("dress_pants", "yellow"), item("dress_shoes")],
         "colour"),
        ([item("hoodie"), item("dress_pants"), item("dress_shoes")], "formality"),
        ([item("sweater"), item("shorts", "navy"), item("sneakers")], "season"),
    ],
)  # fmt: skip
def test_each_part_of_the_rule(outfit, broken):
    assert (broken in rule_violations(outfit)) if broken else is_compatible(outfit)


@pytest.fixture(scope="module")
def polyvore():
    rng = np.random.default_rng(0)
    specs = [sample_garment(rng, c) for c in FINE_CATEGORIES for _ in range(20)]
    cat = Catalogue([str(100_000_000 + i) for i in range(len(specs))], specs)
    return cat, build_splits(rng, cat, 300)


def _specs(cat, split, tokens):
    members = {t: m for o, ms in zip(split.outfits, split.members, strict=True)
               for t, m in zip(o.tokens, ms, strict=True)}  # fmt: skip
    return [cat.specs[members[t]] for t in tokens]


def test_positives_follow_the_rule_and_negatives_break_it(polyvore):
    cat, splits = polyvore
    assert [s.name for s in splits] == ["train", "valid", "test"]
    for split in splits:
        assert split.outfits and len(split.negatives) == len(split.outfits)
        for members in split.members:
            assert is_compatible([cat.specs[m] for m in members])
        for neg in split.negatives:
            assert rule_violations(_specs(cat, split, neg.tokens))


def test_hard_negatives_swap_exactly_one_item_of_the_same_kind(polyvore):
    cat, splits = polyvore
    hard = 0
    for split in splits:
        source = {o.set_id: o for o in split.outfits}
        for neg in split.negatives:
            if neg.kind not in ("hard", "slot"):
                continue
            original = source[neg.source].tokens
            changed = [i for i, (a, b) in enumerate(zip(original, neg.tokens, strict=True))
                       if a != b]  # fmt: skip
            assert changed == [neg.position]
            before, after = _specs(cat, split, [original[neg.position], neg.tokens[neg.position]])
            same_kind = semantic_category(before.category) == semantic_category(after.category)
            assert same_kind == (neg.kind == "hard")
            hard += neg.kind == "hard"
            if neg.kind == "slot":
                assert "slots" in rule_violations(_specs(cat, split, neg.tokens))
    assert hard > 50


def test_fitb_answers_one_true_item_and_three_rule_breakers(polyvore):
    cat, splits = polyvore
    positions = []
    for split in splits:
        by_set = {o.set_id: o for o in split.outfits}
        for q in split.fitb:
            assert len(q.answers) == 4 and len(set(q.answers)) == 4
            k = fitb_correct_index(q)
            positions.append(k)
            outfit = by_set[token_set_id(q.question[0])]
            assert q.answers[k] == outfit.token(q.blank_position)
            kinds = {semantic_category(s.category) for s in _specs(cat, split, q.answers)}
            assert len(kinds) == 1
            question = _specs(cat, split, q.question)
            assert is_compatible([*question, *_specs(cat, split, [q.answers[k]])])
            for i, token in enumerate(q.answers):
                if i != k:
                    assert not is_compatible([*question, *_specs(cat, split, [token])])
    assert len(positions) > 0.9 * sum(len(s.outfits) for s in splits)
    assert len(set(positions)) == 4, "the correct answer is not always in the same place"


def test_items_are_reused_across_outfits_like_nondisjoint_polyvore(polyvore):
    _, splits = polyvore
    ids = [i.item_id for s in splits for o in s.outfits for i in o.items]
    assert len(set(ids)) < len(ids)


def test_titles_name_colour_pattern_and_category():
    spec = make_spec("dress_shirt", "long_sleeve_top", "navy", "white", "striped", "slim")
    assert title_for(spec) == "navy striped dress shirt"
