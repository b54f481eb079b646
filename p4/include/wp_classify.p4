/* wphw — wp_classify: subscriber classification of IPv4 packets without NSH.
 *
 * start_chain pushes NSH in the action itself: SPI = spi + hash(5-tuple) mod paths (paths 0
 * counts as 1), SI 255, TTL 63. The per-flow offset comes from WP_CHAIN_SPI of the top file,
 * with its architecture's hash. `route` only marks the packet for ipv4_lpm; `forward` and `drop`
 * decide at once.
 */
#ifndef WPHW_WP_CLASSIFY_P4
#define WPHW_WP_CLASSIFY_P4

#include "headers.p4"
#include "names.p4"

/* annotations choosing how the target implements the table (TNA: @entries_with_ranges, how
 * many entries may need a range expanded over several TCAM lines; tna/sizes.p4) */
#ifndef WP_CLASSIFY_IMPL
#define WP_CLASSIFY_IMPL
#endif

control WpClassify(inout headers_t hdr, inout wp_meta_t meta WP_ARCH_PARAMS) {
    WP_DIRECT_COUNTER(wp_classify_counter)

    WP_NAME(start_chain)
    action start_chain(bit<24> spi, bit<8> paths) {
        WP_COUNT(wp_classify_counter)
        hdr.nsh.setValid();
        hdr.nsh.base = NSH_BASE_INIT;
        WP_CHAIN_SPI(spi, paths)
        WP_SET_SI(SI_INIT)
        WP_SET_ETHERTYPE(ETHERTYPE_NSH)
    }

    WP_NAME(forward)
    action forward(port_t port) {
        WP_COUNT(wp_classify_counter)
        WP_FORWARD(port)
    }

    WP_NAME(drop)
    action drop() {
        WP_COUNT(wp_classify_counter)
        WP_DROP
    }

    WP_NAME(route)
    action route() {
        WP_COUNT(wp_classify_counter)
        WP_ROUTE
    }

    WP_NAME(wp_classify) WP_CLASSIFY_IMPL
    table wp_classify {
        key = {
            WP_INGRESS_PORT   : ternary @name("ingress_port");
            hdr.ipv4.src_addr : ternary @name("ipv4_src");
            hdr.ipv4.dst_addr : ternary @name("ipv4_dst");
            hdr.ipv4.protocol : ternary @name("ip_proto");
            meta.l4_src_port  : range   @name("l4_src_port");
            meta.l4_dst_port  : range   @name("l4_dst_port");
        }
        actions = {
            start_chain;
            forward;
            drop;
            route;
        }
        default_action = route();
        counters = wp_classify_counter;
        size = WP_SIZE_CLASSIFY;
    }

    apply {
        wp_classify.apply();
    }
}

#endif /* WPHW_WP_CLASSIFY_P4 */
