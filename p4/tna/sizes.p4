/* wphw — table sizes of the TNA program, in one place (like fabric-tna's size.p4).
 *
 * What a deployment would want (issue #16): wp_classify >= 4k ternary, wp_sff >= 64k exact,
 * ipv4_lpm >= 64k, in-switch services >= 4k each. All of them fit Tofino 1's 12 MAU stages
 * (measured with bench/tna_sizes.py; docs/p4.md "Tofino"). The ingress is one chain of dependent
 * tables -- proxy return -> classify -> wp_lb -> fw -> {nat, count, ratelimit} -> sff ->
 * ipv4_lpm -- and a table whose memory needs more than one stage adds stages to the chain:
 *
 *  - wp_classify and wp_fw match two L4 port ranges. A range entry takes one TCAM line per
 *    sub-range its nibbles split into, up to 7 for a 16-bit range (1024-65535: 2); one port, or
 *    every port (the plan leaves the field out), takes one line. bf-p4c reserves lines for
 *    @entries_with_ranges(N) entries at 7 lines, the rest at one; without the annotation it
 *    assumes a quarter of the entries (4k: 1,024 x 7 + 3,072 = 10,240 lines, 4 stages each).
 *    WP_RANGES_* = 256 keeps each table in 2 stages: 4,096 entries when at most 256 of them
 *    carry a true port range (as lines: 5,632 of them). 384 needs 3 stages each (14 in all).
 *  - ipv4_lpm 64k as an algorithmic LPM (@alpm: TCAM partitions over SRAM), 3 stages;
 *  - wp_sff 64k exact, 2 stages; nat, count and ratelimit share one.
 * p4/build/tna/resources.json has the layout bf-p4c chose.
 */
#ifndef WPHW_TNA_SIZES_P4
#define WPHW_TNA_SIZES_P4

#define WP_SIZE_IPV4_LPM     65536
#define WP_LPM_IMPL          @alpm(1)
#define WP_SIZE_CLASSIFY     4096
#define WP_RANGES_CLASSIFY   256
#define WP_CLASSIFY_IMPL     @entries_with_ranges(WP_RANGES_CLASSIFY)
#define WP_SIZE_SFF          65536
#define WP_SIZE_COUNT        4096
#define WP_SIZE_FW           4096
#define WP_RANGES_FW         256
#define WP_FW_IMPL           @entries_with_ranges(WP_RANGES_FW)
#define WP_SIZE_NAT          4096
#define WP_SIZE_RATELIMIT    4096
#define WP_SIZE_PROXY_RETURN 4096
#define WP_SIZE_LB           1024

#endif /* WPHW_TNA_SIZES_P4 */
