/* wphw — wp_fw: in-switch firewall service (ACL) for one service path hop. Like every chain
 * table it matches the SPI and the SI the packet entered this pass with; no action changes the
 * SI (wp_sff sets the SI the packet leaves with). */
#ifndef WPHW_WP_FW_P4
#define WPHW_WP_FW_P4

#include "headers.p4"
#include "names.p4"

/* annotations choosing how the target implements the table (TNA: @entries_with_ranges, how
 * many entries may need a range expanded over several TCAM lines; tna/sizes.p4) */
#ifndef WP_FW_IMPL
#define WP_FW_IMPL
#endif

control WpFw(inout headers_t hdr, inout wp_meta_t meta WP_ARCH_PARAMS) {
    WP_NAME(fw_permit)
    action fw_permit() {
        /* on to the next service of the pass; the hit is what counts (no entry: NoAction) */
    }

    WP_NAME(fw_deny)
    action fw_deny() {
        meta.drop = 1;
        WP_DROP
    }

    WP_NAME(wp_fw) WP_FW_IMPL
    table wp_fw {
        key = {
            WP_SPI            : exact   @name("spi");
            WP_SI             : exact   @name("si");
            hdr.ipv4.src_addr : ternary @name("ipv4_src");
            hdr.ipv4.dst_addr : ternary @name("ipv4_dst");
            hdr.ipv4.protocol : ternary @name("ip_proto");
            meta.l4_src_port  : range   @name("l4_src_port");
            meta.l4_dst_port  : range   @name("l4_dst_port");
        }
        actions = {
            fw_permit;
            fw_deny;
            @defaultonly NoAction;
        }
        default_action = NoAction();
        size = WP_SIZE_FW;
    }

    apply {
        wp_fw.apply();
    }
}

#endif /* WPHW_WP_FW_P4 */
