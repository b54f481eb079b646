/* wphw — ipv4_lpm: ordinary IPv4 routing (classification miss, `route`, sff_end_route).
 * IPv4 TTL <= 1 is dropped instead of forwarded (no ICMP time exceeded is generated).
 */
#ifndef WPHW_IPV4_LPM_P4
#define WPHW_IPV4_LPM_P4

#include "headers.p4"
#include "names.p4"
#include "checksum.p4"

control WpIpv4Lpm(inout headers_t hdr, inout wp_meta_t meta) {
    WP_NAME(ipv4_forward)
    action ipv4_forward(bit<48> dst_mac, port_t port) {
        hdr.ethernet.src_addr = hdr.ethernet.dst_addr;
        hdr.ethernet.dst_addr = dst_mac;
        hdr.ipv4.hdr_checksum = wp_csum_replace16(hdr.ipv4.hdr_checksum,
                                                  hdr.ipv4.ttl ++ hdr.ipv4.protocol,
                                                  (hdr.ipv4.ttl - 1) ++ hdr.ipv4.protocol);
        hdr.ipv4.ttl = hdr.ipv4.ttl - 1;
        meta.egress_port = port;
        meta.fwd = 1;
    }

    WP_NAME(ipv4_drop)
    action ipv4_drop() {
        meta.drop = 1;
    }

    WP_NAME(ipv4_lpm)
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

    apply {
        if (!hdr.ipv4.isValid() || hdr.ipv4.ttl <= 1) {
            meta.drop = 1;
        } else {
            ipv4_lpm.apply();
        }
    }
}

#endif /* WPHW_IPV4_LPM_P4 */
