"""One service model: typed parameters (:mod:`.params`), reference behaviour
(:mod:`.reference`, :mod:`.esp`) and IPv4 helpers (:mod:`.ipv4`), shared by compile, the FPGA
register generation, the software PEs and the RTL testbenches (docs/design.md).

This package sits just above the inputs (topology, policy): it imports nothing else of wphw.
"""

from wphw.services.params import (
    ANY_NET,
    CryptoKey,
    DecryptParams,
    EncryptParams,
    FwParams,
    FwRule,
    IdsParams,
    NatPair,
    NatParams,
    ServiceParams,
    merged,
    parse,
    parse_as,
)
from wphw.services.reference import NatMapping, fw_decide, ids_match, nat_table, nat_translate

__all__ = [
    "ANY_NET",
    "CryptoKey",
    "DecryptParams",
    "EncryptParams",
    "FwParams",
    "FwRule",
    "IdsParams",
    "NatMapping",
    "NatPair",
    "NatParams",
    "ServiceParams",
    "fw_decide",
    "ids_match",
    "merged",
    "nat_table",
    "nat_translate",
    "parse",
    "parse_as",
]
