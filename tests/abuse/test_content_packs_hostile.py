"""Content packs are untrusted files: `studybot content check` refuses a hostile pack with a short, clear
line naming the file, in bounded time and memory, and what it accepts fits every button and card."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from adapters.discord.render import CUSTOM_ID_MAX, encode_custom_id
from adapters.slack.render import ACTION_ID_MAX, encode_action
from bot.catalog.content import load_catalog_keeping_good
from bot.composition.cli import main
from bot.kernel.types import Button
from bot.rules.review import REF_PREFIX

# What `content check` may print about a hostile pack: a few clear lines, never the pack's payload.
OUTPUT_MAX = 10_000
# The check's whole process, Python and the built-in pack included, stays well under this.
RSS_MAX_BYTES = 200 * 1024 * 1024

RESOURCE = {
    "id": "guide",
    "title": "A guide",
    "url": "https://example.org/guide",
    "kind": "docs",
    "stage": "python",  # a built-in stage and topic
    "topics": ["numpy"],
    "level": "beginner",
    "free": True,
    "description": "All about arrays.",
}


def quiz(cid: str = "q1", **change: Any) -> dict[str, Any]:
    return {
        "id": cid,
        "type": "quiz",
        "stage": "python",
        "topic": "numpy",
        "difficulty": 1,
        "question": f"Which array does {cid} use?",
        "options": ["one", "two", "three", "four"],
        "answer": "A",
        "explanation": "Because.",
        "resources": ["guide"],
        **change,
    }


def write_pack(root: Path, challenges: list[dict[str, Any]] | None = None, **resource: Any) -> Path:
    """A pack with one resource (`resource` changes its fields) and the given challenges."""
    (root / "challenges").mkdir(parents=True, exist_ok=True)
    (root / "resources.yaml").write_text(yaml.safe_dump({"resources": [{**RESOURCE, **resource}]}))
    body = yaml.safe_dump({"challenges": challenges if challenges is not None else [quiz()]})
    (root / "challenges" / "numpy.yaml").write_text(body)
    return root


def check(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *packs: Path
) -> tuple[int, str]:
    """Run `studybot content check <packs>` in this process; its exit code and everything it printed."""
    monkeypatch.chdir(packs[0].parent)  # no developer's .env
    code = main(["content", "check", *map(str, packs)])
    out, err = capsys.readouterr()
    return code, out + err


def refused(code: int, output: str, *lines: str) -> None:
    """Assert the pack was refused with each of `lines` (exactly as printed) and nothing big came out."""
    assert code == 1, output[:2000]
    assert "this pack would be refused" in output
    for line in lines:
        assert f"  {line}\n" in output, output[:2000]
    assert len(output) < OUTPUT_MAX, output[:2000]
    assert "Traceback" not in output


def billion_laughs() -> str:
    """A 618-byte quiz whose answer is an alias of anchors nested 8 deep: 9**8 (43 million) strings."""
    levels = ["  l0: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]"]
    for prev, cur in zip("abcdefg", "bcdefgh", strict=True):
        levels.append(f"  l{len(levels)}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    text = (
        textwrap.dedent("""\
        # A quiz about arrays, from the friendly folks of the numpy study club.
        challenges:
        - id: lol
          type: quiz
          stage: python
          topic: numpy
          difficulty: 1
          question: Which laugh is the longest?
          options: [one, two, three, four]
          explanation: Because.
          resources: [guide]
        """)
        + "\n".join(levels)
        + "\n  answer: *h\n"
    )
    return text + "#" * (617 - len(text.encode())) + "\n"


def test_a_billion_laughs_pack_is_refused_in_a_few_lines_and_bounded_memory(tmp_path: Path) -> None:
    pack = write_pack(tmp_path / "laughs")
    bomb = pack / "challenges" / "laughs.yaml"
    bomb.write_text(billion_laughs())
    assert bomb.stat().st_size == 618
    # A wrapper process runs the check as its only child, so RUSAGE_CHILDREN is the check's peak alone;
    # the address-space limit keeps a regression from eating the machine (the old code took ~1 GB).
    wrapper = textwrap.dedent(f"""\
        import resource, subprocess, sys
        def limit():
            resource.setrlimit(resource.RLIMIT_AS, (1536 << 20, 1536 << 20))
        done = subprocess.run(
            [sys.executable, "-m", "bot.composition.cli", "content", "check", {str(pack)!r}],
            capture_output=True, text=True, timeout=120, preexec_fn=limit,
        )
        sys.stdout.write(done.stdout + done.stderr)
        sys.stdout.write(f"\\nmaxrss={{resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}}\\n")
        sys.exit(done.returncode)
    """)
    done = subprocess.run(
        [sys.executable, "-c", wrapper], capture_output=True, text=True, timeout=180, cwd=tmp_path
    )
    output, _, rss = done.stdout.rpartition("\nmaxrss=")
    refused(
        done.returncode,
        output + "\n",
        "laughs.yaml: line 12: anchor &a: YAML anchors and aliases are not allowed in content packs "
        "(they let a small file expand without limit); write the value out",
    )
    assert int(rss) * 1024 < RSS_MAX_BYTES  # ru_maxrss is in KiB on Linux


def test_a_pack_with_an_alias_is_refused_naming_the_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pack = write_pack(tmp_path / "club")
    (pack / "challenges" / "more.yaml").write_text(
        "challenges:\n"
        "- id: q2\n  type: quiz\n  stage: python\n  topic: numpy\n  difficulty: 1\n"
        "  question: Why?\n  options: &four [one, two, three, four]\n  answer: A\n"
        "  explanation: Because.\n  resources: [guide]\n"
        "- id: q3\n  type: quiz\n  stage: python\n  topic: numpy\n  difficulty: 1\n"
        "  question: Why not?\n  options: *four\n  answer: B\n"
        "  explanation: Because.\n  resources: [guide]\n"
    )
    refused(
        *check(capsys, monkeypatch, pack),
        "more.yaml: line 8: anchor &four: YAML anchors and aliases are not allowed in content packs "
        "(they let a small file expand without limit); write the value out",
    )


def test_a_file_over_one_mib_is_refused_unread(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pack = write_pack(tmp_path / "club")
    padding = "# " + "x" * (2 << 20) + "\n"  # valid YAML: a quiz and a 2 MiB comment
    (pack / "challenges" / "big.yaml").write_text(yaml.safe_dump({"challenges": [quiz("q2")]}) + padding)
    refused(
        *check(capsys, monkeypatch, pack),
        "big.yaml: larger than 1 MiB; a pack file may be at most 1,048,576 bytes, so split it",
    )


def many_quizzes(count: int, start: int = 0) -> list[dict[str, Any]]:
    return [quiz(f"q{i}") for i in range(start, start + count)]


def test_a_pack_over_four_mib_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pack = write_pack(tmp_path / "club")
    for i in range(5):  # five valid files of 0.9 MiB each
        body = yaml.safe_dump({"challenges": [quiz(f"p{i}")]}) + "# " + "x" * (900 << 10) + "\n"
        (pack / "challenges" / f"part{i}.yaml").write_text(body)
    refused(
        *check(capsys, monkeypatch, pack),
        "part4.yaml: the pack's files come to more than 4 MiB, the most a pack may hold; "
        "split it into several packs",
    )


def test_a_pack_with_too_many_files_or_entries_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    files = write_pack(tmp_path / "files")
    for i in range(101):
        (files / "challenges" / f"f{i:03}.yaml").write_text(yaml.safe_dump({"challenges": [quiz(f"f{i}")]}))
    entries = write_pack(tmp_path / "entries")
    for i, name in enumerate("abcde"):  # 5 x 1,001 valid quizzes, each file within every other bound
        body = yaml.safe_dump({"challenges": many_quizzes(1001, 1001 * i)})
        (entries / "challenges" / f"{name}.yaml").write_text(body)
    code, output = check(capsys, monkeypatch, files, entries)
    refused(
        code,
        output,
        "challenges: more than 100 files, the most a pack may hold; merge some or split the pack",
        "e.yaml: the pack has more than 5,000 stages, resources and challenges, the most a pack may "
        "hold; split it into several packs",
    )


def test_a_deeply_nested_file_is_refused_not_a_crash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pack = write_pack(tmp_path / "club")
    # Deeper than libyaml's own limit (1,000), so the pure-Python parser runs (and used to recurse).
    (pack / "challenges" / "deep.yaml").write_text("challenges: " + "[" * 1000 + "]" * 1000 + "\n")
    refused(*check(capsys, monkeypatch, pack), "deep.yaml: line 1: nested more than 10 levels deep")


def test_an_id_too_long_for_a_button_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    long_id = "q" * 150
    pack = write_pack(tmp_path / "club", [quiz(long_id)], id="r" * 41)
    code, output = check(capsys, monkeypatch, pack)
    refused(
        code,
        output,
        f"numpy.yaml: entry 1: `id` '{'q' * 60}…' is 150 characters; at most 40",
        f"resources.yaml: entry 1: `id` '{'r' * 41}' is 41 characters; at most 40",
    )
    assert long_id not in output


def test_a_pack_name_too_long_for_a_button_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pack = write_pack(tmp_path / ("a" * 21))
    code, output = check(capsys, monkeypatch, pack)
    assert code == 1 and len(output) < OUTPUT_MAX
    assert (
        f"  {pack}: a pack's directory name must be 1 to 20 lowercase letters, digits, '-' or '_' (its ids "
        "are prefixed with it, and every id must fit in a button); rename it\n"
    ) in output


def longest_pack(root: Path, stage: str, topic: str, challenge: str) -> Path:
    """A pack with one stage, one topic and one quiz with the given ids."""
    (root / "challenges").mkdir(parents=True)
    topics = [{"id": topic, "title": "T", "description": "D"}]
    stages = [{"id": stage, "title": "S", "summary": "S", "weeks": 1, "topics": topics}]
    (root / "stages.yaml").write_text(yaml.safe_dump({"stages": stages}))
    longest = quiz(challenge, stage=stage, topic=topic, resources=["numpy-user-guide"])
    (root / "challenges" / "c.yaml").write_text(yaml.safe_dump({"challenges": [longest]}))
    return root


def test_the_longest_ids_a_pack_may_have_fit_every_button_on_both_platforms(tmp_path: Path) -> None:
    fits = longest_pack(tmp_path / ("p" * 20), "s" * 24, "t" * 32, "c" * 40)
    too_long = longest_pack(tmp_path / "more", "s" * 25, "t" * 33, "c" * 41)
    catalog, refused_packs = load_catalog_keeping_good([fits, too_long])
    assert list(refused_packs) == [too_long]
    assert [p.split(": `id` ")[1] for p in refused_packs[too_long] if ": `id` " in p] == [
        f"'{'t' * 33}' is 33 characters; at most 32",
        f"'{'s' * 25}' is 25 characters; at most 24",
        f"'{'c' * 41}' is 41 characters; at most 40",
    ]
    # The buttons as features/review.py (a review answer) and features/roadmap.py (a topic learned) make.
    buttons = [Button(x, "answer", (x, REF_PREFIX + cid)) for cid in catalog.challenges for x in "ABCD"]
    buttons += [Button("Learned", "learned", (f"{s.id}/{t.id}",)) for s in catalog.stages for t in s.topics]
    widest = max(len(encode_custom_id(b)) for b in buttons)  # raises if any is over Discord's limit
    assert widest == 92 <= CUSTOM_ID_MAX  # the learned button of the longest pack's topic
    assert all(len(encode_action(b)) <= ACTION_ID_MAX for b in buttons)


@pytest.mark.parametrize(
    "url",
    [
        "https://example.org/x><!channel>|click",
        'https://example.org/"onmouseover="x',
        "https://example.org/a\\b",
        "https://example.org/a\tb",
        "https://example.org/a\u2028b",
        "https://discord.com@evil.example/claim",
        "https://evil.example/a)[Claim](https://evil2.example/b*c*~~d~~",
        "https://example.org/" + "x" * 300,
    ],
)
def test_a_url_that_is_not_one_plain_link_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    code, output = check(capsys, monkeypatch, write_pack(tmp_path / "club", url=url))
    refused(code, output)
    [line] = [line for line in output.splitlines() if "`url`" in line]
    assert line.startswith("  resources.yaml: guide: `url` ")
    assert any(
        reason in line
        for reason in ("a URL must be one plain link", "hides where the link goes", "characters; at most 300")
    ), line
    assert len(line) < 250 and "x" * 61 not in line


def test_wrong_types_and_oversized_text_get_a_clear_line_not_a_crash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    challenges = [
        quiz("q1", question=12),
        quiz("q2", options={"a": "b"}),
        quiz("q3", answer=["A"]),
        quiz("q4", difficulty=True),
        quiz("q5", question="Why? " * 1000),
        quiz("q6", options=["one", "two", "three", "four" * 60]),
        quiz("q7", type=["quiz"]),
        quiz("q8", resources=[f"r{i}" for i in range(6)]),
    ]
    pack = write_pack(tmp_path / "club", challenges, title="T" * 101, free="yes")
    # A value YAML reads as a date that cannot be one.
    (pack / "challenges" / "dates.yaml").write_text("challenges:\n- id: d1\n  question: 2026-13-45\n")
    # A tag no safe loader builds, and PyYAML's message quotes whole.
    tag = "!!python/object:" + "A" * 20_000
    (pack / "challenges" / "tags.yaml").write_text(f"challenges:\n- id: t1\n  question: {tag} x\n")
    refused(
        *check(capsys, monkeypatch, pack),
        "numpy.yaml: q1: `question` must be a non-empty string, not a number",
        "numpy.yaml: q2: `options` must be a non-empty list of strings",
        "numpy.yaml: q3: `answer` must be a letter A-D, not a list",
        "numpy.yaml: q4: `difficulty` must be 1, 2 or 3",
        f"numpy.yaml: q5: `question` '{('Why? ' * 12)}…' is 4,999 characters; at most 1,000",
        f"numpy.yaml: q6: `options`: '{'four' * 15}…' is longer than 200 characters",
        "numpy.yaml: q7: `type` must be quiz or task",
        "numpy.yaml: q8: `resources` lists 6; at most 5",
        f"resources.yaml: guide: `title` '{'T' * 60}…' is 101 characters; at most 100",
        "resources.yaml: guide: `free` must be true or false",
        "dates.yaml: cannot read: 'month must be in 1..12'; quote the value",
        "tags.yaml: cannot read: could not determine a constructor for the tag "
        "'tag:yaml.org,2002:python/object:" + "A" * 41 + "…",
    )


def test_the_builtin_pack_passes_every_bound(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("STUDYBOT_CONTENT_DIRS", raising=False)
    assert main(["content", "check"]) == 0
    assert "OK: " in capsys.readouterr().out


def test_a_pack_with_thousands_of_problems_prints_a_bounded_list(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every entry of a generated file broken the same way: the check must not print megabytes.
    pack = write_pack(tmp_path / "club", challenges=[{"type": "quiz", "id": "A" * 40} for _ in range(4000)])
    code, output = check(capsys, monkeypatch, pack)
    refused(code, output)
    assert "more problem(s) like these; fix those above first" in output
    assert len(output) < 30_000
