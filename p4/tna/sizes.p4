/* wphw — table sizes of the TNA program, in one place (like fabric-tna's size.p4).
 *
 * What a deployment would want (issue #16): wp_classify >= 4k ternary, wp_sff >= 64k exact,
 * ipv4_lpm >= 64k, in-switch services >= 4k each. The values below are what the Tofino back end
 * placed in at most 12 stages (docs/p4.md "Tofino"); p4/build/tna/resources.json has the layout.
 */
#ifndef WPHW_TNA_SIZES_P4
#define WPHW_TNA_SIZES_P4

#define WP_SIZE_IPV4_LPM 65536
#define WP_SIZE_CLASSIFY 4096
#define WP_SIZE_SFF      65536
#define WP_SIZE_COUNT    4096
#define WP_SIZE_SMALL    4096
#define WP_SIZE_LB       1024

#endif /* WPHW_TNA_SIZES_P4 */
