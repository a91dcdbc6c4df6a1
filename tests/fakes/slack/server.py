"""An aiohttp fake of Slack on 127.0.0.1, so the real slack_sdk / slack-bolt async code paths run in tests.

``FakeSlack`` (an async context manager) serves, on a random free port:

* the Web API at ``/api/<method>`` (JSON or form bodies, token in the ``Authorization`` header or the body);
  every call is recorded in :attr:`FakeSlack.calls` as :class:`ApiCall` (method name, parsed args). Handled:
  ``auth.test``, ``chat.postMessage``, ``chat.update``, ``chat.postEphemeral``, ``views.publish``,
  ``users.info`` (``is_admin`` / ``is_owner`` from :meth:`FakeSlack.set_user`), ``conversations.open``,
  ``files.getUploadURLExternal`` + ``files.completeUploadExternal`` (what ``files_upload_v2`` uses) and
  ``apps.connections.open``. Anything else answers ``{"ok": true}`` and is recorded in ``unhandled``.
* the upload URL handed out by ``files.getUploadURLExternal`` (``/upload/<file_id>``), storing the bytes in
  :attr:`FakeSlack.files`.
* ``response_url`` endpoints at ``/response/<id>`` (see :meth:`FakeSlack.new_response_url`), recording each
  POSTed JSON in :attr:`FakeSlack.responses`.
* Socket Mode at ``ws://127.0.0.1:PORT/socket``: sends ``hello``, then the test pushes envelopes with
  :meth:`FakeSlack.socket_send` and awaits the client's ack with :meth:`FakeSlack.wait_for_ack`.

Pointing the real libraries at it::

    client = AsyncWebClient(token="xoxb-test", base_url=fake.api_url)      # api_url ends with "/"
    app = AsyncApp(client=client, signing_secret=fake.signing_secret)       # no auth.test until a request
    handler = AsyncSocketModeHandler(app, app_token="xapp-test")            # uses app.client for
                                                                            # apps.connections.open

HTTP mode: ``url = await fake.serve_app(app)`` serves the AsyncApp's own aiohttp ``web_app()`` on
127.0.0.1:0. ``send_slash_command`` / ``send_interactive`` / ``send_event`` (``retry_num=`` adds
``X-Slack-Retry-Num``) sign the exact bytes they send; ``sign()`` + ``post_to()`` do the same for a hand-made
body. Bolt's AsyncApp calls ``auth.test`` lazily, on its first request, and keeps the result. Bolt exposes
the retry number only as the lower-cased request header (``request.headers["x-slack-retry-num"] == ["1"]``),
not in the context.

Socket Mode: ``socket_send(type, payload) -> envelope_id``, ``wait_for_ack(envelope_id)``,
``socket_disconnect()`` (the client reconnects via ``apps.connections.open``), ``wait_for_connections(n)``.

``fail_next(method, ...)`` injects a 429 (with ``Retry-After``) or an ``{"ok": false, "error": ...}``.
Note: ``AsyncWebClient`` retries 429 only when built with
``retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)]``; by default it only retries
connection errors, so a 429 surfaces as ``SlackApiError`` (``error == "ratelimited"``). The handler waits
``Retry-After + random()`` seconds, so use ``retry_after=0`` in tests.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

TEAM_ID = "T0FAKE"
BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"
USER_ID = "U0USER"
CHANNEL_ID = "C0GENERAL"
DEFAULT_SIGNING_SECRET = "fake-signing-secret"
_JSON_ARGS = {"blocks", "attachments", "view", "files", "metadata"}


@dataclass
class ApiCall:
    method: str
    args: dict[str, Any]
    token: str | None = None


@dataclass
class _Failure:
    status: int
    error: str | None
    retry_after: int | None


@dataclass
class FakeUser:
    id: str
    name: str = "someone"
    is_admin: bool = False
    is_owner: bool = False
    tz: str = "UTC"
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "team_id": TEAM_ID,
            "name": self.name,
            "real_name": self.name,
            "is_admin": self.is_admin,
            "is_owner": self.is_owner,
            "is_bot": False,
            "tz": self.tz,
            "profile": {"display_name": self.name, "real_name": self.name},
            **self.extra,
        }


def sign(body: bytes | str, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """Headers Slack sends with an HTTP-mode request: v0 HMAC-SHA256 of ``v0:{timestamp}:{body}``."""
    if isinstance(body, str):
        body = body.encode()
    ts = str(int(time.time()) if timestamp is None else timestamp)
    base = b"v0:" + ts.encode() + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


def slash_command_body(
    command: str,
    text: str = "",
    *,
    response_url: str,
    user_id: str = USER_ID,
    user_name: str = "someone",
    channel_id: str = CHANNEL_ID,
    team_id: str = TEAM_ID,
    trigger_id: str = "123.456.abc",
) -> dict[str, str]:
    """The fields of a slash command (form-encode them for HTTP mode; Socket Mode sends them as they are)."""
    return {
        "token": "legacy-verification-token",
        "team_id": team_id,
        "team_domain": "fake",
        "channel_id": channel_id,
        "channel_name": "general",
        "user_id": user_id,
        "user_name": user_name,
        "command": command,
        "text": text,
        "api_app_id": "A0FAKE",
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


def block_actions_payload(
    action_id: str,
    value: str = "",
    *,
    response_url: str,
    user_id: str = USER_ID,
    channel_id: str = CHANNEL_ID,
    block_id: str = "block",
    message_ts: str = "1700000000.000100",
) -> dict[str, Any]:
    """A ``block_actions`` interactive payload (HTTP mode: send as the ``payload=`` form field)."""
    return {
        "type": "block_actions",
        "user": {"id": user_id, "username": "someone", "name": "someone", "team_id": TEAM_ID},
        "api_app_id": "A0FAKE",
        "token": "legacy-verification-token",
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel_id},
        "trigger_id": "123.456.abc",
        "team": {"id": TEAM_ID, "domain": "fake"},
        "channel": {"id": channel_id, "name": "general"},
        "message": {"type": "message", "ts": message_ts, "text": "", "blocks": []},
        "response_url": response_url,
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": block_id,
                "value": value,
                "action_ts": str(time.time()),
            }
        ],
    }


def event_callback_body(event: dict[str, Any], *, event_id: str = "Ev0FAKE") -> dict[str, Any]:
    """An Events API ``event_callback`` envelope around ``event``."""
    return {
        "token": "legacy-verification-token",
        "team_id": TEAM_ID,
        "api_app_id": "A0FAKE",
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True}],
    }


def app_home_opened_event(user_id: str = USER_ID) -> dict[str, Any]:
    return {
        "type": "app_home_opened",
        "user": user_id,
        "channel": "D0" + user_id,
        "tab": "home",
        "event_ts": str(time.time()),
    }


class FakeSlack:
    """See the module docstring."""

    def __init__(self, *, signing_secret: str = DEFAULT_SIGNING_SECRET) -> None:
        self.signing_secret = signing_secret
        self.calls: list[ApiCall] = []
        self.unhandled: list[ApiCall] = []
        self.users: dict[str, FakeUser] = {USER_ID: FakeUser(USER_ID)}
        self.files: dict[str, dict[str, Any]] = {}
        self.responses: dict[str, list[Any]] = {}
        self.acks: dict[str, dict[str, Any]] = {}
        self._failures: dict[str, list[_Failure]] = {}
        self._ts = itertools.count(1)
        self._ids = itertools.count(1)
        self._ack_waiters: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._sockets: list[web.WebSocketResponse] = []
        self._socket_connected = asyncio.Event()
        self.socket_connections = 0
        self._call_event = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._app_runners: list[web.AppRunner] = []
        self._session: aiohttp.ClientSession | None = None
        self.port = 0

    # ---------------------------------------------------------------- lifecycle
    async def __aenter__(self) -> FakeSlack:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_post("/response/{rid}", self._response)
        app.router.add_get("/socket", self._socket)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc: object) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._session is not None:
            await self._session.close()
        for runner in self._app_runners:
            await runner.cleanup()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """Pass as ``base_url=`` to ``AsyncWebClient`` (the trailing slash matters)."""
        return f"{self.base_url}/api/"

    @property
    def socket_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/socket"

    # ---------------------------------------------------------------- configuration
    def set_user(self, user_id: str, **fields: Any) -> FakeUser:
        user = self.users.get(user_id) or FakeUser(user_id)
        for key, value in fields.items():
            if hasattr(user, key) and key != "extra":
                setattr(user, key, value)
            else:
                user.extra[key] = value
        self.users[user_id] = user
        return user

    def fail_next(
        self, method: str, status: int = 429, retry_after: int | None = 1, error: str | None = None
    ) -> None:
        """Make the next call of ``method`` fail: a 429 with ``Retry-After`` (default), or, with ``error``,
        an HTTP 200 ``{"ok": false, "error": error}`` (e.g. ``error="not_in_channel"``)."""
        if error is not None:
            status = 200
        self._failures.setdefault(method, []).append(_Failure(status, error, retry_after))

    # ---------------------------------------------------------------- queries
    def calls_to(self, method: str) -> list[ApiCall]:
        return [c for c in self.calls if c.method == method]

    async def wait_for_call(self, method: str, timeout: float = 5.0) -> ApiCall:  # noqa: ASYNC109
        """Wait until ``method`` has been called (returns its first call)."""

        async def _wait() -> ApiCall:
            async with self._call_event:
                await self._call_event.wait_for(lambda: bool(self.calls_to(method)))
                return self.calls_to(method)[0]

        return await asyncio.wait_for(_wait(), timeout)

    def new_response_url(self) -> str:
        rid = f"R{next(self._ids)}"
        self.responses[rid] = []
        return f"{self.base_url}/response/{rid}"

    def responses_to(self, response_url: str) -> list[Any]:
        return self.responses.get(response_url.rsplit("/", 1)[-1], [])

    async def wait_for_response(self, response_url: str, timeout: float = 5.0) -> Any:  # noqa: ASYNC109
        """Wait until something has been POSTed to ``response_url`` (returns the first body)."""
        rid = response_url.rsplit("/", 1)[-1]

        async def _wait() -> Any:
            async with self._call_event:
                await self._call_event.wait_for(lambda: bool(self.responses.get(rid)))
                return self.responses[rid][0]

        return await asyncio.wait_for(_wait(), timeout)

    # ---------------------------------------------------------------- HTTP mode helpers
    async def serve_app(self, bolt_app: Any, path: str = "/slack/events") -> str:
        """Serve an ``AsyncApp`` over real HTTP (its own ``web_app()``, i.e. slack_bolt's aiohttp server) on
        127.0.0.1 with a free port until the fake exits; returns the URL to POST requests to."""
        runner = web.AppRunner(bolt_app.web_app(path=path))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._app_runners.append(runner)
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return f"http://127.0.0.1:{port}{path}"

    def sign(
        self, body: bytes | str, secret: str | None = None, timestamp: int | None = None
    ) -> dict[str, str]:
        return sign(body, self.signing_secret if secret is None else secret, timestamp)

    async def post_to(
        self, app_url: str, body: bytes | str, headers: dict[str, str] | None = None
    ) -> tuple[int, str, dict[str, str]]:
        """POST ``body`` exactly as given to the app; returns (status, response text, response headers)."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        data = body.encode() if isinstance(body, str) else body
        async with self._session.post(app_url, data=data, headers=headers or {}) as resp:
            return resp.status, await resp.text(), dict(resp.headers)

    async def send_slash_command(
        self,
        app_url: str,
        command: str,
        text: str = "",
        *,
        secret: str | None = None,
        **fields: str,
    ) -> tuple[int, str, str]:
        """Sign and send a slash command to an HTTP-mode app; returns (status, body, response_url)."""
        response_url = fields.pop("response_url", None) or self.new_response_url()
        body = urllib.parse.urlencode(slash_command_body(command, text, response_url=response_url, **fields))
        headers = {"Content-Type": "application/x-www-form-urlencoded", **self.sign(body, secret)}
        status, text_out, _ = await self.post_to(app_url, body, headers)
        return status, text_out, response_url

    async def send_interactive(
        self, app_url: str, payload: dict[str, Any], *, secret: str | None = None
    ) -> tuple[int, str]:
        body = urllib.parse.urlencode({"payload": json.dumps(payload)})
        headers = {"Content-Type": "application/x-www-form-urlencoded", **self.sign(body, secret)}
        status, text_out, _ = await self.post_to(app_url, body, headers)
        return status, text_out

    async def send_event(
        self,
        app_url: str,
        body: dict[str, Any],
        *,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
        secret: str | None = None,
    ) -> tuple[int, str, dict[str, str]]:
        raw = json.dumps(body)
        headers = {"Content-Type": "application/json", **self.sign(raw, secret)}
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = retry_reason
        return await self.post_to(app_url, raw, headers)

    # ---------------------------------------------------------------- Socket Mode helpers
    async def wait_for_socket(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        await asyncio.wait_for(self._socket_connected.wait(), timeout)

    async def socket_send(
        self,
        type: str,
        payload: dict[str, Any],
        *,
        retry_attempt: int = 0,
        retry_reason: str = "",
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> str:
        """Push an envelope (``slash_commands``, ``interactive``, ``events_api``) to the connected client."""
        await self.wait_for_socket(timeout)
        envelope_id = f"env-{next(self._ids)}"
        self._ack_waiters[envelope_id] = asyncio.get_running_loop().create_future()
        envelope = {
            "envelope_id": envelope_id,
            "type": type,
            "payload": payload,
            "accepts_response_payload": type != "events_api",
            "retry_attempt": retry_attempt,
            "retry_reason": retry_reason,
        }
        await self._sockets[-1].send_str(json.dumps(envelope))
        return envelope_id

    async def socket_disconnect(self, reason: str = "refresh_requested") -> None:
        """Send Slack's ``disconnect``: the client then reconnects (a new ``apps.connections.open``)."""
        await self._sockets[-1].send_str(
            json.dumps({"type": "disconnect", "reason": reason, "debug_info": {"host": "fake"}})
        )

    async def wait_for_connections(self, count: int, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until ``count`` websocket connections have been made in total (each got ``hello``)."""

        async def _wait() -> None:
            async with self._call_event:
                await self._call_event.wait_for(lambda: self.socket_connections >= count)

        await asyncio.wait_for(_wait(), timeout)

    async def wait_for_ack(self, envelope_id: str, timeout: float = 5.0) -> dict[str, Any]:  # noqa: ASYNC109
        """The ack the client sent for ``envelope_id`` (``{"envelope_id": ..., "payload"?: ...}``)."""
        return await asyncio.wait_for(asyncio.shield(self._ack_waiters[envelope_id]), timeout)

    # ---------------------------------------------------------------- handlers
    @staticmethod
    async def _parse(request: web.Request) -> dict[str, Any]:
        if request.method == "GET":
            return dict(request.query)
        raw = await request.read()
        ctype = request.content_type
        args: dict[str, Any] = dict(request.query)
        if ctype == "application/json":
            args.update(json.loads(raw or b"{}"))
        elif ctype == "multipart/form-data":
            form = await request.post()
            args.update({k: v for k, v in form.items()})
        else:
            args.update(dict(urllib.parse.parse_qsl(raw.decode(), keep_blank_values=True)))
        # Form bodies carry structured arguments as JSON strings: record them parsed, as JSON bodies are.
        for key in _JSON_ARGS & args.keys():
            args[key] = FakeSlack._maybe_json(args[key])
        return args

    async def _record(self, call: ApiCall) -> None:
        async with self._call_event:
            self.calls.append(call)
            self._call_event.notify_all()

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await self._parse(request)
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else args.get("token")
        call = ApiCall(method, args, token)
        await self._record(call)
        queued = self._failures.get(method)
        if queued:
            failure = queued.pop(0)
            if failure.error is not None:
                return web.json_response({"ok": False, "error": failure.error}, status=failure.status)
            headers = {}
            if failure.retry_after is not None:
                headers["Retry-After"] = str(failure.retry_after)
            error = "ratelimited" if failure.status == 429 else "fatal_error"
            return web.json_response({"ok": False, "error": error}, status=failure.status, headers=headers)
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            self.unhandled.append(call)
            return web.json_response({"ok": True})
        return web.json_response(handler(args))

    def _next_ts(self) -> str:
        return f"1700000000.{next(self._ts):06d}"

    @staticmethod
    def _maybe_json(value: Any) -> Any:
        if isinstance(value, str) and value[:1] in "[{":
            try:
                return json.loads(value)
            except ValueError:
                return value
        return value

    def _m_auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://fake.slack.com/",
            "team": "Fake",
            "user": "studybot",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _message(self, args: dict[str, Any], ts: str) -> dict[str, Any]:
        return {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "text": args.get("text", ""),
            "blocks": self._maybe_json(args.get("blocks", [])),
            "ts": ts,
        }

    def _m_chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        ts = self._next_ts()
        return {"ok": True, "channel": args.get("channel"), "ts": ts, "message": self._message(args, ts)}

    def _m_chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        ts = args.get("ts")
        return {
            "ok": True,
            "channel": args.get("channel"),
            "ts": ts,
            "text": args.get("text", ""),
            "message": self._message(args, str(ts)),
        }

    def _m_chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "message_ts": self._next_ts()}

    def _m_views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        view = self._maybe_json(args.get("view", {}))
        return {"ok": True, "view": {"id": f"V{next(self._ids)}", **(view if isinstance(view, dict) else {})}}

    def _m_users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user_id = args.get("user", "")
        user = self.users.get(user_id)
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "user": user.to_json()}

    def _m_conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        users = str(args.get("users", "")).split(",")
        return {"ok": True, "channel": {"id": "D0" + users[0].strip(), "is_im": True}}

    def _m_files_getUploadURLExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        file_id = f"F{next(self._ids)}"
        self.files[file_id] = {
            "id": file_id,
            "filename": args.get("filename"),
            "length": int(args.get("length", 0)),
            "data": None,
            "completed": False,
        }
        return {"ok": True, "upload_url": f"{self.base_url}/upload/{file_id}", "file_id": file_id}

    def _m_files_completeUploadExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        files = self._maybe_json(args.get("files", []))
        out = []
        for f in files:
            stored = self.files.get(f["id"])
            if stored is None or stored["data"] is None:
                return {"ok": False, "error": "file_not_found"}
            stored.update(
                completed=True,
                title=f.get("title"),
                channel_id=args.get("channel_id"),
                initial_comment=args.get("initial_comment"),
            )
            out.append({"id": f["id"], "name": stored["filename"], "title": f.get("title")})
        return {"ok": True, "files": out}

    def _m_apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": self.socket_url}

    async def _upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        if file_id not in self.files:
            return web.Response(status=404, text="not found")
        self.files[file_id]["data"] = await request.read()
        return web.Response(text=f"OK - {len(self.files[file_id]['data'])}")

    async def _response(self, request: web.Request) -> web.Response:
        rid = request.match_info["rid"]
        raw = await request.read()
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = raw.decode()
        async with self._call_event:
            self.responses.setdefault(rid, []).append(body)
            self._call_event.notify_all()
        return web.Response(text="ok")

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_str(
            json.dumps(
                {
                    "type": "hello",
                    "num_connections": 1,
                    "debug_info": {"host": "fake", "approximate_connection_time": 3600},
                    "connection_info": {"app_id": "A0FAKE"},
                }
            )
        )
        self._socket_connected.set()
        async with self._call_event:
            self.socket_connections += 1
            self._call_event.notify_all()
        try:
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    continue
                data = json.loads(msg.data)
                envelope_id = data.get("envelope_id")
                if envelope_id is None:
                    continue
                self.acks[envelope_id] = data
                waiter = self._ack_waiters.get(envelope_id)
                if waiter is not None and not waiter.done():
                    waiter.set_result(data)
        finally:
            if ws in self._sockets:
                self._sockets.remove(ws)
            if not self._sockets:
                self._socket_connected.clear()
        return ws
