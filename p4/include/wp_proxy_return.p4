/* wphw — wp_proxy_return: SFC proxy, return leg from an NSH-unaware (legacy) PE.
 *
 * The PE sent back the inner IPv4 packet tagged with the VLAN that sff_proxy pushed; the
 * (ingress_port, vlan_id) pair says which service path hop it was. Hit: pop the VLAN tag, push NSH
 * with the entry's SPI and SI (the plan already decremented SI), TTL 63. Miss: the packet stays
 * as it is and is treated like an untagged one (classification/routing; the tag is kept).
 * Applied by the top file to tagged IPv4 packets without NSH.
 */
#ifndef WPHW_WP_PROXY_RETURN_P4
#define WPHW_WP_PROXY_RETURN_P4

#include "headers.p4"
#include "names.p4"

control WpProxyReturn(inout headers_t hdr, inout wp_meta_t meta WP_ARCH_PARAMS) {
    WP_NAME(proxy_restore)
    action proxy_restore(bit<24> spi, bit<8> si) {
        hdr.vlan.setInvalid();
        hdr.ethernet.ether_type = ETHERTYPE_NSH;
        hdr.nsh.setValid();
        hdr.nsh.base = NSH_BASE_INIT;
        WP_SET_SPI(spi)
        WP_SET_SI(si)
    }

    WP_NAME(wp_proxy_return)
    table wp_proxy_return {
        key = {
            WP_INGRESS_PORT   : exact @name("ingress_port");
            hdr.vlan.vid      : exact @name("vlan_id");
        }
        actions = {
            proxy_restore;
            @defaultonly NoAction;
        }
        default_action = NoAction();
        size = WP_SIZE_PROXY_RETURN;
    }

    apply {
        wp_proxy_return.apply();
    }
}

#endif /* WPHW_WP_PROXY_RETURN_P4 */
