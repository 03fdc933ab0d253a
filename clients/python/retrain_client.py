"""A client of ``retrain serve`` using only the Python standard library.

Sessions (one environment episode stream each) use retrain serve's HTTP
session routes, so no WebSocket library is needed; rollouts stream
trajectories as NDJSON while they finish::

    from retrain_client import Client

    client = Client("http://127.0.0.1:8080")          # token: $RETRAIN_SERVE_TOKEN
    with client.session("calculator") as s:
        r = s.reset(prompt="What is 6 * 7?", answer="42", seed=1)
        print(r["observation"]["messages"])           # the conversation so far
        r = s.step(raw='<tool>{"name": "calculator", "args": {"expression": "6*7"}}</tool>')
        r = s.step(raw="<answer>42</answer>")
        print(r["reward"], r["done"], r["metadata"])

    stream = client.rollouts(env="calculator", tasks=[{"prompt": "What is 2 + 3?", "answer": "5"}], n=4,
                             model={"base_url": "http://127.0.0.1:8000/v1", "token_ids": True},
                             reward={"rollout": [{"name": "correct", "reward": "math_equal"}], "advantage": "grpo"})
    for trajectory in stream:                         # each as soon as it (or its group) finishes
        print(trajectory["id"], trajectory["rewards"]["total"])
    print(stream.summary)

A step's reply is a dict: ``observation`` (retrain's observation: kind,
content, messages, tool_results, tools, requires_action), ``reward``,
``done``, ``terminated``, ``truncated``, ``metadata`` (the step's info),
``request_id`` and ``session_id``. Every reset and step carries a request
id; when the connection fails, the client sends the request again with the
same id, and the server answers it from the session's last reply instead of
running it twice.
"""

import http.client
import json
import os
import time
import urllib.parse
import uuid

__all__ = ["Client", "Session", "RolloutStream", "RetrainError", "CapacityError", "SessionNotFound"]


class RetrainError(Exception):
    """An error reply of the server (``status``: HTTP status, ``code``: OpenEnv error code)."""

    def __init__(self, status, detail, code=None, request_id=None):
        self.status = status
        self.detail = detail
        self.code = code
        self.request_id = request_id
        where = f" (code {code})" if code else ""
        super().__init__(f"HTTP {status}{where}: {detail}")


class CapacityError(RetrainError):
    """The server holds as many sessions (or rollouts) as it may; retry later."""


class SessionNotFound(RetrainError):
    """The session expired (idle too long) or was closed."""


def _error(status, body, request_id=None):
    try:
        data = json.loads(body)
    except ValueError:
        data = {"detail": body.decode("utf-8", "replace") if isinstance(body, bytes) else body}
    code = data.get("code")
    detail = data.get("detail", data)
    cls = RetrainError
    if code == "CAPACITY_REACHED" or status == 503:
        cls = CapacityError
    elif code == "SESSION_NOT_FOUND":
        cls = SessionNotFound
    return cls(status, detail, code, data.get("request_id", request_id))


