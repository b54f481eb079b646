/* wphw — wp_lb (TNA only): the per-flow load-balancing offset of start_chain.
 *
 * v1model computes SPI = spi + crc16(5-tuple) mod paths inside start_chain. Tofino has neither
 * a run-time modulo nor a run-time multiply, so start_chain writes the chain's first SPI and
 * meta.lb_paths, the ingress hashes the 5-tuple into meta.lb_hash, and this table adds
 * (lb_hash * paths) >> 16 from constant entries (wp_lb_entries.py). The controller never
 * writes it.
 */
#ifndef WPHW_WP_LB_P4
#define WPHW_WP_LB_P4

control WpLb(inout headers_t hdr, inout wp_meta_t meta) {
    WP_NAME(lb_offset)
    action lb_offset(bit<24> offset) {
        meta.spi = meta.spi + offset;
    }

    WP_NAME(wp_lb)
    table wp_lb {
        key = {
            meta.lb_paths : exact @name("paths");
            meta.lb_hash  : range @name("hash");
        }
        actions = {
            lb_offset;
            @defaultonly NoAction;
        }
        const default_action = NoAction();
        const entries = {
#include "wp_lb_entries.p4"
        }
        size = WP_SIZE_LB;
    }

    apply {
        wp_lb.apply();
    }
}

#endif /* WPHW_WP_LB_P4 */
