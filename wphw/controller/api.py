"""Northbound HTTP/JSON API of the running controller (standard library ``http.server``).

Routes are declared once in :data:`ROUTES` (method, path, access, request and response JSON
Schemas); the OpenAPI 3.1 document served at ``/openapi.json`` is generated from that table,
and the dispatcher checks every request against the same table. Errors are JSON
``{"error": <typed error class>, "message": ...}``: 400 malformed request, 401 no or unknown
token, 403 not allowed, 404 unknown rule or path, 422 a rule the policy parser, the compiler or
the verifier refuses (nothing was written), 502 a switch refused or could not be reached (the
fabric rolled back).
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from wphw.controller.service import Service, Token, Tokens
from wphw.errors import (
    AccessError,
    AuthenticationError,
    NotFoundError,
    PlanError,
    PolicyError,
    SchemaError,
    SwitchConnectionError,
    TopologyError,
    VerificationError,
    WphwError,
    WriteError,
)

LOG = logging.getLogger("wphw.controller.api")

MAX_BODY = 1 << 20

# -- JSON Schemas ---------------------------------------------------------------------------

_STR = {"type": "string"}
_INT = {"type": "integer"}
_NUM = {"type": "number"}
_BOOL = {"type": "boolean"}
_NUM_OR_NULL = {"type": ["number", "null"]}
_INT_OR_NULL = {"type": ["integer", "null"]}


def _obj(props: dict[str, Any], required: list[str] | None = None, extra: bool = False) -> Any:
    return {
        "type": "object",
        "properties": props,
        "required": sorted(props) if required is None else required,
        "additionalProperties": extra,
    }


def _arr(items: Any) -> dict[str, Any]:
    return {"type": "array", "items": items}


NAME = {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_.#:-]{0,63}$"}
_PORTS = {"anyOf": [{"type": "integer", "minimum": 0, "maximum": 65535}, {"type": "string"}]}
MATCH = {
    "type": "object",
    "description": "IPv4 prefixes, a protocol name or number, L4 ports or 'lo-hi' ranges;"
    " see docs/formats.md",
    "properties": {
        "in_port": {"type": "integer", "minimum": 0},
        "src": _STR,
        "dst": _STR,
        "proto": {"anyOf": [{"type": "integer", "minimum": 0, "maximum": 255}, _STR]},
        "src_port": _PORTS,
        "dst_port": _PORTS,
    },
    "additionalProperties": False,
}
RULE = _obj(
    {
        "name": _STR,
        "subscriber": _STR,
        "priority": _INT,
        "match": MATCH,
        "actions": _arr(_STR),
    }
)
RULE_IN = _obj(
    {
        "name": NAME,
        "subscriber": {**_STR, "minLength": 1, "description": "the subscriber switch"},
        "priority": {
            "type": "integer",
            "minimum": 1,
            "maximum": 2**31 - 1,
            "description": "larger wins; default: below the switch's rules",
        },
        "match": MATCH,
        "actions": {
            **_arr({**_STR, "minLength": 1}),
            "minItems": 1,
            "description": "services in order, then forward(N)|drop|route",
        },
    },
    required=["name", "subscriber", "actions"],
)
RULE_CHANGE_IN = _obj(
    {k: v for k, v in RULE_IN["properties"].items()}, required=["subscriber", "actions"]
)
CHANGE = _obj(
    {
        "reason": _STR,
        "compile_s": _NUM,
        "verify_s": _NUM,
        "apply_s": _NUM,
        "contexts_s": _NUM,
        "written": _INT,
        "incremental": _BOOL,
        "compiled_incrementally": _BOOL,
        "full_compile_reason": _STR,
        "delta_apply": _BOOL,
        "delta_fallback": _STR,
        "store_s": _NUM,
    }
)
CHANGE_OUT = _obj({"rule": {"type": "object"}, "policy_version": _INT, "change": CHANGE})
ERROR = _obj({"error": _STR, "message": _STR})
STATUS = _obj(
    {
        "policy_version": _INT,
        "rules": _INT,
        "switches": _arr(_STR),
        "entries": _INT,
        "paths": _INT,
        "failed_pes": _arr(_STR),
        "applies": _INT,
        "reconcile_repairs": _INT,
        "tenant_roles": {
            "type": "object",
            "description": "switch → tenant P4Runtime role → granted by the switch"
            " (--tenant-roles)",
            "additionalProperties": {"type": "object", "additionalProperties": _BOOL},
        },
        "last_change": {"anyOf": [CHANGE, {"type": "null"}]},
    }
)
HOP = _obj({"service": _STR, "pe": _STR, "switch": _STR, "si": _INT})
PATH = _obj(
    {
        "spi": _INT,
        "subscriber": _STR,
        "final": _STR,
        "switches": _arr(_STR),
        "shared_by": _arr(_STR),
        "rules": _arr(_STR),
        "hops": _arr(HOP),
    }
)
HEALTH = _obj({"pe": _STR, "waypoint": _STR, "watched": _BOOL, "up": _BOOL, "misses": _INT})
EVENT = _obj(
    {
        "id": _INT,
        "time": _NUM,
        "kind": _STR,
        "reason": _STR,
        "result": _STR,
        "policy_version": _INT_OR_NULL,
        "compile_s": _NUM_OR_NULL,
        "verify_s": _NUM_OR_NULL,
        "apply_s": _NUM_OR_NULL,
        "contexts_s": _NUM_OR_NULL,
        "written": _INT_OR_NULL,
        "entries": _INT_OR_NULL,
        "error": {"type": ["string", "null"]},
        "actor": _STR,
        "switches": _arr(_STR),
        "apply_mode": {"type": ["string", "null"], "enum": ["delta", "read", None]},
        "apply_note": {"type": ["string", "null"]},
    }
)
COUNTERS = _obj(
    {
        "rules": _arr(
            _obj({"switch": _STR, "rule": _STR, "priority": _INT, "packets": _INT, "bytes": _INT})
        ),
        "hops": _arr(
            _obj(
                {
                    "switch": _STR,
                    "spi": _INT,
                    "si": _INT,
                    "action": _STR,
                    "packets": _INT,
                    "bytes": _INT,
                }
            )
        ),
    }
)
TOPOLOGY = _obj(
    {
        "switches": _arr(_obj({"name": _STR, "address": _STR, "device_id": _INT})),
        "links": _arr(_obj({"a": _STR, "a_port": _INT, "b": _STR, "b_port": _INT})),
        "hosts": _arr(_obj({"name": _STR, "ip": _STR, "switch": _STR, "port": _INT})),
        "waypoints": _arr(
            _obj({"name": _STR, "switch": _STR, "port": _INT_OR_NULL, "pes": _arr(_STR)})
        ),
    }
)


# -- routes ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    path: str  # OpenAPI template, e.g. /api/v1/rules/{name}
    op: str  # operationId; the handler is Api.<op>
    summary: str
    write: bool
    response: Any
    request: Any = None
    status: int = 200
    query: tuple[tuple[str, Any], ...] = ()

    @property
    def regex(self) -> re.Pattern[str]:
        return re.compile(
            "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[A-Za-z0-9_.#:-]{1,64})", self.path) + "$"
        )


V1 = "/api/v1"
ROUTES: tuple[Route, ...] = (
    Route(
        "GET", f"{V1}/status", "get_status", "policy version, entries, failed PEs", False, STATUS
    ),
    Route(
        "GET",
        f"{V1}/topology",
        "get_topology",
        "switches, links, hosts, waypoints",
        False,
        TOPOLOGY,
    ),
    Route(
        "GET",
        f"{V1}/policy",
        "get_policy",
        "the desired policy (a tenant: its switches)",
        False,
        {"type": "object"},
    ),
    Route(
        "GET",
        f"{V1}/plan",
        "get_plan",
        "the installed plan (not for tenants)",
        False,
        {"type": "object"},
    ),
    Route(
        "GET", f"{V1}/paths", "get_paths", "service paths (a tenant: its own)", False, _arr(PATH)
    ),
    Route("GET", f"{V1}/health", "get_health", "PE health", False, _arr(HEALTH)),
    Route(
        "GET",
        f"{V1}/counters",
        "get_counters",
        "per-rule and per-hop counters (a tenant: its own); hops=0: per-rule only",
        False,
        COUNTERS,
        query=(("hops", {"type": "integer", "minimum": 0, "maximum": 1}),),
    ),
    Route(
        "GET",
        f"{V1}/events",
        "get_events",
        "the event log, oldest first",
        False,
        _arr(EVENT),
        query=(
            ("limit", {"type": "integer", "minimum": 1, "maximum": 10000}),
            ("since", {"type": "integer", "minimum": 0, "maximum": 2**63 - 1}),
        ),
    ),
    Route(
        "GET", f"{V1}/rules", "get_rules", "the rules (a tenant: its switches')", False, _arr(RULE)
    ),
    Route(
        "POST",
        f"{V1}/rules",
        "add_rule",
        "add a rule (validated, compiled, verified, installed)",
        True,
        CHANGE_OUT,
        RULE_IN,
        201,
    ),
    Route("GET", f"{V1}/rules/{{name}}", "get_rule", "one rule", False, RULE),
    Route(
        "PUT",
        f"{V1}/rules/{{name}}",
        "change_rule",
        "change a rule",
        True,
        CHANGE_OUT,
        RULE_CHANGE_IN,
    ),
    Route("DELETE", f"{V1}/rules/{{name}}", "remove_rule", "remove a rule", True, CHANGE_OUT),
)


def openapi() -> dict[str, Any]:
    """The OpenAPI 3.1 document of :data:`ROUTES`."""
    paths: dict[str, Any] = {}
    error_ref = {"$ref": "#/components/schemas/Error"}
    for r in ROUTES:
        op: dict[str, Any] = {
            "operationId": r.op,
            "summary": r.summary,
            "security": [{"bearer": []}, {}],
            "responses": {
                str(r.status): {
                    "description": "OK",
                    "content": {"application/json": {"schema": r.response}},
                },
                **{
                    str(code): {
                        "description": desc,
                        "content": {"application/json": {"schema": error_ref}},
                    }
                    for code, desc in (
                        (400, "malformed request"),
                        (401, "no or unknown token"),
                        (403, "not allowed for this token"),
                        (404, "no such rule"),
                        (422, "refused by the policy parser, compiler or verifier"),
                        (502, "a switch refused or could not be reached"),
                    )
                    if r.write or code in (400, 401, 403, 404)
                },
            },
        }
        params = [
            {"name": name, "in": "query", "required": False, "schema": schema}
            for name, schema in r.query
        ]
        if "{name}" in r.path:
            params.append(
                {
                    "name": "name",
                    "in": "path",
                    "required": True,
                    "schema": NAME,
                }
            )
        if params:
            op["parameters"] = params
        if r.request is not None:
            op["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": r.request}},
            }
        paths.setdefault(r.path, {})[r.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "wphw controller", "version": "1"},
        "paths": paths,
        "components": {
            "schemas": {"Error": ERROR},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


class ApiError(Exception):
    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind


def status_of(exc: WphwError) -> int:
    if isinstance(exc, AuthenticationError):
        return 401
    if isinstance(exc, AccessError):
        return 403
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, PolicyError | TopologyError | PlanError | SchemaError | VerificationError):
        return 422
    if isinstance(exc, WriteError | SwitchConnectionError):
        return 502
    return 500


# -- handlers ---------------------------------------------------------------------------------


class Api:
    """The route handlers, apart from HTTP (callable from tests directly)."""

    def __init__(
        self,
        service: Service,
        tokens: Tokens,
        *,
        read_counters: Callable[[str, str], Any],
        read_counters_many: Callable[[Sequence[str], str], Mapping[str, Any]] | None = None,
        metrics: Callable[[Token], str] | None = None,
        page: Callable[[], str] | None = None,
    ) -> None:
        """``read_counters_many(switches, table)``: every switch's counters at once (in
        parallel: ``Fabric.read_direct_counters_many``); else ``read_counters`` one by one."""
        self.service = service
        self.tokens = tokens
        self.read_counters = read_counters
        self.read_counters_many = read_counters_many
        self.metrics = metrics
        self.page = page

    def get_status(self, t: Token, **_: Any) -> Any:
        return self.service.status()

    def get_topology(self, t: Token, **_: Any) -> Any:
        topo = self.service.topology
        return {
            "switches": [
                {"name": s.name, "address": s.address, "device_id": s.device_id}
                for s in sorted(topo.switches.values(), key=lambda s: s.name)
            ],
            "links": [
                {"a": lk.a.switch, "a_port": lk.a.port, "b": lk.b.switch, "b_port": lk.b.port}
                for lk in topo.links
            ],
            "hosts": [
                {"name": h.name, "ip": str(h.ip.ip), "switch": h.switch, "port": h.port}
                for h in sorted(topo.hosts.values(), key=lambda h: h.name)
            ],
            "waypoints": [
                {"name": w.name, "switch": w.switch, "port": w.port, "pes": list(w.pes)}
                for w in sorted(topo.waypoints.values(), key=lambda w: w.name)
            ],
        }

    def get_policy(self, t: Token, **_: Any) -> Any:
        return self.service.policy_dict(t)

    def get_plan(self, t: Token, **_: Any) -> Any:
        if t.tenant:
            raise AccessError(f"token {t.name}: the whole plan is not visible to a tenant")
        plan = self.service.ctl.plan
        return json.loads(plan.to_json()) if plan is not None else {}

    def get_paths(self, t: Token, **_: Any) -> Any:
        return self.service.paths(t)

    def get_health(self, t: Token, **_: Any) -> Any:
        return self.service.health()

    def get_counters(self, t: Token, *, query: dict[str, int], **_: Any) -> Any:
        return self.service.counters(
            t,
            self.read_counters,
            hops=bool(query.get("hops", 1)),
            read_many=self.read_counters_many,
        )

    def get_events(self, t: Token, *, query: dict[str, int], **_: Any) -> Any:
        evs = self.service.events(t, limit=query.get("limit", 100), since=query.get("since", 0))
        return [e.to_dict() for e in evs]

    def get_rules(self, t: Token, **_: Any) -> Any:
        return self.service.rules(t)

    def get_rule(self, t: Token, *, name: str, **_: Any) -> Any:
        return self.service.rule(t, name)

    def _changed(self, change: Any, rule: dict[str, Any]) -> Any:
        return {
            "rule": rule,
            "policy_version": self.service.version,
            "change": {
                "reason": change.reason,
                "compile_s": change.compile_s - change.verify_s,
                "verify_s": change.verify_s,
                "apply_s": change.apply_s,
                "contexts_s": change.contexts_s,
                "written": change.written,
                "incremental": change.incremental,
                "compiled_incrementally": change.compiled_incrementally,
                "full_compile_reason": change.full_compile_reason,
                "delta_apply": change.delta_apply,
                "delta_fallback": change.delta_fallback,
                "store_s": change.store_s,
            },
        }

    def add_rule(self, t: Token, *, body: Any, **_: Any) -> Any:
        return self._changed(*self.service.add_rule(t, body))

    def change_rule(self, t: Token, *, name: str, body: Any, **_: Any) -> Any:
        return self._changed(*self.service.change_rule(t, name, body))

    def remove_rule(self, t: Token, *, name: str, **_: Any) -> Any:
        return self._changed(*self.service.remove_rule(t, name))

    # -- dispatch -----------------------------------------------------------------------------

    def handle(
        self, method: str, target: str, headers: Any, body: bytes | None
    ) -> tuple[int, str, bytes]:
        """(status, content type, body) for one request; never raises."""
        try:
            return self._handle(method, target, headers, body)
        except ApiError as exc:
            return _json(exc.status, {"error": exc.kind, "message": str(exc)})
        except WphwError as exc:
            return _json(status_of(exc), {"error": type(exc).__name__, "message": str(exc)})
        except Exception as exc:  # a bug: logged with its traceback, answered as 500
            LOG.exception("API %s %s failed", method, target)
            return _json(500, {"error": type(exc).__name__, "message": str(exc)})

    def _handle(
        self, method: str, target: str, headers: Any, body: bytes | None
    ) -> tuple[int, str, bytes]:
        url = urlsplit(target)
        if method == "GET" and url.path == "/openapi.json":
            return _json(200, openapi())
        if method == "GET" and url.path == "/metrics" and self.metrics is not None:
            text = self.metrics(self._token(headers))  # a tenant sees its own counters only
            return 200, "text/plain; version=0.0.4; charset=utf-8", text.encode()
        if method == "GET" and url.path in ("/", "/index.html") and self.page is not None:
            return 200, "text/html; charset=utf-8", self.page().encode()
        matched = False
        for r in ROUTES:
            m = r.regex.match(url.path)
            if m is None:
                continue
            matched = True
            if r.method != method:
                continue
            token = self._token(headers)
            if r.write and not token.write:
                raise AccessError(f"token {token.name} is read-only")
            kwargs: dict[str, Any] = dict(m.groupdict())
            kwargs["query"] = _query(url.query, r)
            if r.request is not None:
                kwargs["body"] = _body(body)
            return _json(r.status, getattr(self, r.op)(token, **kwargs))
        if matched:
            raise ApiError(405, "MethodNotAllowed", f"{method} is not allowed on {url.path}")
        raise ApiError(404, "NotFound", f"no such path {url.path}")

    def _token(self, headers: Any) -> Token:
        auth = headers.get("Authorization") or ""
        secret = None
        if auth:
            scheme, _, value = auth.partition(" ")
            if scheme.lower() != "bearer" or not value.strip():
                raise AuthenticationError("Authorization: expected 'Bearer <token>'")
            secret = value.strip()
        return self.tokens.authenticate(secret)


def _json(status: int, obj: Any) -> tuple[int, str, bytes]:
    return status, "application/json", json.dumps(obj, sort_keys=True).encode()


def _query(text: str, route: Route) -> dict[str, int]:
    out: dict[str, int] = {}
    allowed = dict(route.query)
    for key, values in parse_qs(text, keep_blank_values=True).items():
        if key not in allowed:
            raise ApiError(400, "BadRequest", f"unknown query parameter {key!r}")
        schema = allowed[key]
        try:
            v = int(values[-1])
        except ValueError:
            raise ApiError(400, "BadRequest", f"{key}: expected an integer") from None
        if v < schema.get("minimum", v) or v > schema.get("maximum", v):
            raise ApiError(
                400,
                "BadRequest",
                f"{key}: {v} outside {schema.get('minimum')}..{schema.get('maximum', '')}",
            )
        out[key] = v
    return out


def _body(data: bytes | None) -> Any:
    if not data:
        raise ApiError(400, "BadRequest", "a JSON body is needed")
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "BadRequest", f"body: not JSON: {exc}") from None


# -- the HTTP server ----------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    server: ApiServer
    protocol_version = "HTTP/1.1"
    # headers and body go out in two writes: with Nagle's algorithm on, the body waited for
    # the client's delayed ACK (+24 ms on every answer, measured on the table1 lab)
    disable_nagle_algorithm = True

    def _serve(self, method: str) -> None:
        body = None
        length = self.headers.get("Content-Length")
        if length is not None:
            try:
                n = int(length)
            except ValueError:
                n = -1
            if n < 0 or n > MAX_BODY:
                self._send(
                    *_json(
                        413 if n > 0 else 400,
                        {"error": "BadRequest", "message": "bad Content-Length"},
                    )
                )
                self.close_connection = True
                return
            body = self.rfile.read(n)
        self._send(*self.server.api.handle(method, self.path, self.headers, body))

    def _send(self, status: int, ctype: str, data: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def log_message(self, format: str, *args: Any) -> None:
        LOG.debug("%s %s", self.address_string(), format % args)


class ApiServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], api: Api) -> None:
        self.api = api
        super().__init__(address, _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> threading.Thread:
        t = threading.Thread(target=self.serve_forever, name="wphw-api", daemon=True)
        t.start()
        return t
