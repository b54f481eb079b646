/* wphw — wp_nat: in-switch static NAT service for one service path hop.
 *
 * nat_snat / nat_dnat rewrite the IPv4 source / destination address; the IPv4 header checksum
 * and (when the L4 header was parsed) the TCP or UDP checksum are updated incrementally. A UDP
 * checksum of 0 ("none") stays 0; a computed 0 is sent as 0xffff (RFC 768).
 */
#ifndef WPHW_WP_NAT_P4
#define WPHW_WP_NAT_P4

#include "headers.p4"
#include "names.p4"
#include "checksum.p4"

/* The checksum updates after an address rewrite (meta.nat_old -> meta.nat_new); a top file may
 * define its own (TNA: the deparser's Checksum extern recomputes them from parser residuals). */
#ifndef WP_NAT_CHECKSUMS
#define WP_NAT_CHECKSUMS \
    hdr.ipv4.hdr_checksum = wp_csum_replace32(hdr.ipv4.hdr_checksum, meta.nat_old, meta.nat_new); \
    if (hdr.tcp.isValid()) { \
        hdr.tcp.checksum = wp_csum_replace32(hdr.tcp.checksum, meta.nat_old, meta.nat_new); \
    } else if (hdr.udp.isValid() && hdr.udp.checksum != 0) { \
        bit<16> c = wp_csum_replace32(hdr.udp.checksum, meta.nat_old, meta.nat_new); \
        if (c == 0) { \
            c = 0xffff; \
        } \
        hdr.udp.checksum = c; \
    }
#endif

control WpNat(inout headers_t hdr, inout wp_meta_t meta WP_ARCH_PARAMS) {
    WP_NAME(nat_snat)
    action nat_snat(bit<32> addr) {
        meta.nat_old = hdr.ipv4.src_addr;
        meta.nat_new = addr;
        hdr.ipv4.src_addr = addr;
    }

    WP_NAME(nat_dnat)
    action nat_dnat(bit<32> addr) {
        meta.nat_old = hdr.ipv4.dst_addr;
        meta.nat_new = addr;
        hdr.ipv4.dst_addr = addr;
    }

    WP_NAME(nat_pass)
    action nat_pass() {
    }

    WP_NAME(wp_nat)
    table wp_nat {
        key = {
            WP_SPI            : exact   @name("spi");
            WP_SI             : exact   @name("si");
            hdr.ipv4.src_addr : ternary @name("ipv4_src");
            hdr.ipv4.dst_addr : ternary @name("ipv4_dst");
        }
        actions = {
            nat_snat;
            nat_dnat;
            nat_pass;
            @defaultonly NoAction;
        }
        default_action = NoAction();
        size = WP_SIZE_NAT;
    }

    apply {
        switch (wp_nat.apply().action_run) {
            nat_snat:
            nat_dnat: {
                WP_NAT_CHECKSUMS
            }
        }
    }
}

#endif /* WPHW_WP_NAT_P4 */
