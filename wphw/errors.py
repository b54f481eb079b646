"""One error hierarchy for wphw.

Every error names the offending element (file, rule, switch, entry, field) in its message.
Nothing in wphw catches and prints, or returns ``None``/``False`` as a status.
"""

from __future__ import annotations


class WphwError(Exception):
    """Base class of every error wphw raises on purpose."""


class TopologyError(WphwError):
    """A topology file or object is malformed or inconsistent (unknown node, duplicate port...)."""


class PolicyError(WphwError):
    """A policy is malformed or cannot be realised on the topology (unknown service, overlap...)."""


class PEError(WphwError):
    """A software PE cannot start, its parameters are invalid, or its control interface fails."""


class ServiceParamError(PolicyError, PEError):
    """A service's parameters are malformed (wphw.services.parse). Both a PolicyError (compile
    meets it) and a PEError (a software PE meets it): one error for one bad value, wherever."""


class PlanError(WphwError):
    """A plan cannot be built, loaded or exported."""


class PlanFormatError(PlanError):
    """A plan file of another format: written for another data plane."""


class VerificationError(WphwError):
    """A plan does not do what its policy says; ``violations`` lists every finding."""

    def __init__(self, message: str, violations: list[str]) -> None:
        super().__init__(message + "".join(f"\n  - {v}" for v in violations))
        self.violations = violations


class SchemaError(WphwError):
    """A name or value does not resolve against the P4Info schema."""


class WriteError(WphwError):
    """A P4Runtime Write failed; ``failures`` lists every failed update."""


class SwitchConnectionError(WphwError):
    """A switch could not be reached (after retries); names the switch and its address."""


class RegisterError(WphwError):
    """A PE register value is out of range, or a block's ID/VERSION does not match."""


class LabError(WphwError):
    """A BMv2 lab could not be brought up or torn down."""


class StoreError(WphwError):
    """The controller's database cannot be opened, is of a newer schema, or is inconsistent."""


class NotFoundError(WphwError):
    """A named element (rule, switch, PE) does not exist, or is not visible to the caller."""


class AccessError(WphwError):
    """A caller's token is missing, unknown, or does not allow the operation."""


class AuthenticationError(AccessError):
    """No token, or a token the controller does not know."""
