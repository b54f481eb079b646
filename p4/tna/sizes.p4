/* wphw — table sizes of the TNA program, in one place (like fabric-tna's size.p4).
 *
 * What a deployment would want (issue #16): wp_classify >= 4k ternary, wp_sff >= 64k exact,
 * ipv4_lpm >= 64k, in-switch services >= 4k each. What fits Tofino 1's 12 MAU stages, measured
 * with bench/tna_sizes.py (docs/p4.md "Tofino"): the ingress is one chain of dependent tables --
 * proxy return -> classify -> wp_lb -> fw -> {nat, count, ratelimit} -> sff -> ipv4_lpm (the
 * services of a pass match the SPI/SI it entered with, so nat, count and ratelimit share a
 * stage; fw comes first because a denied packet meets none of them) -- 9 stages at 1k, and a
 * table whose TCAM needs more than one stage adds stages to the chain: wp_classify and wp_fw
 * hold about 1k entries per stage (wide keys with two ranges), ipv4_lpm about 8k, wp_sff 32k.
 * These sizes use all 12: wp_classify 4k (4 stages), wp_sff 64k (2), ipv4_lpm 16k (2);
 * wp_nat, wp_count, wp_ratelimit and wp_proxy_return 4k in one stage each; wp_fw 1k.
 * p4/build/tna/resources.json has the layout bf-p4c chose.
 */
#ifndef WPHW_TNA_SIZES_P4
#define WPHW_TNA_SIZES_P4

#define WP_SIZE_IPV4_LPM     16384
#define WP_SIZE_CLASSIFY     4096
#define WP_SIZE_SFF          65536
#define WP_SIZE_COUNT        4096
#define WP_SIZE_FW           1024
#define WP_SIZE_NAT          4096
#define WP_SIZE_RATELIMIT    4096
#define WP_SIZE_PROXY_RETURN 4096
#define WP_SIZE_LB           1024

#endif /* WPHW_TNA_SIZES_P4 */
