/* wphw — incremental Internet checksum update (RFC 1624, eqn. 3: HC' = ~(~HC + ~m + m')).
 *
 * Used for the IPv4 header checksum (TTL decrement, NAT) and the TCP/UDP checksum (NAT changes
 * the pseudo header). Incremental rather than recomputed, so it stays right for IPv4 options,
 * TCP options and Ethernet padding, and is the same code on both architectures.
 */
#ifndef WPHW_CHECKSUM_P4
#define WPHW_CHECKSUM_P4

bit<16> wp_csum_fold(in bit<32> sum) {
    bit<32> s = (sum & 0xffff) + (sum >> 16);
    s = (s & 0xffff) + (s >> 16);
    return ~s[15:0];
}

/* checksum after one 16-bit word changed from old_w to new_w */
bit<16> wp_csum_replace16(in bit<16> csum, in bit<16> old_w, in bit<16> new_w) {
    return wp_csum_fold((bit<32>)(~csum) + (bit<32>)(~old_w) + (bit<32>)new_w);
}

/* checksum after one 32-bit value (two words) changed from old_v to new_v */
bit<16> wp_csum_replace32(in bit<16> csum, in bit<32> old_v, in bit<32> new_v) {
    return wp_csum_fold((bit<32>)(~csum)
                        + (bit<32>)(~old_v[31:16]) + (bit<32>)(~old_v[15:0])
                        + (bit<32>)new_v[31:16] + (bit<32>)new_v[15:0]);
}

#endif /* WPHW_CHECKSUM_P4 */
