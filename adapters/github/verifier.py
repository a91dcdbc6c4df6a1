"""GitHubVerifier: whether a submitted GitHub link is public and changed after its task was posted."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from urllib.parse import quote, urlencode

import aiohttp
from gidgethub import BadRequest, GitHubBroken, HTTPException, RateLimitExceeded
from gidgethub.aiohttp import GitHubAPI

from bot.kernel.types import Evidence, EvidenceKind, Verification, Verified

log = logging.getLogger(__name__)

# GitHub asks every API client to name itself in the User-Agent.
REQUESTER = "studybot"
# Path segments a URL client resolves instead of sending ("/repos/../x" goes out as "/x"), so a value that
# is one of them is never looked up; GitHub names are never empty, "." or "..".
DOT_SEGMENTS = frozenset({"", ".", ".."})
# A commit sha shown to a member: long enough to find it, short enough to read.
SHORT_SHA = 12

NOT_GITHUB = "studybot can only check GitHub links; reviewers will look at it"
UNREADABLE = "studybot could not read this GitHub link; reviewers will look at it"
TOO_SLOW = "GitHub did not answer in time"
RATE_LIMITED = "GitHub's rate limit is reached; set GITHUB_TOKEN for more"
UNREACHABLE = "could not reach GitHub"


class GitHubVerifier:
    """Checks GitHub repositories, commits, pull requests and gists through GitHub's REST API.

    Any other kind of link is left UNCHECKED without a request. Without a token GitHub hides private
    repositories behind a 404 (and allows 60 requests an hour); with one, a private repository the token can
    see is reported as private. The aiohttp session is opened on first use unless one is given, and closed by
    close() only when it was opened here.
    """

    def __init__(
        self,
        *,
        token: str | None = None,
        base_url: str = "https://api.github.com",
        timeout: float = 4.0,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.timeout = timeout
        self._token = token or None
        self._base_url = base_url
        self._session = session
        self._owns_session = session is None

    async def close(self) -> None:
        """Close the session this verifier opened (a session it was given stays open)."""
        session, self._session = self._session, None
        if session is not None and self._owns_session:
            await session.close()

    async def verify(self, evidence: Evidence, since: dt.datetime) -> Verification:
        """Whether `evidence` is public and changed at or after `since`; UNCHECKED when GitHub cannot say."""
        kind = evidence.kind
        if kind not in _NAMES:
            return Verification(Verified.UNCHECKED, NOT_GITHUB)
        if any(name in DOT_SEGMENTS for name in _NAMES[kind](evidence)):
            return Verification(Verified.UNCHECKED, UNREADABLE)
        since = since.replace(tzinfo=dt.UTC) if since.tzinfo is None else since.astimezone(dt.UTC)
        try:
            async with asyncio.timeout(self.timeout):
                return await self._check(self._api(), evidence, since)
        except TimeoutError as exc:
            return self._unchecked(evidence, TOO_SLOW, exc)
        except RateLimitExceeded as exc:
            return self._unchecked(evidence, RATE_LIMITED, exc)
        except BadRequest as exc:
            if _rate_limited(exc):
                return self._unchecked(evidence, RATE_LIMITED, exc)
            if exc.status_code == 401:
                return self._unchecked(evidence, "GitHub refused studybot's token; check GITHUB_TOKEN", exc)
            return self._unchecked(evidence, f"GitHub refused the request (HTTP {int(exc.status_code)})", exc)
        except GitHubBroken as exc:
            return self._unchecked(evidence, f"GitHub is having trouble (HTTP {int(exc.status_code)})", exc)
        except HTTPException as exc:
            return self._unchecked(
                evidence, f"GitHub gave an unexpected answer (HTTP {int(exc.status_code)})", exc
            )
        except (aiohttp.ClientError, OSError) as exc:
            return self._unchecked(evidence, UNREACHABLE, exc)
        except (KeyError, TypeError, ValueError) as exc:
            return self._unchecked(evidence, "GitHub's answer was not what studybot expected", exc)
        except Exception as exc:  # the port promises an answer, whatever went wrong in here
            log.warning("checking %s %s failed", evidence.kind, evidence.url, exc_info=True)
            return Verification(Verified.UNCHECKED, f"studybot could not check it ({type(exc).__name__})")

    def _api(self) -> GitHubAPI:
        if self._session is None:
            # Opened here, inside the running loop: a session belongs to the loop it was opened in.
            self._session = aiohttp.ClientSession()
            self._owns_session = True
        return GitHubAPI(self._session, REQUESTER, oauth_token=self._token, base_url=self._base_url)

    def _unchecked(self, evidence: Evidence, reason: str, exc: BaseException) -> Verification:
        # The request headers (and so the token) are never part of these exceptions' text.
        log.warning(
            "could not check %s %s: %s (%s: %s)", evidence.kind, evidence.url, reason, type(exc).__name__, exc
        )
        return Verification(Verified.UNCHECKED, reason)

    async def _check(self, gh: GitHubAPI, evidence: Evidence, since: dt.datetime) -> Verification:
        if evidence.kind is EvidenceKind.GITHUB_REPO:
            return await self._repository(gh, evidence, since)
        if evidence.kind is EvidenceKind.GITHUB_COMMIT:
            return await self._commit(gh, evidence, since)
        if evidence.kind is EvidenceKind.GITHUB_PULL:
            return await self._pull(gh, evidence, since)
        return await self._gist(gh, evidence, since)

    async def _public_repository(self, gh: GitHubAPI, evidence: Evidence) -> Verification | None:
        """None when the repository is public; otherwise why it cannot be evidence."""
        name = f"{evidence.owner}/{evidence.repo}"
        try:
            repo = await gh.getitem(_repo_path(evidence))
        except BadRequest as exc:
            if exc.status_code == 404:
                return Verification(Verified.NO, f"the repository {name} is private or does not exist")
            raise
        if repo["private"]:
            return Verification(
                Verified.NO, f"the repository {name} is private: make it public so reviewers can see it"
            )
        return None

    async def _repository(self, gh: GitHubAPI, evidence: Evidence, since: dt.datetime) -> Verification:
        refused = await self._public_repository(gh, evidence)
        if refused is not None:
            return refused
        query = urlencode({"since": since.strftime("%Y-%m-%dT%H:%M:%SZ"), "per_page": 1}, safe=":")
        try:
            commits = await gh.getitem(f"{_repo_path(evidence)}/commits?{query}")
        except BadRequest as exc:
            if exc.status_code == 409:  # GitHub's answer for a repository without any commit
                return Verification(Verified.NO, "the repository is empty")
            raise
        if commits:
            return Verification(Verified.YES, "public repository with a commit after the task was posted")
        return Verification(Verified.NO, f"no commit since the task was posted ({_day(since)})")

    async def _commit(self, gh: GitHubAPI, evidence: Evidence, since: dt.datetime) -> Verification:
        if self._token:
            # With a token GitHub answers for private repositories too: the commit alone does not say which.
            refused = await self._public_repository(gh, evidence)
            if refused is not None:
                return refused
        try:
            commit = await gh.getitem(f"{_repo_path(evidence)}/commits/{_segment(evidence.ref)}")
        except BadRequest as exc:
            if exc.status_code in (404, 422):  # 422: the repository exists, the sha does not
                return Verification(
                    Verified.NO,
                    f"commit {evidence.ref[:SHORT_SHA]} not found in {evidence.owner}/{evidence.repo} "
                    "(or the repository is private)",
                )
            raise
        signed = commit["commit"].get("committer") or commit["commit"]["author"]
        when = _parse(signed["date"])
        if when < since:
            return Verification(Verified.NO, f"the commit is from {_day(when)}, before the task was posted")
        return Verification(Verified.YES, "public commit made after the task was posted")

    async def _pull(self, gh: GitHubAPI, evidence: Evidence, since: dt.datetime) -> Verification:
        name = f"{evidence.owner}/{evidence.repo}"
        try:
            pull = await gh.getitem(f"{_repo_path(evidence)}/pulls/{_segment(evidence.ref)}")
        except BadRequest as exc:
            if exc.status_code == 404:
                return Verification(
                    Verified.NO,
                    f"pull request #{evidence.ref} not found in {name} (or the repository is private)",
                )
            raise
        if pull["base"]["repo"]["private"]:
            return Verification(
                Verified.NO, f"the repository {name} is private: make it public so reviewers can see it"
            )
        when = _parse(pull["updated_at"])
        if when < since:
            return Verification(
                Verified.NO, f"the pull request was last updated {_day(when)}, before the task was posted"
            )
        return Verification(Verified.YES, "public pull request updated after the task was posted")

    async def _gist(self, gh: GitHubAPI, evidence: Evidence, since: dt.datetime) -> Verification:
        try:
            gist = await gh.getitem(f"/gists/{_segment(evidence.repo)}")
        except BadRequest as exc:
            if exc.status_code == 404:
                return Verification(Verified.NO, f"the gist {evidence.repo} does not exist or was deleted")
            raise
        when = _parse(gist["updated_at"])
        if when < since:
            return Verification(
                Verified.NO, f"the gist was last updated {_day(when)}, before the task was posted"
            )
        if not gist["public"]:
            # A secret gist is unlisted, not private: anyone with the link can see it.
            return Verification(
                Verified.YES,
                "secret gist (anyone with the link can see it) updated after the task was posted",
            )
        return Verification(Verified.YES, "public gist updated after the task was posted")


# The names each kind looks up, each sent as one path segment.
_NAMES: dict[EvidenceKind, Callable[[Evidence], tuple[str, ...]]] = {
    EvidenceKind.GITHUB_REPO: lambda e: (e.owner, e.repo),
    EvidenceKind.GITHUB_COMMIT: lambda e: (e.owner, e.repo, e.ref),
    EvidenceKind.GITHUB_PULL: lambda e: (e.owner, e.repo, e.ref),
    EvidenceKind.GIST: lambda e: (e.repo,),
}


def _segment(value: str) -> str:
    """`value` as one path segment: a "/", "?", "#" or "{" in it cannot reach another part of the URL."""
    return quote(value, safe="")


def _repo_path(evidence: Evidence) -> str:
    return f"/repos/{_segment(evidence.owner)}/{_segment(evidence.repo)}"


def _rate_limited(exc: BadRequest) -> bool:
    """A 429, or a 403 that is GitHub's primary (no requests left) or secondary (retry-after) rate limit."""
    if exc.status_code == 429:
        return True
    return exc.status_code == 403 and (
        exc.headers.get("x-ratelimit-remaining") == "0" or "retry-after" in exc.headers
    )


def _parse(stamp: str) -> dt.datetime:
    when = dt.datetime.fromisoformat(stamp)
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when


def _day(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%d")
