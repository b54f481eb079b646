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

typedef bit<9> port_t;

const bit<16> ETHERTYPE_IPV4 = 0x0800;
const bit<16> ETHERTYPE_VLAN = 0x8100;
const bit<16> ETHERTYPE_NSH  = 0x894F;

const bit<8> IP_PROTO_TCP = 6;
const bit<8> IP_PROTO_UDP = 17;

/* NSH, RFC 8300 */
const bit<6> NSH_TTL_INIT        = 63;
const bit<8> SI_INIT             = 255;
const bit<6> NSH_LEN_MD2         = 2;  /* base + service path header, no context TLVs (4-byte words) */
const bit<4> NSH_MD_TYPE_2       = 2;
const bit<8> NSH_NEXT_PROTO_IPV4 = 1;

/* Parser errors of our own (set by verify(); the packet is dropped in ingress). */
error {
    NshUnsupported,  /* NSH version != 0, MD type != 2, length != 2 or next protocol != IPv4 */
    Ipv4Malformed    /* IPv4 version != 4 or IHL < 5 */
}

#endif /* WPHW_CONSTANTS_P4 */
