/* wphw — table sizes of the TNA program, in one place (like fabric-tna's size.p4).
 *
 * What a deployment would want (issue #16): wp_classify >= 4k ternary, wp_sff >= 64k exact,
 * ipv4_lpm >= 64k, in-switch services >= 4k each. What fits Tofino 1's 12 MAU stages: the
 * ingress is one chain of dependent tables (proxy return -> classify -> wp_lb -> fw -> nat ->
 * count -> ratelimit -> sff -> ipv4_lpm -> checksum conditions: each service matches the SI the
 * one before wrote), 10 stages at 1k, so two tables may take a second stage's memory: wp_sff at
 * 64k and wp_classify at 2k. Any other table grown past one stage adds a stage (measured,
 * docs/p4.md "Tofino"): ipv4_lpm 16k, wp_fw/wp_nat 2k.
 * p4/build/tna/resources.json has the layout bf-p4c chose.
 */
#ifndef WPHW_TNA_SIZES_P4
#define WPHW_TNA_SIZES_P4

#define WP_SIZE_IPV4_LPM     8192
#define WP_SIZE_CLASSIFY     2048
#define WP_SIZE_SFF          65536
#define WP_SIZE_COUNT        4096
#define WP_SIZE_FW           1024
#define WP_SIZE_NAT          1024
#define WP_SIZE_RATELIMIT    4096
#define WP_SIZE_PROXY_RETURN 4096
#define WP_SIZE_LB           1024

#endif /* WPHW_TNA_SIZES_P4 */
