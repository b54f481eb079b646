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

/* checksum after one 32-bit value (two words) changed from old_v to new_v */
bit<16> wp_csum_replace32(in bit<16> csum, in bit<32> old_v, in bit<32> new_v) {
    return wp_csum_fold((bit<32>)(~csum)
                        + (bit<32>)(~old_v[31:16]) + (bit<32>)(~old_v[15:0])
                        + (bit<32>)new_v[31:16] + (bit<32>)new_v[15:0]);
}

/* checksum after the IPv4 TTL (high byte of the TTL/protocol word) went down by one:
 * ~m + m' = 0xfeff for any word m with TTL >= 1, so HC' = ~(~HC + 0xfeff) with one end-around
 * carry (the sum is at most 0x1fefe, folding it cannot carry again). The general
 * form would be wp_csum_fold(~csum + ~(ttl ++ proto) + ((ttl - 1) ++ proto)). */
bit<16> wp_csum_ttl_dec(in bit<16> csum) {
    bit<17> s = (bit<17>)(~csum) + 17w0xfeff;
    return ~(s[15:0] + (bit<16>)s[16:16]);
}

/* IPv4 TTL - 1 with its checksum (ipv4_forward); a top file may define its own */
#ifndef WP_IPV4_TTL_DEC
#define WP_IPV4_TTL_DEC \
    hdr.ipv4.hdr_checksum = wp_csum_ttl_dec(hdr.ipv4.hdr_checksum); \
    hdr.ipv4.ttl = hdr.ipv4.ttl - 1;
#endif

#endif /* WPHW_CHECKSUM_P4 */
