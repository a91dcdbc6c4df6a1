"""An aiohttp fake of the GitHub REST API on 127.0.0.1, so gidgethub's real aiohttp code runs in tests.

``FakeGitHub`` (an async context manager) serves, on a free port, from an in-memory model:

* ``GET /repos/{owner}/{repo}``; a private repository answers only a request with a token, as GitHub does.
* ``GET /repos/{owner}/{repo}/commits?since=&per_page=``: newest first, ``since`` by committer date;
  409 "Git Repository is empty." for a repository without commits.
* ``GET /repos/{owner}/{repo}/commits/{sha}`` (a unique prefix is enough; 422 for an unknown sha).
* ``GET /repos/{owner}/{repo}/pulls/{number}`` and ``GET /gists/{id}``.

Anything else is a 404 ``{"message": "Not Found"}``. Every answer carries GitHub's JSON content type and
``x-ratelimit-*`` headers. Switches: ``remaining = 0`` answers 403 rate-limited (``limit_status = 429``
for the other form), ``fail_with = 502`` (or 401 ...) answers that status, ``delay = 1.0`` holds each
answer back. Each request is kept in ``requests`` with its raw path, as it went over the wire.

Use::

    async with FakeGitHub() as github:
        github.add_repo("ada", "notes", commits=[FakeCommit("a1b2c3", when)])
        verifier = GitHubVerifier(base_url=github.url)
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import unquote

from aiohttp import web
from aiohttp.test_utils import TestServer

# GitHub's hourly request allowance without and with a token.
ANONYMOUS_LIMIT = 60
TOKEN_LIMIT = 5000
DOCS = "https://docs.github.com/rest"


@dataclass
class FakeCommit:
    sha: str
    date: dt.datetime  # the committer date, which `since` filters on
    message: str = "work on the task"
    author_date: dt.datetime | None = None  # defaults to `date`


@dataclass
class FakePull:
    number: int
    updated_at: dt.datetime
    title: str = "Solve the task"
    state: str = "open"


@dataclass
class FakeRepo:
    owner: str
    name: str
    private: bool = False
    commits: list[FakeCommit] = field(default_factory=list)
    pulls: dict[int, FakePull] = field(default_factory=dict)

    def add_pull(self, number: int, updated_at: dt.datetime) -> FakePull:
        self.pulls[number] = FakePull(number, updated_at)
        return self.pulls[number]


@dataclass
class FakeGist:
    id: str
    owner: str
    updated_at: dt.datetime
    public: bool = True


@dataclass(frozen=True)
class Request:
    """One request as it arrived: `path` is the raw (still percent-encoded) path."""

    method: str
    path: str
    query: dict[str, str]
    authorization: str | None


class FakeGitHub:
    """The fake server and its model; `url` is the base URL to hand to GitHubVerifier."""

    def __init__(self) -> None:
        self.repos: dict[tuple[str, str], FakeRepo] = {}
        self.gists: dict[str, FakeGist] = {}
        self.requests: list[Request] = []
        self.remaining = ANONYMOUS_LIMIT  # requests left this hour; 0 answers every request rate-limited
        self.limit_status = 403  # GitHub answers a spent rate limit with 403, sometimes 429
        self.fail_with: int | None = None  # a status (5xx, 401 ...) to answer everything with
        self.delay = 0.0  # seconds to hold back each answer
        self._stopping = asyncio.Event()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._server = TestServer(app, host="127.0.0.1")

    @property
    def url(self) -> str:
        return str(self._server.make_url("")).rstrip("/")

    async def __aenter__(self) -> FakeGitHub:
        await self._server.start_server()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stopping.set()  # a delayed answer goes out now instead of holding the shutdown up
        await self._server.close()

    def add_repo(
        self, owner: str, name: str, *, private: bool = False, commits: list[FakeCommit] | None = None
    ) -> FakeRepo:
        repo = FakeRepo(owner, name, private, list(commits or []))
        self.repos[(owner.lower(), name.lower())] = repo
        return repo

    def add_gist(self, gist_id: str, owner: str, updated_at: dt.datetime, *, public: bool = True) -> FakeGist:
        self.gists[gist_id] = FakeGist(gist_id, owner, updated_at, public)
        return self.gists[gist_id]

    async def _handle(self, request: web.Request) -> web.Response:
        token = request.headers.get("Authorization")
        self.requests.append(
            Request(request.method, request.raw_path.split("?")[0], dict(request.query), token)
        )
        if self.delay:
            try:
                await asyncio.wait_for(self._stopping.wait(), self.delay)
            except TimeoutError:
                pass
        limit = TOKEN_LIMIT if token else ANONYMOUS_LIMIT
        if self.remaining <= 0:
            message = "API rate limit exceeded for 127.0.0.1."
            return self._json({"message": message, "documentation_url": DOCS}, self.limit_status, limit)
        self.remaining -= 1
        if self.fail_with is not None:
            message = "Bad credentials" if self.fail_with == 401 else "Server Error"
            return self._json({"message": message, "documentation_url": DOCS}, self.fail_with, limit)
        # Split the raw path before decoding, so "%2F" inside a name never counts as a separator.
        segments = [unquote(s) for s in request.raw_path.split("?")[0].split("/")[1:]]
        status, body = self._answer(request.method, segments, request.query, authorized=token is not None)
        return self._json(body, status, limit)

    def _answer(
        self, method: str, segments: list[str], query: Mapping[str, str], *, authorized: bool
    ) -> tuple[int, Any]:
        not_found = (404, {"message": "Not Found", "documentation_url": DOCS})
        if method != "GET":
            return not_found
        if len(segments) == 2 and segments[0] == "gists":
            gist = self.gists.get(segments[1])
            return (200, _gist_json(gist)) if gist else not_found
        if len(segments) < 3 or segments[0] != "repos":
            return not_found
        repo = self.repos.get((segments[1].lower(), segments[2].lower()))
        if repo is None or (repo.private and not authorized):
            return not_found
        rest = segments[3:]
        if not rest:
            return 200, _repo_json(repo)
        if rest == ["commits"]:
            return self._commits(repo, query)
        if len(rest) == 2 and rest[0] == "commits":
            found = [c for c in repo.commits if c.sha.startswith(rest[1])] if rest[1] else []
            if len(found) != 1:
                return 422, {"message": f"No commit found for SHA: {rest[1]}", "documentation_url": DOCS}
            return 200, _commit_json(repo, found[0])
        if len(rest) == 2 and rest[0] == "pulls" and rest[1].isdigit():
            pull = repo.pulls.get(int(rest[1]))
            return (200, _pull_json(repo, pull)) if pull else not_found
        return not_found

    def _commits(self, repo: FakeRepo, query: Mapping[str, str]) -> tuple[int, Any]:
        if not repo.commits:
            return 409, {"message": "Git Repository is empty.", "documentation_url": DOCS}
        commits = sorted(repo.commits, key=lambda c: c.date, reverse=True)
        if "since" in query:
            since = dt.datetime.fromisoformat(query["since"])
            commits = [c for c in commits if c.date >= since]
        per_page = min(int(query.get("per_page", 30)), 100)
        return 200, [_commit_json(repo, c) for c in commits[:per_page]]

    def _json(self, body: Any, status: int, limit: int) -> web.Response:
        headers = {
            "x-ratelimit-limit": str(limit),
            "x-ratelimit-remaining": str(max(self.remaining, 0)),
            "x-ratelimit-reset": str(int(time.time()) + 3600),
            "x-ratelimit-resource": "core",
            "x-github-media-type": "github.v3; format=json",
        }
        return web.json_response(body, status=status, headers=headers)


def _stamp(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _repo_json(repo: FakeRepo) -> dict[str, Any]:
    full_name = f"{repo.owner}/{repo.name}"
    return {
        "name": repo.name,
        "full_name": full_name,
        "owner": {"login": repo.owner, "type": "User"},
        "private": repo.private,
        "visibility": "private" if repo.private else "public",
        "html_url": f"https://github.com/{full_name}",
        "default_branch": "main",
        "pushed_at": _stamp(
            max((c.date for c in repo.commits), default=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
        ),
    }


def _commit_json(repo: FakeRepo, commit: FakeCommit) -> dict[str, Any]:
    author = {"name": repo.owner, "email": f"{repo.owner}@example.com"}
    return {
        "sha": commit.sha,
        "html_url": f"https://github.com/{repo.owner}/{repo.name}/commit/{commit.sha}",
        "commit": {
            "message": commit.message,
            "author": {**author, "date": _stamp(commit.author_date or commit.date)},
            "committer": {**author, "date": _stamp(commit.date)},
        },
        "author": {"login": repo.owner},
        "committer": {"login": repo.owner},
    }


def _pull_json(repo: FakeRepo, pull: FakePull) -> dict[str, Any]:
    return {
        "number": pull.number,
        "state": pull.state,
        "title": pull.title,
        "html_url": f"https://github.com/{repo.owner}/{repo.name}/pull/{pull.number}",
        "updated_at": _stamp(pull.updated_at),
        "user": {"login": repo.owner},
        "base": {"ref": "main", "repo": _repo_json(repo)},
    }


def _gist_json(gist: FakeGist) -> dict[str, Any]:
    return {
        "id": gist.id,
        "public": gist.public,
        "html_url": f"https://gist.github.com/{gist.owner}/{gist.id}",
        "owner": {"login": gist.owner},
        "created_at": _stamp(gist.updated_at),
        "updated_at": _stamp(gist.updated_at),
        "files": {"notes.md": {"filename": "notes.md", "language": "Markdown"}},
    }
