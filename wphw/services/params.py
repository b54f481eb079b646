"""One typed parameter model per service, parsed by one function.

A service's parameters are the merge of the PE's ``params`` in the topology and the service's
``params`` in the policy (policy keys win). :func:`parse` turns that mapping into the service's
typed model, or raises :class:`~wphw.errors.ServiceParamError` naming the element. Every consumer
calls it: compile (in-switch ``wp_fw``/``wp_nat``/``wp_ratelimit`` entries and the upfront check of
software PEs), the FPGA register generation (``wphw.netfpga.plan``) and the software PEs
(``wphw.pe.services``) — so one bad value gets one error, wherever it is used. Formats:
docs/pes.md and docs/formats.md.

Parsing does no I/O: ``key_file`` is kept as a path (:meth:`CryptoKey.load` reads it, in the PE).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from wphw.errors import PolicyError, ServiceParamError
from wphw.services.esp import KEY_ID_MAX, KEY_LEN, SEQ_MAX
from wphw.services.ipv4 import FlowKey

ANY_NET = ipaddress.IPv4Network("0.0.0.0/0")
PortRange = tuple[int, int]
FULL_PORTS: PortRange = (0, 0xFFFF)


# --- typed values ---------------------------------------------------------------------------


def check_range(what: str, value: Any, lo: int, hi: int) -> None:
    """``value`` is an int in ``lo..hi``, else :class:`ServiceParamError` naming ``what``."""
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ServiceParamError(f"{what}: {value!r} not in {lo}..{hi}")


@dataclass(frozen=True, slots=True, kw_only=True)
class FwRule:
    """One 5-tuple firewall rule: ``proto=None`` is any protocol; port ranges are inclusive.

    The same class is the ``fw`` parameter model, the ``wp_fw`` register driver's input and
    the software firewall's rule (:meth:`matches`)."""

    permit: bool
    src: ipaddress.IPv4Network = ANY_NET
    dst: ipaddress.IPv4Network = ANY_NET
    proto: int | None = None
    sport: PortRange = FULL_PORTS
    dport: PortRange = FULL_PORTS
    _ints: tuple[int, int, int, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("src", "dst"):
            if not isinstance(getattr(self, name), ipaddress.IPv4Network):
                raise ServiceParamError(
                    f"FwRule.{name}: {getattr(self, name)!r} is not an IPv4Network"
                )
        if self.proto is not None:
            check_range("FwRule.proto", self.proto, 0, 255)
        for name in ("sport", "dport"):
            lo, hi = getattr(self, name)
            check_range(f"FwRule.{name} low", lo, 0, 0xFFFF)
            check_range(f"FwRule.{name} high", hi, lo, 0xFFFF)
        object.__setattr__(
            self,
            "_ints",
            (
                int(self.src.network_address),
                int(self.src.netmask),
                int(self.dst.network_address),
                int(self.dst.netmask),
            ),
        )

    def matches(self, key: FlowKey) -> bool:
        src, dst, proto, sport, dport = key
        s, sm, d, dm = self._ints
        return (
            src & sm == s
            and dst & dm == d
            and (self.proto is None or proto == self.proto)
            and self.sport[0] <= sport <= self.sport[1]
            and self.dport[0] <= dport <= self.dport[1]
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class FwParams:
    """``fw``: ``rules`` (first match wins) and ``default`` (permit unless ``deny``)."""

    rules: tuple[FwRule, ...] = ()
    default_permit: bool = True
    matches: tuple[Any, ...] = field(default=(), compare=False, repr=False)
    """The rules' :class:`wphw.policy.Match` es (the in-switch ``wp_fw`` entries match them)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class NatPair:
    """A static 1:1 mapping: ``inside`` is seen as ``outside``."""

    inside: ipaddress.IPv4Address
    outside: ipaddress.IPv4Address


@dataclass(frozen=True, slots=True, kw_only=True)
class NatParams:
    """``nat``: ``mappings``; per mapping in order SNAT (source == inside) then DNAT
    (destination == outside), the first hit applies (``wp_nat``, in-switch and software)."""

    mappings: tuple[NatPair, ...] = ()


IDS_ACTIONS = ("pass", "mark", "drop")
"""IDS actions, weakest first (the strongest matching signature's action applies)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class IdsSignature:
    name: str
    pattern: bytes
    action: str = "pass"

    @property
    def strength(self) -> int:
        return IDS_ACTIONS.index(self.action)


@dataclass(frozen=True, slots=True, kw_only=True)
class IdsParams:
    """``ids``: ``signatures`` (anywhere in the L4 payload) and ``mark_dscp`` (0..63)."""

    signatures: tuple[IdsSignature, ...] = ()
    mark_dscp: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class CryptoKey:
    """A WP-ESP key: given inline (``key``) or read by the PE from ``key_file``."""

    key_id: int = 0
    key: bytes | None = field(default=None, repr=False)
    key_file: str | None = None

    def load(self) -> bytes:
        """The 32-byte key (reads ``key_file``: 32 raw bytes or 64 hex digits)."""
        if self.key is not None:
            return self.key
        assert self.key_file is not None
        try:
            data = Path(self.key_file).read_bytes()
        except OSError as exc:
            raise ServiceParamError(f"key_file {self.key_file}: {exc.strerror}") from None
        if len(data) == KEY_LEN:
            return data
        return _hex_key(data.decode("ascii", errors="replace").strip(), f"key_file {self.key_file}")


@dataclass(frozen=True, slots=True, kw_only=True)
class EncryptParams:
    """``encrypt``: key, ``key_id``, ``seq_start`` (None: the PE's wall clock in ns) and
    ``bypass`` (what to do with packets the format does not cover)."""

    key: CryptoKey
    seq_start: int | None = None
    bypass_drop: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class DecryptParams:
    """``decrypt``: one key or ``keys`` (one per key id); ``reject`` (unknown key ids)."""

    keys: tuple[CryptoKey, ...]
    reject_drop: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class CountParams:
    max_flows: int = 65536


@dataclass(frozen=True, slots=True, kw_only=True)
class RateLimitParams:
    """``ratelimit`` (in-switch meter): committed and peak rate, burst."""

    rate_bytes_per_s: int = 125_000_000
    burst_bytes: int = 15_000


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpProxyParams:
    ports: frozenset[int] = frozenset({80})
    block: tuple[bytes, ...] = ()
    rewrite: tuple[tuple[bytes, bytes], ...] = ()
    max_blocked_flows: int = 4096


@dataclass(frozen=True, slots=True, kw_only=True)
class OpaqueParams:
    """A service wphw does not implement (a user's own PE process): parameters passed on."""

    params: Mapping[str, Any]


ServiceParams = (
    FwParams
    | NatParams
    | IdsParams
    | EncryptParams
    | DecryptParams
    | CountParams
    | RateLimitParams
    | HttpProxyParams
    | OpaqueParams
)


# --- parsing --------------------------------------------------------------------------------


def _mapping(value: Any, where: str, want: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ServiceParamError(f"{where}: want {want}, got {type(value).__name__}")
    return value


def _list(params: Mapping[str, Any], key: str, where: str) -> list[Any]:
    value = params.get(key, [])
    if not isinstance(value, list):
        raise ServiceParamError(f"{where}: {key} must be a list, got {type(value).__name__}")
    return value


def _int(params: Mapping[str, Any], key: str, default: int, lo: int, hi: int, where: str) -> int:
    value = params.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ServiceParamError(f"{where}: {key} must be an integer in {lo}..{hi}, got {value!r}")
    return value


def _choice(params: Mapping[str, Any], key: str, choices: tuple[str, ...], where: str) -> str:
    value = params.get(key, choices[0])
    if value not in choices:
        raise ServiceParamError(
            f"{where}: {key} must be one of {', '.join(choices)}, got {value!r}"
        )
    return str(value)


def _hex_key(raw: Any, where: str) -> bytes:
    if not isinstance(raw, str):
        raise ServiceParamError(f"{where}: give key (64 hex digits) or key_file")
    try:
        key = bytes.fromhex(raw)
    except ValueError:
        raise ServiceParamError(f"{where}: key is not hex") from None
    if len(key) != KEY_LEN:
        raise ServiceParamError(
            f"{where}: key must be {KEY_LEN} bytes (64 hex digits), got {len(key)}"
        )
    return key


def _crypto_key(item: Mapping[str, Any], where: str) -> CryptoKey:
    key_id = _int(item, "key_id", 0, 0, KEY_ID_MAX, where)
    if item.get("key") is None and item.get("key_file") is not None:
        return CryptoKey(key_id=key_id, key_file=str(item["key_file"]))
    return CryptoKey(key_id=key_id, key=_hex_key(item.get("key"), where))


def _fw(p: Mapping[str, Any], where: str) -> FwParams:
    from wphw.policy import parse_match  # policy is an input layer below; parse_match is its API

    rules: list[FwRule] = []
    matches = []
    for i, item in enumerate(_list(p, "rules", where)):
        w = f"{where} rules[{i}]"
        if not isinstance(item, Mapping) or item.get("action") not in ("permit", "deny"):
            raise ServiceParamError(f"{w}: want a match plus 'action: permit|deny'")
        try:
            m = parse_match({k: v for k, v in item.items() if k != "action"}, w)
        except PolicyError as exc:
            raise ServiceParamError(str(exc)) from None
        if m.in_port is not None:
            raise ServiceParamError(f"{w}: in_port cannot be matched by a PE")
        matches.append(m)
        rules.append(
            FwRule(
                permit=item["action"] == "permit",
                src=m.src or ANY_NET,
                dst=m.dst or ANY_NET,
                proto=m.proto,
                sport=m.src_port or FULL_PORTS,
                dport=m.dst_port or FULL_PORTS,
            )
        )
    default = _choice(p, "default", ("permit", "deny"), where)
    return FwParams(rules=tuple(rules), default_permit=default == "permit", matches=tuple(matches))


def _nat(p: Mapping[str, Any], where: str) -> NatParams:
    out = []
    for i, item in enumerate(_list(p, "mappings", where)):
        w = f"{where} mappings[{i}]"
        try:
            inside = ipaddress.IPv4Address(str(_mapping(item, w, "a mapping")["inside"]))
            outside = ipaddress.IPv4Address(str(item["outside"]))
        except (KeyError, ValueError):
            raise ServiceParamError(f"{w}: want {{inside: A.B.C.D, outside: A.B.C.D}}") from None
        out.append(NatPair(inside=inside, outside=outside))
    return NatParams(mappings=tuple(out))


def _ids(p: Mapping[str, Any], where: str) -> IdsParams:
    sigs = []
    for i, item in enumerate(_list(p, "signatures", where)):
        w = f"{where} signatures[{i}]"
        item = _mapping(item, w, "{pattern|hex, action}")
        if "hex" in item:
            try:
                pattern = bytes.fromhex(str(item["hex"]))
            except ValueError:
                raise ServiceParamError(f"{w}: hex is not hex") from None
        elif "pattern" in item:
            pattern = str(item["pattern"]).encode()
        else:
            raise ServiceParamError(f"{w}: give pattern (text) or hex")
        if not pattern:
            raise ServiceParamError(f"{w}: empty signature")
        action = _choice(item, "action", IDS_ACTIONS, w)
        sigs.append(
            IdsSignature(name=str(item.get("name", f"sig{i}")), pattern=pattern, action=action)
        )
    return IdsParams(signatures=tuple(sigs), mark_dscp=_int(p, "mark_dscp", 0, 0, 63, where))


def _encrypt(p: Mapping[str, Any], where: str) -> EncryptParams:
    seq = p.get("seq_start")
    if seq is not None:
        seq = _int(p, "seq_start", 0, 0, SEQ_MAX, where)
    return EncryptParams(
        key=_crypto_key(p, where),
        seq_start=seq,
        bypass_drop=_choice(p, "bypass", ("pass", "drop"), where) == "drop",
    )


def _decrypt(p: Mapping[str, Any], where: str) -> DecryptParams:
    if "keys" in p:
        keys = tuple(
            _crypto_key(_mapping(item, f"{where} keys[{i}]", "{key_id, key}"), f"{where} keys[{i}]")
            for i, item in enumerate(_list(p, "keys", where))
        )
        if not keys:
            raise ServiceParamError(f"{where}: keys is empty")
        ids = [k.key_id for k in keys]
        if len(set(ids)) != len(ids):
            raise ServiceParamError(f"{where}: keys: key_id repeated")
    else:
        keys = (_crypto_key(p, where),)
    return DecryptParams(
        keys=keys, reject_drop=_choice(p, "reject", ("pass", "drop"), where) == "drop"
    )


def _count(p: Mapping[str, Any], where: str) -> CountParams:
    return CountParams(max_flows=_int(p, "max_flows", 65536, 1, 1 << 24, where))


def _ratelimit(p: Mapping[str, Any], where: str) -> RateLimitParams:
    top = (1 << 40) - 1
    return RateLimitParams(
        rate_bytes_per_s=_int(p, "rate_bytes_per_s", 125_000_000, 1, top, where),
        burst_bytes=_int(p, "burst_bytes", 15_000, 1, top, where),
    )


def _http_proxy(p: Mapping[str, Any], where: str) -> HttpProxyParams:
    ports = p.get("ports", [80])
    if not isinstance(ports, list) or not all(
        isinstance(x, int) and not isinstance(x, bool) and 0 < x < 65536 for x in ports
    ):
        raise ServiceParamError(f"{where}: ports must be a list of TCP ports")
    rewrite = []
    for i, item in enumerate(_list(p, "rewrite", where)):
        if not isinstance(item, Mapping) or "header" not in item or "value" not in item:
            raise ServiceParamError(f"{where} rewrite[{i}]: want {{header, value}}")
        rewrite.append((str(item["header"]).lower().encode(), str(item["value"]).encode()))
    return HttpProxyParams(
        ports=frozenset(ports),
        block=tuple(str(b).lower().encode() for b in _list(p, "block", where)),
        rewrite=tuple(rewrite),
        max_blocked_flows=_int(p, "max_blocked_flows", 4096, 1, 1 << 20, where),
    )


PARSERS: Mapping[str, Callable[[Mapping[str, Any], str], ServiceParams]] = {
    "fw": _fw,
    "nat": _nat,
    "ids": _ids,
    "encrypt": _encrypt,
    "decrypt": _decrypt,
    "count": _count,
    "ratelimit": _ratelimit,
    "http_proxy": _http_proxy,
}
"""The services wphw implements (software PE, FPGA block or in-switch table) and their parsers."""


def parse(service: str, params: Mapping[str, Any] | None, where: str) -> ServiceParams:
    """``params`` of ``service`` as its typed model; ``where`` names the element in errors
    (e.g. ``"PE fw1 (fw)"``). Services wphw does not implement pass through as
    :class:`OpaqueParams`."""
    params = {} if params is None else params
    if not isinstance(params, Mapping):
        raise ServiceParamError(f"{where}: params must be a mapping, got {type(params).__name__}")
    parser = PARSERS.get(service)
    if parser is None:
        return OpaqueParams(params=params)
    return parser(params, where)


def where(pe: str, service: str) -> str:
    """How errors name a (PE, service): the same words in compile, FPGA generation and PEs."""
    return f"PE {pe} ({service})"


def merged(
    pe_params: Mapping[str, Any] | Iterable[tuple[str, Any]],
    policy_params: Mapping[str, Any] | Iterable[tuple[str, Any]],
) -> dict[str, Any]:
    """The parameters a (PE, service) runs with: the PE's, overridden by the policy's."""
    return dict(pe_params) | dict(policy_params)


_T = TypeVar("_T")


def parse_as(kind: type[_T], service: str, params: Mapping[str, Any] | None, where: str) -> _T:
    """:func:`parse`, checked to give ``kind`` (callers that know the service's model)."""
    out = parse(service, params, where)
    if not isinstance(out, kind):
        raise ServiceParamError(f"{where}: {service} has no {kind.__name__} parameters")
    return out
