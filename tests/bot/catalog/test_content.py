"""The content loader: the built-in pack is valid, and broken packs are reported with file, id and reason."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.catalog.content import ContentError, builtin_content_dir, load_catalog
from bot.catalog.model import LETTERS


def test_the_builtin_starter_pack_is_valid_and_big_enough() -> None:
    catalog = load_catalog()
    assert len(catalog.stages) >= 3 and len(catalog.resources) >= 15 and len(catalog.challenges) >= 21
    quizzes = [c for c in catalog.challenges.values() if c.is_quiz]
    assert all(len(q.options) == 4 and q.answer in LETTERS and q.explanation for q in quizzes)
    assert len({c.question or c.instructions for c in catalog.challenges.values()}) == len(catalog.challenges)


def write_pack(
    root: Path, challenge: dict[str, object], resource_url: str = "https://example.org/guide"
) -> Path:
    (root / "challenges").mkdir(parents=True)
    stages = {
        "stages": [
            {
                "id": "python",
                "title": "Python",
                "summary": "s",
                "weeks": 2,
                "topics": [{"id": "numpy", "title": "NumPy", "description": "d"}],
            }
        ]
    }
    resources = {
        "resources": [
            {
                "id": "guide",
                "title": "Guide",
                "url": resource_url,
                "kind": "docs",
                "stage": "python",
                "topics": ["numpy"],
                "level": "beginner",
                "free": True,
                "description": "d",
            }
        ]
    }
    (root / "stages.yaml").write_text(yaml.safe_dump(stages))
    (root / "resources.yaml").write_text(yaml.safe_dump(resources))
    (root / "challenges" / "python.yaml").write_text(yaml.safe_dump({"challenges": [challenge]}))
    return root


QUIZ = {
    "id": "q1",
    "type": "quiz",
    "stage": "python",
    "topic": "numpy",
    "difficulty": 1,
    "question": "Q?",
    "options": ["a", "b", "c", "d"],
    "answer": "B",
    "explanation": "because",
    "resources": ["guide"],
}


def test_a_valid_small_pack_loads(tmp_path: Path) -> None:
    catalog = load_catalog([write_pack(tmp_path, QUIZ)])
    assert catalog.challenges["q1"].answer == "B"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"answer": "E"}, "python.yaml: q1: `answer` 'E' is out of range"),
        ({"options": ["a", "a", "c", "d"]}, "q1: duplicate options"),
        ({"options": ["a", "b", "c"]}, "needs exactly 4 options"),
        ({"topic": "pandas"}, "q1: unknown topic 'pandas'"),
        ({"stage": "maths"}, "q1: unknown stage 'maths'"),
        ({"resources": ["nope"]}, "q1: unknown resource 'nope'"),
        ({"question": " "}, "python.yaml: q1: `question` must be a non-empty string"),
        ({"difficulty": 5}, "`difficulty` must be 1, 2 or 3"),
        ({"type": "poem"}, "`type` must be quiz or task"),
    ],
)
def test_broken_content_is_reported_with_file_id_and_reason(
    tmp_path: Path, change: dict[str, object], reason: str
) -> None:
    with pytest.raises(ContentError) as err:
        load_catalog([write_pack(tmp_path, {**QUIZ, **change})])
    assert any(reason in p for p in err.value.problems), err.value.problems


def test_a_malformed_url_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ContentError) as err:
        load_catalog([write_pack(tmp_path, QUIZ, resource_url="not a url")])
    assert any("guide: `url` 'not a url' is not a well-formed" in p for p in err.value.problems)


def test_the_pack_ships_inside_the_package() -> None:
    assert (builtin_content_dir() / "stages.yaml").is_file()


def test_a_community_pack_is_namespaced_and_merged_over_the_builtin_pack(tmp_path: Path) -> None:
    builtin = load_catalog()
    clash = next(iter(builtin.challenges))
    pack = write_pack(tmp_path / "club", {**QUIZ, "id": clash})
    # The pack adds its own stage `python` (which becomes club:python) and a challenge with a built-in id.
    catalog = load_catalog(community=[pack])
    assert catalog.challenges[clash] == builtin.challenges[clash]
    mine = catalog.challenges[f"club:{clash}"]
    assert (mine.stage, mine.resources) == ("club:python", ("club:guide",))
    assert catalog.resources["club:guide"].stage == "club:python"
    assert [s.id for s in catalog.stages][-1] == "club:python"


def test_a_community_challenge_can_join_a_builtin_stage_and_cite_builtin_resources(tmp_path: Path) -> None:
    builtin = load_catalog()
    stage = builtin.stages[1]
    resource = next(r for r in builtin.resources.values() if r.stage == stage.id)
    root = tmp_path / "club"
    (root / "challenges").mkdir(parents=True)
    extra = {**QUIZ, "stage": stage.id, "topic": stage.topics[0].id, "resources": [resource.id]}
    (root / "challenges" / "extra.yaml").write_text(yaml.safe_dump({"challenges": [extra]}))
    catalog = load_catalog(community=[root])
    added = catalog.challenges["club:q1"]
    assert (added.stage, added.resources) == (stage.id, (resource.id,))


def test_a_broken_community_pack_is_reported_with_its_file(tmp_path: Path) -> None:
    pack = write_pack(tmp_path / "club", {**QUIZ, "resources": ["missing"]})
    with pytest.raises(ContentError) as err:
        load_catalog(community=[pack])
    assert "python.yaml: q1: unknown resource 'missing'" in err.value.problems


def test_the_same_url_twice_in_a_pack_is_reported(tmp_path: Path) -> None:
    root = write_pack(tmp_path / "p", QUIZ)
    data = yaml.safe_load((root / "resources.yaml").read_text())
    # A copy of the topics list: yaml.safe_dump writes a shared list as an anchor, which packs may not use.
    data["resources"].append({**data["resources"][0], "id": "guide-again", "topics": ["numpy"]})
    (root / "resources.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(ContentError) as err:
        load_catalog([root])
    assert (
        "resources.yaml: guide-again: the same URL as resource 'guide'; cite that one instead"
        in err.value.problems
    )


def test_the_full_pack_covers_the_roadmap() -> None:
    catalog = load_catalog()
    assert len(catalog.stages) >= 12 and len(catalog.resources) >= 100 and len(catalog.challenges) >= 240
    for stage in catalog.stages:
        mine = [c for c in catalog.challenges.values() if c.stage == stage.id]
        # Sized to the stage's weeks at about five posts a week (a Monday-to-Friday cohort keeps the pace,
        # a daily one sees few repeats), with at least two practical tasks.
        assert 3.5 * stage.weeks <= len(mine) <= 5 * stage.weeks + 2, (stage.id, len(mine))
        assert sum(not c.is_quiz for c in mine) >= 2, stage.id
        assert 5 <= len(stage.topics) <= 12, stage.id
    quizzes = sum(c.is_quiz for c in catalog.challenges.values())
    assert quizzes / len(catalog.challenges) >= 0.7


# What the source articles name explicitly: each has a topic with 2 quizzes, a task and 2 resources.
GAP_TOPICS = [
    ("algorithms", "time-series"),
    ("algorithms", "recommenders"),
    ("deep-learning", "nlp-text-classification"),
    ("algorithms", "anomaly-detection"),
    ("data", "eda"),
    ("data", "data-collection"),
    ("deploy", "cloud-deployment"),
    ("mlops", "system-design"),
    ("stats", "covariance"),
    ("current", "following-research"),
]


def test_every_topic_the_sources_name_has_quizzes_a_task_and_resources() -> None:
    catalog = load_catalog()
    for stage, topic in GAP_TOPICS:
        items = [c for c in catalog.challenges.values() if (c.stage, c.topic) == (stage, topic)]
        resources = [r for r in catalog.resources.values() if r.stage == stage and topic in r.topics]
        assert sum(c.is_quiz for c in items) >= 2, topic
        assert sum(not c.is_quiz for c in items) >= 1, topic
        assert len(resources) >= 2, topic
    coding = [c for c in catalog.challenges.values() if c.stage == "python" and not c.is_quiz]
    assert len(coding) >= 6


def test_every_task_can_be_reviewed_and_stale_prone_resources_carry_a_review_date() -> None:
    catalog = load_catalog()
    tasks = [c for c in catalog.challenges.values() if not c.is_quiz]
    assert all(3 <= len(t.checklist) <= 6 for t in tasks)
    assert sum(bool(t.expected) for t in tasks) >= len(tasks) // 2
    certifications = [r for r in catalog.resources.values() if r.kind == "certification"]
    assert certifications and all(r.review_by for r in certifications)


def test_duplicate_ids_are_reported(tmp_path: Path) -> None:
    root = write_pack(tmp_path / "p", QUIZ)
    extra = root / "challenges" / "more.yaml"
    extra.write_text(yaml.safe_dump({"challenges": [{**QUIZ, "question": "Another?"}]}))
    data = yaml.safe_load((root / "resources.yaml").read_text())
    data["resources"].append(
        {**data["resources"][0], "url": "https://example.org/other", "topics": ["numpy"]}
    )
    (root / "resources.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(ContentError) as err:
        load_catalog([root])
    assert "python.yaml: q1: duplicate challenge id" in err.value.problems  # read after more.yaml
    assert "resources.yaml: guide: duplicate resource id" in err.value.problems


def test_libyaml_and_the_pure_python_parser_load_the_same_content(monkeypatch: pytest.MonkeyPatch) -> None:
    fast = load_catalog()
    monkeypatch.setattr(yaml, "__with_libyaml__", False)
    assert load_catalog() == fast


@pytest.mark.skipif(not yaml.__with_libyaml__, reason="PyYAML was built without libyaml")
def test_valid_content_is_parsed_by_libyaml(monkeypatch: pytest.MonkeyPatch) -> None:
    def pure_python(*args: object, **kwargs: object) -> object:
        raise AssertionError("the pure-Python parser was used for valid content")

    monkeypatch.setattr(yaml, "safe_load", pure_python)
    monkeypatch.setattr(yaml, "SafeLoader", pure_python)
    assert load_catalog().challenges


@pytest.mark.parametrize("libyaml", [True, False])
def test_a_yaml_error_names_the_file_and_quotes_the_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, libyaml: bool
) -> None:
    monkeypatch.setattr(yaml, "__with_libyaml__", libyaml and yaml.__with_libyaml__)
    root = write_pack(tmp_path / "p", QUIZ)
    (root / "challenges" / "more.yaml").write_text("challenges:\n  - id: q2\n    question: [unclosed\n")
    with pytest.raises(ContentError) as err:
        load_catalog([root])
    [problem] = [p for p in err.value.problems if p.startswith("more.yaml: cannot read: ")]
    assert "while parsing a flow sequence" in problem and "line 3, column 15:" in problem
    assert "    question: [unclosed\n" in problem and "^" in problem  # the line quoted, a caret at the column
