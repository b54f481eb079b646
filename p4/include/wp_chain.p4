/* wphw — the service chain part of the ingress pipeline (docs/dataplane.md steps 3-4), applied
 * by the top file to packets that carry NSH (arrived with it, or pushed by start_chain or
 * proxy_restore in this pass): the in-switch services in the fixed order
 * wp_fw -> wp_nat -> wp_count -> wp_ratelimit, then wp_sff. All five match the SPI and the SI
 * the packet entered this pass with; none of the services changes the SI, wp_sff sets the one
 * the packet leaves with. So the only order among them is the drop: a packet wp_fw denies meets
 * no later service (nothing counted or metered), one over wp_ratelimit's rate meets no wp_sff.
 *
 * NSH TTL: the parser drops a packet with NSH TTL 0; wp_sff decrements the TTL whenever the
 * packet leaves with NSH (sff_forward) or goes round again (sff_recirculate), so neither a
 * forwarding loop nor a recirculation loop can run for more than 63 passes.
 */
#ifndef WPHW_WP_CHAIN_P4
#define WPHW_WP_CHAIN_P4

#include "headers.p4"
#include "wp_fw.p4"
#include "wp_nat.p4"
#include "wp_count.p4"
#include "wp_ratelimit.p4"
#include "wp_sff.p4"

control WpChain(inout headers_t hdr, inout wp_meta_t meta WP_ARCH_PARAMS) {
    WpFw() fw;
    WpNat() nat;
    WpCount() counting;
    WpRatelimit() ratelimit;
    WpSff() sff;

    apply {
        fw.apply(hdr, meta WP_ARCH_ARGS);
        if (meta.drop == 0) {  /* fw_deny */
            nat.apply(hdr, meta WP_ARCH_ARGS);
            counting.apply(hdr, meta);
            ratelimit.apply(hdr, meta WP_ARCH_ARGS);
            if (meta.meter_color == 0) {  /* not over the rate (wp_ratelimit dropped it) */
                sff.apply(hdr, meta WP_ARCH_ARGS);
            }
        }
    }
}

#endif /* WPHW_WP_CHAIN_P4 */
