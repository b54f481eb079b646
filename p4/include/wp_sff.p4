/* wphw — wp_sff: the service function forwarder (exact SPI, and the SI the packet entered this
 * pass with, like the in-switch service tables before it). Every action decides where the
 * packet goes (WP_FORWARD / WP_RECIRCULATE / WP_DROP of the top file) except sff_end_route,
 * which leaves it to ipv4_lpm. The actions that keep NSH set the SI the packet leaves with:
 * the entry SI less one per in-switch service of this pass (the plan computes it), so no
 * table of the pass waits for another's SI (docs/dataplane.md "SI"). */
#ifndef WPHW_WP_SFF_P4
#define WPHW_WP_SFF_P4

#include "headers.p4"
#include "names.p4"

control WpSff(inout headers_t hdr, inout wp_meta_t meta WP_ARCH_PARAMS) {
    WP_DIRECT_COUNTER(wp_sff_counter)

    /* keep NSH with SI `si`, out `port` (next switch or NSH-aware PE); NSH TTL - 1 */
    WP_NAME(sff_forward)
    action sff_forward(port_t port, bit<8> si) {
        WP_COUNT(wp_sff_counter)
        WP_SET_SI(si)
        hdr.nsh.base = hdr.nsh.base - NSH_BASE_TTL_ONE;
        WP_FORWARD(port)
    }

    /* SFC proxy, leg to an NSH-unaware PE: strip NSH, tag with `vlan` */
    WP_NAME(sff_proxy)
    action sff_proxy(port_t port, bit<12> vlan) {
        WP_COUNT(wp_sff_counter)
        hdr.nsh.setInvalid();
        hdr.vlan.setValid();
        hdr.vlan.pcp = 0;
        hdr.vlan.dei = 0;
        hdr.vlan.vid = vlan;
        hdr.vlan.ether_type = ETHERTYPE_IPV4;
        hdr.ethernet.ether_type = ETHERTYPE_VLAN;
        WP_FORWARD(port)
    }

    /* run the pipeline again with SI `si`: an in-switch service earlier in the fixed order is
     * next. NSH TTL - 1, so a recirculation loop ends. */
    WP_NAME(sff_recirculate)
    action sff_recirculate(bit<8> si) {
        WP_COUNT(wp_sff_counter)
        WP_SET_SI(si)
        hdr.nsh.base = hdr.nsh.base - NSH_BASE_TTL_ONE;
        WP_RECIRCULATE
    }

    /* chain done: pop NSH, out `port` */
    WP_NAME(sff_end_forward)
    action sff_end_forward(port_t port) {
        WP_COUNT(wp_sff_counter)
        hdr.nsh.setInvalid();
        WP_SET_ETHERTYPE(ETHERTYPE_IPV4)
        WP_FORWARD(port)
    }

    /* chain done: pop NSH, route the inner packet (ipv4_lpm) */
    WP_NAME(sff_end_route)
    action sff_end_route() {
        WP_COUNT(wp_sff_counter)
        hdr.nsh.setInvalid();
        WP_SET_ETHERTYPE(ETHERTYPE_IPV4)
        WP_ROUTE
    }

    WP_NAME(sff_drop)
    action sff_drop() {
        WP_COUNT(wp_sff_counter)
        WP_DROP
    }

    WP_NAME(wp_sff)
    table wp_sff {
        key = {
            WP_SPI      : exact @name("spi");
            WP_SI       : exact @name("si");
        }
        actions = {
            sff_forward;
            sff_proxy;
            sff_recirculate;
            sff_end_forward;
            sff_end_route;
            sff_drop;
        }
        default_action = sff_drop();
        counters = wp_sff_counter;
        size = WP_SIZE_SFF;
    }

    apply {
        wp_sff.apply();
    }
}

#endif /* WPHW_WP_SFF_P4 */
