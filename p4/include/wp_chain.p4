/* wphw — second half of the ingress pipeline (docs/dataplane.md steps 3-5):
 * push NSH for a started chain, NSH TTL, in-switch services in the fixed order
 * wp_fw -> wp_nat -> wp_count -> wp_ratelimit, wp_sff, then ipv4_lpm for routed packets.
 *
 * NSH TTL: a packet with NSH TTL 0 is dropped before any lookup; wp_sff decrements the TTL
 * whenever the packet leaves with NSH (sff_forward) or goes round again (sff_recirculate), so
 * neither a forwarding loop nor a recirculation loop can run for more than 63 passes.
 */
#ifndef WPHW_WP_CHAIN_P4
#define WPHW_WP_CHAIN_P4

#include "headers.p4"
#include "wp_fw.p4"
#include "wp_nat.p4"
#include "wp_count.p4"
#include "wp_ratelimit.p4"
#include "wp_sff.p4"
#include "ipv4_lpm.p4"

control WpChain(inout headers_t hdr, inout wp_meta_t meta) {
    WpFw() fw;
    WpNat() nat;
    WpCount() counting;
    WpRatelimit() ratelimit;
    WpSff() sff;
    WpIpv4Lpm() routing;

    apply {
        if (meta.drop == 0 && meta.chain_start == 1) {
            hdr.nsh.setValid();
            hdr.nsh.ver = 0;
            hdr.nsh.oam = 0;
            hdr.nsh.u1 = 0;
            hdr.nsh.ttl = NSH_TTL_INIT;
            hdr.nsh.len = NSH_LEN_MD2;
            hdr.nsh.u2 = 0;
            hdr.nsh.md_type = NSH_MD_TYPE_2;
            hdr.nsh.next_proto = NSH_NEXT_PROTO_IPV4;
            hdr.nsh.spi = meta.chain_spi + meta.lb_offset;
            hdr.nsh.si = SI_INIT;
            if (hdr.vlan.isValid()) {
                hdr.vlan.ether_type = ETHERTYPE_NSH;
            } else {
                hdr.ethernet.ether_type = ETHERTYPE_NSH;
            }
        }

        if (meta.drop == 0 && hdr.nsh.isValid()) {
            if (hdr.nsh.ttl == 0) {
                meta.drop = 1;
            }
            fw.apply(hdr, meta);
            nat.apply(hdr, meta);
            counting.apply(hdr, meta);
            ratelimit.apply(hdr, meta);
            sff.apply(hdr, meta);
        }

        if (meta.drop == 0 && meta.route == 1) {
            routing.apply(hdr, meta);
        }
    }
}

#endif /* WPHW_WP_CHAIN_P4 */
