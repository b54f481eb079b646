/* wphw — ipv4_lpm: ordinary IPv4 routing (classification miss, `route`, sff_end_route).
 * IPv4 TTL <= 1 is dropped instead of forwarded (no ICMP time exceeded is generated).
 * The parser guarantees a valid IPv4 header here.
 */
#ifndef WPHW_IPV4_LPM_P4
#define WPHW_IPV4_LPM_P4

#include "headers.p4"
#include "names.p4"
#include "checksum.p4"

/* an annotation choosing how the target implements the LPM table (TNA: algorithmic LPM) */
#ifndef WP_LPM_IMPL
#define WP_LPM_IMPL
#endif

control WpIpv4Lpm(inout headers_t hdr, inout wp_meta_t meta WP_ARCH_PARAMS) {
    WP_NAME(ipv4_forward)
    action ipv4_forward(bit<48> dst_mac, port_t port) {
        hdr.ethernet.src_addr = hdr.ethernet.dst_addr;
        hdr.ethernet.dst_addr = dst_mac;
        WP_IPV4_TTL_DEC
        WP_FORWARD(port)
    }

    WP_NAME(ipv4_drop)
    action ipv4_drop() {
        WP_DROP
    }

    WP_NAME(ipv4_lpm) WP_LPM_IMPL
    table ipv4_lpm {
        key = {
            hdr.ipv4.dst_addr : lpm @name("ipv4_dst");
        }
        actions = {
            ipv4_forward;
            ipv4_drop;
        }
        default_action = ipv4_drop();
        size = WP_SIZE_IPV4_LPM;
    }

    /* the top file applies this only with IPv4 TTL > 1 (and drops the rest) */
    apply {
        ipv4_lpm.apply();
    }
}

#endif /* WPHW_IPV4_LPM_P4 */
