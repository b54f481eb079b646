/* wphw — wp_classify: subscriber classification of IPv4 packets without NSH.
 *
 * start_chain only records the chain (base SPI, number of alternative paths); the top file
 * computes the per-flow hash with its architecture's extern and WpChain pushes NSH with
 * SPI = spi + hash(5-tuple) mod paths.
 */
#ifndef WPHW_WP_CLASSIFY_P4
#define WPHW_WP_CLASSIFY_P4

#include "headers.p4"
#include "names.p4"

control WpClassify(inout headers_t hdr, inout wp_meta_t meta) {
    WP_DIRECT_COUNTER(wp_classify_counter)

    WP_NAME(start_chain)
    action start_chain(bit<24> spi, bit<8> paths) {
        WP_COUNT(wp_classify_counter)
        meta.chain_start = 1;
        meta.chain_spi = spi;
        meta.chain_paths = paths;
    }

    WP_NAME(forward)
    action forward(port_t port) {
        WP_COUNT(wp_classify_counter)
        meta.egress_port = port;
        meta.fwd = 1;
    }

    WP_NAME(drop)
    action drop() {
        WP_COUNT(wp_classify_counter)
        meta.drop = 1;
    }

    WP_NAME(route)
    action route() {
        WP_COUNT(wp_classify_counter)
        meta.route = 1;
    }

    WP_NAME(wp_classify)
    table wp_classify {
        key = {
            meta.ingress_port : ternary @name("ingress_port");
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