class _Connection:
    """One keep-alive HTTP connection, reopened after a failure."""

    def __init__(self, url, headers, timeout):
        self.url = urllib.parse.urlsplit(url)
        if self.url.scheme not in ("http", "https"):
            raise ValueError(f"base_url {url!r} must start with http:// or https://")
        self.headers = headers
        self.timeout = timeout
        self.conn = None

    def _open(self):
        cls = http.client.HTTPSConnection if self.url.scheme == "https" else http.client.HTTPConnection
        self.conn = cls(self.url.hostname, self.url.port, timeout=self.timeout)

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def request(self, method, path, body=None, headers=None, stream=False):
        """Send a request; return the response (unread when stream) or (status, headers, body)."""
        if self.conn is None:
            self._open()
        h = dict(self.headers)
        h.update(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        try:
            self.conn.request(method, self.url.path.rstrip("/") + path, body=data, headers=h)
            resp = self.conn.getresponse()
            if stream:
                return resp
            return resp.status, resp.headers, resp.read()
        except (OSError, http.client.HTTPException):
            self.close()
            raise


class Client:
    """A client of one retrain serve server.

    ``base_url`` is the server's URL; ``token`` its bearer token (default
    ``$RETRAIN_SERVE_TOKEN``); ``timeout`` bounds each request in seconds;
    ``retries`` is how many times a session request that failed to reach
    the server is sent again.
    """

    def __init__(self, base_url="http://127.0.0.1:8080", token=None, timeout=300.0, retries=3):
        self.base_url = base_url.rstrip("/")
        token = token if token is not None else os.environ.get("RETRAIN_SERVE_TOKEN")
        self.headers = {"Accept": "application/json"}
        if token:
            self.headers["Authorization"] = "Bearer " + token
        self.timeout = timeout
        self.retries = retries

    def _conn(self):
        return _Connection(self.base_url, self.headers, self.timeout)

    def _get(self, path):
        c = self._conn()
        try:
            status, _, body = c.request("GET", path)
        finally:
            c.close()
        if status != 200:
            raise _error(status, body)
        return json.loads(body)

    @staticmethod
    def _prefix(env):
        return "" if env is None else "/envs/" + urllib.parse.quote(env, safe="")

    def health(self):
        """GET /health: {"status": "healthy", "sessions": n, "max_sessions": m}."""
        return self._get("/health")

    def envs(self):
        """The served environments: [{"name", "description", "default", "path"}]."""
        return self._get("/envs")

    def schema(self, env=None):
        """The JSON Schemas of actions, observations and state of ``env`` (default: the root one)."""
        return self._get(self._prefix(env) + "/schema")

    def metadata(self, env=None):
        """OpenEnv's metadata of ``env``."""
        return self._get(self._prefix(env) + "/metadata")

    def metrics(self):
        """GET /metrics, Prometheus' text format."""
        c = self._conn()
        try:
            status, _, body = c.request("GET", "/metrics")
        finally:
            c.close()
        if status != 200:
            raise _error(status, body)
        return body.decode()

    def session(self, env=None, config=None):
        """Open a session of ``env`` (default: the server's root environment).

        ``config`` gives this session its own environment configuration.
        Close it (or use it as a context manager) to free it on the server.
        """
        conn = self._conn()
        body = {"config": config} if config is not None else {}
        try:
            status, _, data = conn.request("POST", self._prefix(env) + "/sessions", body)
        except BaseException:
            conn.close()
            raise
        if status != 201:
            conn.close()
            raise _error(status, data)
        created = json.loads(data)
        return Session(self, conn, created["session_id"], created["env"], self._prefix(env))

    def rollouts(self, **request):
        """POST /v1/rollouts: run episodes against a model server.

        Keyword arguments are the request's fields: ``env``, ``env_config``,
        ``tasks`` (list of {"prompt", "answer", "id"}) or ``dataset`` (a JSONL
        file under the server's --data-dir), ``n``, ``concurrency``,
        ``model`` ({"base_url", "model", "api_key", "token_ids"}), ``sampling``
        ({"temperature", "top_p", "max_tokens", ...}), ``reward`` (a reward
        config), ``max_turns``, ``timeout``, ``seed``, ``retries``. Returns a
        :class:`RolloutStream` of trajectories.
        """
        conn = self._conn()
        try:
            resp = conn.request("POST", "/v1/rollouts", request, stream=True)
        except BaseException:
            conn.close()
            raise
        if resp.status != 200:
            body = resp.read()
            conn.close()
            raise _error(resp.status, body)
        return RolloutStream(conn, resp)


class RolloutStream:
    """The trajectories of a rollout request, as they finish.

    Iterate over it for trajectory dicts (the JSONL layout of ``retrain
    rollout``); afterwards ``summary`` holds the run's summary. An error
    that ended the run is raised as :class:`RetrainError` at the end.
    """

    def __init__(self, conn, resp):
        self._conn = conn
        self._resp = resp
        self.summary = None
        self.error = None

    def __iter__(self):
        try:
            while True:
                line = self._resp.readline()
                if not line:
                    break
                line = line.strip()
                if not line:
                    continue
                item = json.loads(line)
                kind = item.get("type")
                if kind == "trajectory":
                    yield item["trajectory"]
                elif kind == "summary":
                    self.summary = item["summary"]
                elif kind == "error":
                    self.error = item.get("error")
        finally:
            self.close()
        if self.error:
            raise RetrainError(200, self.error)
        if self.summary is None:
            raise RetrainError(200, "the stream ended without a summary (the server stopped?)")

    def close(self):
        self._conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Session:
    """One session on the server: reset, step and state, in order.

    Not safe for use from several threads at once; open one session per
    concurrent episode.
    """

    def __init__(self, client, conn, session_id, env, prefix):
        self.client = client
        self.id = session_id
        self.env = env
        self._conn = conn
        self._path = prefix + "/sessions/" + session_id
        self._closed = False

    def _call(self, method, path, body=None, request_id=None):
        headers = {"X-Request-Id": request_id} if request_id else {}
        for attempt in range(self.client.retries + 1):
            try:
                status, _, data = self._conn.request(method, self._path + path, body, headers)
                break
            except (OSError, http.client.HTTPException):
                if attempt == self.client.retries:
                    raise
                time.sleep(min(0.05 * 2**attempt, 2.0))
        if status != 200:
            raise _error(status, data, request_id)
        return json.loads(data)

    def reset(self, seed=None, task=None, prompt=None, answer=None, episode_id=None, request_id=None, **extra):
        """Start an episode: on ``task`` (a dict with prompt, answer, id,
        metadata) or ``prompt``/``answer``; ``seed`` makes it reproducible."""
        body = dict(extra)
        for key, value in (("seed", seed), ("task", task), ("prompt", prompt), ("answer", answer), ("episode_id", episode_id)):
            if value is not None:
                body[key] = value
        return self._call("POST", "/reset", body, request_id or uuid.uuid4().hex)

    def step(self, action=None, raw=None, request_id=None, timeout_s=None):
        """Act: ``raw`` is the model's output as generated (the server parses
        it with the environment's dialect); or ``action`` is a retrain
        action dict ({"kind": "text", "text": ...} or {"kind": "tool_call",
        "tool_calls": [...]})."""
        if (action is None) == (raw is None):
            raise ValueError("give exactly one of action= and raw=")
        rid = request_id or uuid.uuid4().hex
        body = {"action": action if action is not None else {"raw": raw}, "request_id": rid}
        if timeout_s is not None:
            body["timeout_s"] = timeout_s
        return self._call("POST", "/step", body, rid)

    def state(self):
        """The session's state: episode_id, step_count, done, total_reward, render, ..."""
        return self._call("GET", "/state")

    def close(self):
        """End the session on the server (idempotent)."""
        if self._closed:
            return
        self._closed = True
        try:
            status, _, data = self._conn.request("DELETE", self._path)
            if status not in (204, 404):
                raise _error(status, data)
        finally:
            self._conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
