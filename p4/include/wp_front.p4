/* wphw — first half of the ingress pipeline (docs/dataplane.md steps 2-3):
 * proxy return for VLAN-tagged packets, then classification of IPv4 packets without NSH.
 * Packets that are neither NSH nor IPv4 are dropped here.
 */
#ifndef WPHW_WP_FRONT_P4
#define WPHW_WP_FRONT_P4

#include "headers.p4"
#include "wp_proxy_return.p4"
#include "wp_classify.p4"

control WpFront(inout headers_t hdr, inout wp_meta_t meta) {
    WpProxyReturn() proxy_return;
    WpClassify() classify;

    apply {
        proxy_return.apply(hdr, meta);
        if (!hdr.nsh.isValid()) {
            if (hdr.ipv4.isValid()) {
                classify.apply(hdr, meta);
            } else {
                meta.drop = 1;
            }
        }
    }
}

#endif /* WPHW_WP_FRONT_P4 */
