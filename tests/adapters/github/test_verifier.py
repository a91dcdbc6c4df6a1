"""GitHubVerifier through gidgethub and aiohttp against the fake GitHub: what it asks, what a member reads."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest

from adapters.github.verifier import (
    NOT_GITHUB,
    RATE_LIMITED,
    TOO_SLOW,
    UNREACHABLE,
    UNREADABLE,
    GitHubVerifier,
)
from bot.kernel.types import Evidence, EvidenceKind, Verification, Verified
from tests.fakes.github import FakeCommit, FakeGitHub

# When the task was posted, and a moment before and after it.
POSTED = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)
BEFORE = dt.datetime(2026, 11, 20, 17, 30, tzinfo=dt.UTC)
AFTER = dt.datetime(2026, 11, 23, 13, 15, tzinfo=dt.UTC)
TOKEN = "ghp_s3cretT0kenValue"


@pytest.fixture
async def github() -> AsyncIterator[FakeGitHub]:
    async with FakeGitHub() as fake:
        yield fake


@pytest.fixture
async def verifier(github: FakeGitHub) -> AsyncIterator[GitHubVerifier]:
    v = GitHubVerifier(base_url=github.url)
    yield v
    await v.close()


def repo_link(owner: str = "ada", repo: str = "notes") -> Evidence:
    return Evidence(f"https://github.com/{owner}/{repo}", EvidenceKind.GITHUB_REPO, owner, repo)


def commit_link(sha: str, owner: str = "ada", repo: str = "notes") -> Evidence:
    return Evidence(
        f"https://github.com/{owner}/{repo}/commit/{sha}", EvidenceKind.GITHUB_COMMIT, owner, repo, sha
    )


def pull_link(number: str, owner: str = "ada", repo: str = "notes") -> Evidence:
    return Evidence(
        f"https://github.com/{owner}/{repo}/pull/{number}", EvidenceKind.GITHUB_PULL, owner, repo, number
    )


def gist_link(gist_id: str) -> Evidence:
    return Evidence(f"https://gist.github.com/ada/{gist_id}", EvidenceKind.GIST, "ada", gist_id)


def paths(github: FakeGitHub) -> list[str]:
    return [f"{r.method} {r.path}" for r in github.requests]


# Repositories


async def test_a_public_repository_with_a_commit_after_the_task_is_verified(
    github: FakeGitHub, verifier: GitHubVerifier
) -> None:
    github.add_repo("ada", "notes", commits=[FakeCommit("aaa111", BEFORE), FakeCommit("bbb222", AFTER)])

    result = await verifier.verify(repo_link(), POSTED)

    assert result == Verification(Verified.YES, "public repository with a commit after the task was posted")
    assert paths(github) == ["GET /repos/ada/notes", "GET /repos/ada/notes/commits"]
    assert github.requests[1].query == {"since": "2026-11-23T08:00:00Z", "per_page": "1"}
    assert [r.authorization for r in github.requests] == [None, None]


async def test_since_goes_out_in_utc_whatever_zone_it_came_in(
    github: FakeGitHub, verifier: GitHubVerifier
) -> None:
    github.add_repo("ada", "notes", commits=[FakeCommit("bbb222", AFTER)])
    berlin = dt.timezone(dt.timedelta(hours=1))

    result = await verifier.verify(repo_link(), POSTED.astimezone(berlin))

    assert result.status is Verified.YES
    assert github.requests[1].query["since"] == "2026-11-23T08:00:00Z"


async def test_a_repository_without_a_commit_since_the_task_fails(
    github: FakeGitHub, verifier: GitHubVerifier
) -> None:
    github.add_repo("ada", "notes", commits=[FakeCommit("aaa111", BEFORE)])

    result = await verifier.verify(repo_link(), POSTED)

    assert result == Verification(Verified.NO, "no commit since the task was posted (2026-11-23)")


async def test_a_missing_repository_fails_after_one_request(
    github: FakeGitHub, verifier: GitHubVerifier
) -> None:
    result = await verifier.verify(repo_link("ada", "nothing"), POSTED)

    assert result == Verification(Verified.NO, "the repository ada/nothing is private or does not exist")
    assert paths(github) == ["GET /repos/ada/nothing"]


async def test_a_private_repository_looks_missing_without_a_token(
    github: FakeGitHub, verifier: GitHubVerifier
) -> None:
    github.add_repo("ada", "secret", private=True, commits=[FakeCommit("bbb222", AFTER)])

    result = await verifier.verify(repo_link("ada", "secret"), POSTED)

    assert result == Verification(Verified.NO, "the repository ada/secret is private or does not exist")


async def test_a_private_repository_seen_with_a_token_says_to_make_it_public(github: FakeGitHub) -> None:
    github.add_repo("ada", "secret", private=True, commits=[FakeCommit("bbb222", AFTER)])
    verifier = GitHubVerifier(token=TOKEN, base_url=github.url)
    try:
        result = await verifier.verify(repo_link("ada", "secret"), POSTED)
    finally:
        await verifier.close()

    assert result == Verification(
        Verified.NO, "the repository ada/secret is private: make it public so reviewers can see it"
    )
    assert paths(github) == ["GET /repos/ada/secret"]


async def test_an_empty_repository_fails(github: FakeGitHub, verifier: GitHubVerifier) -> None:
    github.add_repo("ada", "notes")

    result = await verifier.verify(repo_link(), POSTED)

    assert result == Verification(Verified.NO, "the repository is empty")
    assert paths(github) == ["GET /repos/ada/notes", "GET /repos/ada/notes/commits"]


# Commits


async def test_a_commit_after_the_task_is_verified_with_one_request(
    github: FakeGitHub, verifier: GitHubVerifier
) -> None:
    github.add_repo("ada", "notes", commits=[FakeCommit("bbb222ccc333", AFTER)])

    result = await verifier.verify(commit_link("bbb222ccc333"), POSTED)

    assert result == Verification(Verified.YES, "public commit made after the task was posted")
    assert paths(github) == ["GET /repos/ada/notes/commits/bbb222ccc333"]


async def test_a_commit_from_before_the_task_fails_with_its_date(
    github: FakeGitHub, verifier: GitHubVerifier
) -> None:
    github.add_repo("ada", "notes", commits=[FakeCommit("aaa111", BEFORE)])

    result = await verifier.verify(commit_link("aaa111"), POSTED)

    assert result == Verification(Verified.NO, "the commit is from 2026-11-20, before the task was posted")


async def test_a_commit_counts_from_its_committer_date(github: FakeGitHub, verifier: GitHubVerifier) -> None:
    # Written before the task, rebased onto it after: the committer date is when it landed.
    github.add_repo("ada", "notes", commits=[FakeCommit("ccc333", AFTER, author_date=BEFORE)])

    result = await verifier.verify(commit_link("ccc333"), POSTED)

    assert result.status is Verified.YES


@pytest.mark.parametrize(("owner", "repo"), [("ada", "notes"), ("ada", "nothing")])
async def test_an_unknown_commit_fails(
    github: FakeGitHub, verifier: GitHubVerifier, owner: str, repo: str
) -> None:
    # In an existing repository GitHub answers 422, in a missing one 404.
    github.add_repo("ada", "notes", commits=[FakeCommit("aaa111", AFTER)])

    result = await verifier.verify(commit_link("deadbeef0123456789", owner, repo), POSTED)

    assert result == Verification(
        Verified.NO, f"commit deadbeef0123 not found in {owner}/{repo} (or the repository is private)"
    )


async def test_a_commit_in_a_private_repository_fails_when_a_token_shows_it(github: FakeGitHub) -> None:
    github.add_repo("ada", "secret", private=True, commits=[FakeCommit("bbb222", AFTER)])
    verifier = GitHubVerifier(token=TOKEN, base_url=github.url)
    try:
        result = await verifier.verify(commit_link("bbb222", "ada", "secret"), POSTED)
    finally:
        await verifier.close()

    assert result == Verification(
        Verified.NO, "the repository ada/secret is private: make it public so reviewers can see it"
    )


# Pull requests


async def test_a_pull_request_updated_after_the_task_is_verified(
    github: FakeGitHub, verifier: GitHubVerifier
) -> None:
    github.add_repo("ada", "notes").add_pull(7, AFTER)

    result = await verifier.verify(pull_link("7"), POSTED)

    assert result == Verification(Verified.YES, "public pull request updated after the task was posted")
    assert paths(github) == ["GET /repos/ada/notes/pulls/7"]


async def test_a_pull_request_last_updated_before_the_task_fails(
    github: FakeGitHub, verifier: GitHubVerifier
) -> None:
    github.add_repo("ada", "notes").add_pull(7, BEFORE)

    result = await verifier.verify(pull_link("7"), POSTED)

    assert result == Verification(
        Verified.NO, "the pull request was last updated 2026-11-20, before the task was posted"
    )


async def test_a_missing_pull_request_fails(github: FakeGitHub, verifier: GitHubVerifier) -> None:
    github.add_repo("ada", "notes").add_pull(7, AFTER)

    result = await verifier.verify(pull_link("8"), POSTED)

    assert result == Verification(
        Verified.NO, "pull request #8 not found in ada/notes (or the repository is private)"
    )


# Gists


async def test_a_public_gist_updated_after_the_task_is_verified(
    github: FakeGitHub, verifier: GitHubVerifier
) -> None:
    github.add_gist("0a1b2c3d4e", "ada", AFTER)

    result = await verifier.verify(gist_link("0a1b2c3d4e"), POSTED)

    assert result == Verification(Verified.YES, "public gist updated after the task was posted")
    assert paths(github) == ["GET /gists/0a1b2c3d4e"]


async def test_a_secret_gist_is_verified_and_says_it_is_secret(
    github: FakeGitHub, verifier: GitHubVerifier
) -> None:
    github.add_gist("5f6e7d", "ada", AFTER, public=False)

    result = await verifier.verify(gist_link("5f6e7d"), POSTED)

    assert result == Verification(
        Verified.YES, "secret gist (anyone with the link can see it) updated after the task was posted"
    )


@pytest.mark.parametrize("public", [True, False])
async def test_a_gist_last_updated_before_the_task_fails(
    github: FakeGitHub, verifier: GitHubVerifier, public: bool
) -> None:
    github.add_gist("5f6e7d", "ada", BEFORE, public=public)

    result = await verifier.verify(gist_link("5f6e7d"), POSTED)

    assert result == Verification(
        Verified.NO, "the gist was last updated 2026-11-20, before the task was posted"
    )


async def test_a_missing_gist_fails(github: FakeGitHub, verifier: GitHubVerifier) -> None:
    result = await verifier.verify(gist_link("5f6e7d"), POSTED)

    assert result == Verification(Verified.NO, "the gist 5f6e7d does not exist or was deleted")


# What is not checked


@pytest.mark.parametrize(
    "kind",
    [
        k
        for k in EvidenceKind
        if k
        not in {
            EvidenceKind.GITHUB_REPO,
            EvidenceKind.GITHUB_COMMIT,
            EvidenceKind.GITHUB_PULL,
            EvidenceKind.GIST,
        }
    ],
)
async def test_other_links_are_left_to_reviewers_without_a_request(
    github: FakeGitHub, verifier: GitHubVerifier, kind: EvidenceKind
) -> None:
    result = await verifier.verify(
        Evidence("https://www.kaggle.com/code/ada/notes", kind, "ada", "notes"), POSTED
    )

    assert result == Verification(Verified.UNCHECKED, NOT_GITHUB)
    assert NOT_GITHUB == "studybot can only check GitHub links; reviewers will look at it"
    assert github.requests == []


@pytest.mark.parametrize("status", [403, 429])
async def test_a_rate_limit_leaves_it_unchecked_with_the_token_hint(
    github: FakeGitHub, verifier: GitHubVerifier, status: int
) -> None:
    github.add_repo("ada", "notes", commits=[FakeCommit("bbb222", AFTER)])
    github.remaining, github.limit_status = 0, status

    result = await verifier.verify(repo_link(), POSTED)

    assert result == Verification(
        Verified.UNCHECKED, "GitHub's rate limit is reached; set GITHUB_TOKEN for more"
    )
    assert RATE_LIMITED == result.detail
    assert paths(github) == ["GET /repos/ada/notes"]


async def test_a_rate_limit_on_the_second_request_leaves_it_unchecked(
    github: FakeGitHub, verifier: GitHubVerifier
) -> None:
    github.add_repo("ada", "notes", commits=[FakeCommit("bbb222", AFTER)])
    github.remaining = 1

    result = await verifier.verify(repo_link(), POSTED)

    assert result == Verification(Verified.UNCHECKED, RATE_LIMITED)
    assert len(github.requests) == 2


@pytest.mark.parametrize(
    ("status", "detail"),
    [
        (502, "GitHub is having trouble (HTTP 502)"),
        (401, "GitHub refused studybot's token; check GITHUB_TOKEN"),
        (451, "GitHub refused the request (HTTP 451)"),
    ],
)
async def test_an_error_answer_leaves_it_unchecked(
    github: FakeGitHub, verifier: GitHubVerifier, status: int, detail: str
) -> None:
    github.add_repo("ada", "notes", commits=[FakeCommit("bbb222", AFTER)])
    github.fail_with = status

    result = await verifier.verify(repo_link(), POSTED)

    assert result == Verification(Verified.UNCHECKED, detail)


async def test_a_slow_github_leaves_it_unchecked_within_the_timeout(github: FakeGitHub) -> None:
    github.add_repo("ada", "notes", commits=[FakeCommit("bbb222", AFTER)])
    github.delay = 5.0
    verifier = GitHubVerifier(base_url=github.url, timeout=0.2)
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        result = await verifier.verify(repo_link(), POSTED)
    finally:
        await verifier.close()

    assert result == Verification(Verified.UNCHECKED, "GitHub did not answer in time")
    assert TOO_SLOW == result.detail
    assert loop.time() - started < 1.0
    assert paths(github) == ["GET /repos/ada/notes"]


async def test_an_unreachable_github_leaves_it_unchecked() -> None:
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens on it
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    verifier = GitHubVerifier(base_url=f"http://127.0.0.1:{port}")
    try:
        result = await verifier.verify(repo_link(), POSTED)
    finally:
        await verifier.close()

    assert result == Verification(Verified.UNCHECKED, "could not reach GitHub")
    assert UNREACHABLE == result.detail


# Tokens


async def test_the_token_goes_in_every_request_and_not_in_the_log(
    github: FakeGitHub, caplog: pytest.LogCaptureFixture
) -> None:
    github.add_repo("ada", "notes", commits=[FakeCommit("bbb222", AFTER)])
    verifier = GitHubVerifier(token=TOKEN, base_url=github.url)
    try:
        assert (await verifier.verify(repo_link(), POSTED)).status is Verified.YES
        github.remaining = 0
        with caplog.at_level(logging.WARNING, logger="adapters.github.verifier"):
            assert (await verifier.verify(repo_link(), POSTED)).detail == RATE_LIMITED
    finally:
        await verifier.close()

    assert [r.authorization for r in github.requests] == [f"token {TOKEN}"] * 3
    warnings = [r for r in caplog.records if r.name == "adapters.github.verifier"]
    assert [r.levelno for r in warnings] == [logging.WARNING]
    assert "https://github.com/ada/notes" in warnings[0].getMessage()
    assert TOKEN not in caplog.text


async def test_no_authorization_header_without_a_token(github: FakeGitHub) -> None:
    github.add_repo("ada", "notes", commits=[FakeCommit("bbb222", AFTER)])
    verifier = GitHubVerifier(token="", base_url=github.url)  # an unset GITHUB_TOKEN can arrive empty
    try:
        await verifier.verify(repo_link(), POSTED)
    finally:
        await verifier.close()

    assert [r.authorization for r in github.requests] == [None, None]


# Crafted names


async def test_a_crafted_owner_stays_inside_one_path_segment(
    github: FakeGitHub, verifier: GitHubVerifier
) -> None:
    github.add_repo("x", "notes", commits=[FakeCommit("bbb222", AFTER)])

    result = await verifier.verify(repo_link("a/../../x", "notes"), POSTED)

    assert paths(github) == ["GET /repos/a%2F..%2F..%2Fx/notes"]
    assert result == Verification(Verified.NO, "the repository a/../../x/notes is private or does not exist")


async def test_a_crafted_ref_or_gist_id_stays_inside_one_path_segment(
    github: FakeGitHub, verifier: GitHubVerifier
) -> None:
    github.add_repo("ada", "notes", commits=[FakeCommit("bbb222", AFTER)])
    github.add_gist("abc", "ada", AFTER)

    await verifier.verify(commit_link("../../../../gists/abc?x=#frag"), POSTED)
    await verifier.verify(pull_link("7/../../../../../gists/abc"), POSTED)
    await verifier.verify(gist_link("{id}/../abc"), POSTED)

    # yarl sends "=" as it is: harmless inside a path segment.
    assert paths(github) == [
        "GET /repos/ada/notes/commits/..%2F..%2F..%2F..%2Fgists%2Fabc%3Fx=%23frag",
        "GET /repos/ada/notes/pulls/7%2F..%2F..%2F..%2F..%2F..%2Fgists%2Fabc",
        "GET /gists/%7Bid%7D%2F..%2Fabc",
    ]
    assert [r.query for r in github.requests] == [{}, {}, {}]


@pytest.mark.parametrize(
    "evidence",
    [repo_link("..", "notes"), repo_link("ada", "."), commit_link(".."), pull_link(""), gist_link("..")],
)
async def test_dot_segments_are_never_looked_up(
    github: FakeGitHub, verifier: GitHubVerifier, evidence: Evidence
) -> None:
    # A URL client resolves "/repos/../notes" to "/notes" before sending it: quoting cannot help.
    result = await verifier.verify(evidence, POSTED)

    assert result == Verification(Verified.UNCHECKED, UNREADABLE)
    assert github.requests == []


# The session


async def test_a_given_session_is_used_and_left_open(github: FakeGitHub) -> None:
    github.add_repo("ada", "notes", commits=[FakeCommit("bbb222", AFTER)])
    session = aiohttp.ClientSession()
    verifier = GitHubVerifier(base_url=github.url, session=session)
    assert (await verifier.verify(repo_link(), POSTED)).status is Verified.YES
    await verifier.close()
    assert not session.closed
    await session.close()

    # The verifier goes on using the session it was given, even once its owner closed it; still no raise.
    verifier = GitHubVerifier(base_url=github.url, session=session)
    assert await verifier.verify(repo_link(), POSTED) == Verification(
        Verified.UNCHECKED, "studybot could not check it (RuntimeError)"
    )
    assert len(github.requests) == 2


async def test_close_closes_the_session_it_opened_and_a_later_check_opens_another(github: FakeGitHub) -> None:
    github.add_repo("ada", "notes", commits=[FakeCommit("bbb222", AFTER)])
    verifier = GitHubVerifier(base_url=github.url)
    await verifier.close()  # nothing opened yet: nothing to close
    assert (await verifier.verify(repo_link(), POSTED)).status is Verified.YES
    opened = verifier._session
    assert opened is not None
    await verifier.close()
    assert opened.closed
    assert (await verifier.verify(repo_link(), POSTED)).status is Verified.YES
    await verifier.close()
