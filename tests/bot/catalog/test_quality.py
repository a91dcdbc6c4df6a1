"""Item quality: what a learner who knows nothing scores by picking the longest option, keys that give
themselves away, near-duplicate questions, tasks a reviewer cannot check, resources past their review date."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from bot.catalog.model import Catalog, Challenge, Resource
from bot.catalog.quality import measure, near_duplicates, pack_part

TODAY = dt.date(2027, 3, 1)


def quiz(cid: str, options: tuple[str, str, str, str], answer: str = "A", question: str = "") -> Challenge:
    return Challenge(
        cid, "quiz", "s", "t", 1, (), question=question or f"What is special about {cid}?", options=options,
        answer=answer, explanation="because",
    )  # fmt: skip


def task(cid: str, checklist: tuple[str, ...] = ("runs", "has a README"), expected: str = "") -> Challenge:
    return Challenge(
        cid, "task", "s", "t", 2, (), instructions="do it", done_when="posted", expected=expected,
        checklist=checklist,
    )  # fmt: skip


def pack(*items: Challenge, resources: tuple[Resource, ...] = ()) -> Catalog:
    return Catalog(challenges={c.id: c for c in items}, resources={r.id: r for r in resources})


def test_picking_the_longest_option_scores_what_it_would_score_and_ties_split_the_credit() -> None:
    giveaway = quiz("giveaway", ("the long and careful answer", "no", "yes", "maybe"))
    fair = quiz("fair", ("mean", "median", "mode", "ranges"), answer="B")  # median and range tie: half
    short = quiz("short", ("0.5", "0.25", "0.125", "1"))  # the key is the shortest
    q = measure(pack(giveaway, fair, short), TODAY)
    assert q.longest_share == (1 + 0.5 + 0) / 3
    assert q.key_longest == 1  # strictly the longest only in `giveaway`
    assert any("scores 50%" in f for f in q.failures())
    assert not any("scores" in f for f in measure(pack(fair, short), TODAY).failures())  # 25%


def test_a_key_much_longer_than_every_distractor_fails_but_a_few_characters_do_not() -> None:
    long_key = quiz("long", ("a key of thirty characters, ok", "twenty characters ok", "short", "tiny"))
    numbers = quiz("numbers", ("0.25", "0.5", "1", "2"))  # 4 > 1.3 x 3, but one character is no tell
    q = measure(pack(long_key, numbers), TODAY)
    assert q.long_keys == [("long", 30, 20)]
    assert "long: the key is 30 characters, its longest distractor 20" in q.failures()[-1]


def test_two_quizzes_asking_the_same_thing_in_other_words_are_near_duplicates() -> None:
    a = quiz(
        "a", ("Precision", "Recall", "Accuracy", "F1"),
        question="A spam filter flags 100 emails and 90 of them are spam. Which metric is 90%?",
    )  # fmt: skip
    b = quiz(
        "b", ("Precision", "Recall", "Specificity", "AUC"),
        question="Your spam filter flags 100 emails; 90 of those are really spam. Which metric equals 90%?",
    )  # fmt: skip
    c = quiz(
        "c", ("It shrinks weights", "It adds features", "It removes rows", "It scales inputs"),
        question="What does L2 regularisation do to a linear model's coefficients?",
    )  # fmt: skip
    [(x, y, share)] = near_duplicates([a, b, c])
    assert {x, y} == {"a", "b"} and share >= 0.35
    assert any("ask nearly the same" in f for f in measure(pack(a, b, c), TODAY).failures())


def test_a_word_in_every_quiz_does_not_make_them_all_candidates() -> None:
    many = [
        quiz(f"q{i}", ("w", "x", "y", "z"), question=f"model model model topic{i} alpha{i} beta{i}")
        for i in range(200)
    ]
    assert near_duplicates(many) == []  # "model" is in all 200: not indexed, and no pair shares enough


def test_tasks_need_a_checklist_and_expected_results_are_counted() -> None:
    q = measure(pack(task("ok", expected="1/6"), task("bare", checklist=())), TODAY)
    assert q.no_checklist == ["bare"] and q.expected == 1
    assert "bare: a task needs a `checklist`" in q.failures()[0]


def test_a_resource_past_its_review_date_is_a_warning_not_a_failure() -> None:
    base = Resource(
        "cert", "An exam", "https://example.com/exam", "certification", "s", (), "beginner", True, "d"
    )
    old, fresh = replace(base, review_by=TODAY - dt.timedelta(1)), replace(base, id="new", review_by=TODAY)
    q = measure(pack(task("t"), resources=(old, fresh, replace(base, id="undated"))), TODAY)
    assert q.review_due == [("cert", TODAY - dt.timedelta(1))]
    assert q.failures() == [] and q.warnings() == [
        "cert: `review_by` 2027-02-28 has passed; check the page and set a new date"
    ]


def test_a_community_pack_is_measured_on_its_own_items() -> None:
    built_in = quiz("b1", ("the long and careful answer", "no", "yes", "maybe"))
    theirs = quiz("club:q1", ("mean", "median", "mode", "range"))
    merged = pack(built_in, theirs)
    assert list(pack_part(merged, None).challenges) == ["b1"]
    assert list(pack_part(merged, "club").challenges) == ["club:q1"]
    assert pack_part(merged, "clu").challenges == {}


def test_a_key_that_alone_avoids_sweeping_words_is_a_giveaway() -> None:
    blind = quiz(
        "blind",
        ("It usually helps", "It always helps", "It never helps", "Only GPUs benefit"),
    )
    two = quiz("two", ("It usually helps", "It always helps", "It never helps", "It helps a bit"))
    firm = quiz("firm", ("It only helps at first", "It always helps", "It never helps", "Only GPUs benefit"))
    q = measure(pack(blind, two, firm), TODAY)
    assert q.hedged_keys == ["blind"] and q.half_hedged == 1
    assert any(f.startswith("blind: every distractor makes a sweeping claim") for f in q.failures())
    assert (
        "keys the only option without a sweeping word (always, never, only...): 1 against all three "
        "distractors, 1 against two" in q.figures()
    )
