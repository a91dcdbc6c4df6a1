"""The content model: stages and their topics, resources, challenges, and the Catalog holding them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar, cast

T = TypeVar("T")

RESOURCE_KINDS = ("docs", "course", "book", "dataset", "tool", "practice", "certification", "community")
LEVELS = ("beginner", "intermediate", "advanced")
LETTERS = ("A", "B", "C", "D")


@dataclass(frozen=True)
class Topic:
    id: str
    title: str
    description: str


@dataclass(frozen=True)
class Stage:
    id: str
    title: str
    summary: str
    weeks: int
    topics: tuple[Topic, ...]


@dataclass(frozen=True)
class Resource:
    id: str
    title: str
    url: str
    kind: str
    stage: str
    topics: tuple[str, ...]
    level: str
    free: bool
    description: str
    # Certifications and platforms change: the date by which a maintainer should check the page again.
    review_by: dt.date | None = None


@dataclass(frozen=True)
class Challenge:
    """A quiz (question, four options, answer letter, explanation) or a practical task."""

    id: str
    type: str  # "quiz" or "task"
    stage: str
    topic: str
    difficulty: int
    resources: tuple[str, ...]
    question: str = ""
    options: tuple[str, ...] = ()
    answer: str = ""
    explanation: str = ""
    instructions: str = ""
    done_when: str = ""
    expected: str = ""  # a task's result where one exists (a probability, a count), shown after check-in
    checklist: tuple[str, ...] = ()  # what a reviewer of a task's work looks for

    @property
    def is_quiz(self) -> bool:
        return self.type == "quiz"

    def quiz_text(self) -> str:
        """The question and its lettered options."""
        options = "\n".join(
            f"{letter}) {option}" for letter, option in zip(LETTERS, self.options, strict=True)
        )
        return f"{self.question}\n\n{options}"

    def answer_text(self) -> str:
        """The right option with its letter, e.g. `C) 3.5`."""
        return f"{self.answer}) {self.options[LETTERS.index(self.answer)]}"


@dataclass
class Catalog:
    """All content, in roadmap order, with lookups by id."""

    stages: list[Stage] = field(default_factory=list)
    resources: dict[str, Resource] = field(default_factory=dict)
    challenges: dict[str, Challenge] = field(default_factory=dict)
    # Indexes built from the content (search, autocomplete), kept with it so each is built once.
    indexes: dict[str, object] = field(default_factory=dict, repr=False, compare=False)

    def index(self, name: str, build: Callable[[Catalog], T]) -> T:
        """The index called `name`, built by `build(self)` the first time it is asked for."""
        if name not in self.indexes:
            self.indexes[name] = build(self)
        return cast(T, self.indexes[name])

    def stage(self, stage_id: str) -> Stage | None:
        return next((s for s in self.stages if s.id == stage_id), None)

    def is_quiz(self, challenge_id: str) -> bool:
        """Whether `challenge_id` is a quiz of this catalog (a pack reload may have dropped it)."""
        challenge = self.challenges.get(challenge_id)
        return challenge is not None and challenge.is_quiz

    def ordered_challenges(self) -> list[Challenge]:
        """Challenges in roadmap order: by stage, then by id."""
        rank = {s.id: i for i, s in enumerate(self.stages)}
        return sorted(self.challenges.values(), key=lambda c: (rank.get(c.stage, len(rank)), c.id))
