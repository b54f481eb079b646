/* wphw — constants shared by both architectures (docs/dataplane.md). */
#ifndef WPHW_CONSTANTS_P4
#define WPHW_CONSTANTS_P4

/* Table sizes. The defaults fit a Tofino pipe (tna/wphw.p4 keeps them); the v1model top
 * raises the tables that grow with the number of routes and rules, since on BMv2 a size is
 * only a cap (memory is allocated per entry): a FIB of 100k+ routes, SFF/counter tables for
 * every path and rule of a large fabric (docs/p4.md "Table sizes"). */
#ifndef WP_SIZE_IPV4_LPM
#define WP_SIZE_IPV4_LPM 1024
#endif
#ifndef WP_SIZE_CLASSIFY
#define WP_SIZE_CLASSIFY 1024
#endif
#ifndef WP_SIZE_SFF
#define WP_SIZE_SFF 4096
#endif
#ifndef WP_SIZE_COUNT
#define WP_SIZE_COUNT 1024
#endif
#ifndef WP_SIZE_SMALL
#define WP_SIZE_SMALL 1024
#endif
#ifndef WP_SIZE_FW
#define WP_SIZE_FW WP_SIZE_SMALL
#endif
#ifndef WP_SIZE_NAT
#define WP_SIZE_NAT WP_SIZE_SMALL
#endif
#ifndef WP_SIZE_RATELIMIT
#define WP_SIZE_RATELIMIT WP_SIZE_SMALL
#endif
#ifndef WP_SIZE_PROXY_RETURN
#define WP_SIZE_PROXY_RETURN WP_SIZE_SMALL
#endif

typedef bit<9> port_t;

const bit<16> ETHERTYPE_IPV4 = 0x0800;
const bit<16> ETHERTYPE_VLAN = 0x8100;
const bit<16> ETHERTYPE_NSH  = 0x894F;

const bit<8> IP_PROTO_TCP = 6;
const bit<8> IP_PROTO_UDP = 17;

/* NSH, RFC 8300 */
const bit<8> SI_INIT = 255;

/* nsh_t.base = ver(2) oam(1) u1(1) ttl(6) len(6) u2(4) md_type(4) next_proto(8); NSH TTL starts
 * at 63, len 2 = base + service path header without context TLVs (4-byte words), next protocol
 * 1 = IPv4 */
const bit<32> NSH_BASE_INIT     = 0x0FC20201;  /* ver 0, TTL 63, len 2, MD type 2, IPv4 */
const bit<32> NSH_BASE_TTL_ONE  = 0x00400000;  /* TTL 1 in its position: base - this = TTL - 1 */
const bit<32> NSH_BASE_TTL_MASK = 0x0FC00000;
const bit<32> NSH_BASE_OK       = 0x00020201;  /* ver 0, len 2, MD type 2, next protocol IPv4 ... */
const bit<32> NSH_BASE_OK_MASK  = 0xC03F0FFF;  /* ... under this mask (oam, u1, TTL, u2 free) */

/* Parser errors of our own (the packet is dropped in ingress; docs/p4.md "Malformed packets"). */
error {
    NshUnsupported,  /* NSH version != 0, MD type != 2, length != 2 or next protocol != IPv4 */
    NshTtlExpired,   /* NSH TTL 0 on arrival */
    Ipv4Malformed,   /* IPv4 version != 4 or IHL < 5 */
    NotIpv4          /* neither NSH nor IPv4 after Ethernet (and 802.1Q) */
}

#endif /* WPHW_CONSTANTS_P4 */
