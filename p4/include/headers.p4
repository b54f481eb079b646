/* wphw — headers and metadata shared by both architectures. */
#ifndef WPHW_HEADERS_P4
#define WPHW_HEADERS_P4

#include "constants.p4"

header ethernet_t {
    bit<48> dst_addr;
    bit<48> src_addr;
    bit<16> ether_type;
}

/* 802.1Q: only on the proxy leg to/from an NSH-unaware (legacy) PE */
header vlan_t {
    bit<3>  pcp;
    bit<1>  dei;
    bit<12> vid;
    bit<16> ether_type;
}

/* NSH base header (RFC 8300 §2.2) + service path header (§2.3), MD type 2 without TLVs.
 *
 * The base header is one 32-bit field: ver(2) oam(1) u1(1) ttl(6) len(6) u2(4) md_type(4)
 * next_proto(8), most significant first (constants.p4 NSH_BASE_*). Pushing NSH writes it in one
 * assignment, the TTL decrement is a subtraction of NSH_BASE_TTL_ONE (the TTL is never 0 there:
 * the parser drops TTL 0), and the parser checks ver/len/md_type/next_proto with one masked
 * select, which also suits Tofino's PHV (the 6-bit TTL straddles a byte boundary). */
header nsh_t {
    bit<32> base;
    bit<24> spi;
    bit<8>  si;
}

header ipv4_t {
    bit<4>  version;
    bit<4>  ihl;
    bit<8>  diffserv;
    bit<16> total_len;
    bit<16> identification;
    bit<3>  flags;
    bit<13> frag_offset;
    bit<8>  ttl;
    bit<8>  protocol;
    bit<16> hdr_checksum;
    bit<32> src_addr;
    bit<32> dst_addr;
}

header tcp_t {
    bit<16> src_port;
    bit<16> dst_port;
    bit<32> seq_no;
    bit<32> ack_no;
    bit<4>  data_offset;
    bit<4>  res;
    bit<8>  flags;
    bit<16> window;
    bit<16> checksum;
    bit<16> urgent_ptr;
}

header udp_t {
    bit<16> src_port;
    bit<16> dst_port;
    bit<16> length;
    bit<16> checksum;
}

/* Order = wire order: the deparsers emit this struct as a whole. */
struct headers_t {
    ethernet_t ethernet;
    vlan_t     vlan;
    nsh_t      nsh;
    ipv4_t     ipv4;
    tcp_t      tcp;
    udp_t      udp;
}

/* Architecture-neutral metadata: the shared controls read and write only this (and forward or
 * drop through the WP_FORWARD/WP_DROP/WP_RECIRCULATE macros of the top file); the top file of
 * each architecture starts it at 0. */
struct wp_meta_t {
    port_t  ingress_port; /* TNA: copy of ig_intr_md.ingress_port (v1model reads standard_metadata) */
    bit<1>  drop;         /* dropped by a service: skip the rest of the chain */
    bit<1>  route;        /* continue at ipv4_lpm (classification `route`, sff_end_route) */
    bit<1>  recirc;       /* sff_recirculate: run the pipeline again */
    bit<24> lb_offset;    /* per-flow path offset, hash(5-tuple) mod paths (start_chain) */
    bit<8>  lb_paths;     /* TNA: start_chain's paths, for the offset computed after it */
    bit<16> l4_src_port;  /* 0 unless TCP/UDP was parsed */
    bit<16> l4_dst_port;
    bit<8>  meter_color;
    bit<32> nat_old;      /* address a NAT action replaced, and its replacement */
    bit<32> nat_new;
    /* TNA only (v1model leaves them 0): the load-balancing hash and the checksum residuals the
     * parser leaves for the deparser's Checksum extern, with the flags asking for an update */
    bit<16> lb_hash;      /* crc16(5-tuple), key of wp_lb */
    bit<24> spi;          /* the SPI and SI the chain tables match (WP_SPI, WP_SI) ... */
    bit<8>  si;           /* ... copied into NSH at the end of the ingress */
    bit<16> l4_csum_residual;
    bit<1>  ipv4_csum_update;
    bit<1>  tcp_csum_update;
    bit<1>  udp_csum_update;
}

/* The SPI and SI the service chain tables match and how actions set them. v1model: the NSH
 * fields themselves. TNA: metadata copies (meta.spi, meta.si), because Tofino adds to a field
 * (the load-balancing offset) only in a container of its own while the 24-bit SPI and the 8-bit
 * SI share one 32-bit container in the header; the ingress copies them back into NSH at its end.
 * No service action changes the SI: every chain table of a pass matches the SI the packet
 * entered the pass with, and wp_sff writes the SI it leaves with (docs/dataplane.md). */
#ifndef WP_SPI
#define WP_SPI hdr.nsh.spi
#endif
/* mark a packet for ipv4_lpm (classify's route, wp_sff's sff_end_route); a top file may add to
 * it (TNA: the IPv4 checksum flag, so the deparser's checksum condition need not wait for
 * ipv4_lpm's TTL decrement) */
#ifndef WP_ROUTE
#define WP_ROUTE meta.route = 1;
#endif
#ifndef WP_SET_SPI
#define WP_SET_SPI(v) hdr.nsh.spi = v;
#endif
#ifndef WP_SI
#define WP_SI hdr.nsh.si
#endif
#ifndef WP_SET_SI
#define WP_SET_SI(v) hdr.nsh.si = v;
#endif

#endif /* WPHW_HEADERS_P4 */
