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

/* NSH base header (RFC 8300 §2.2) + service path header (§2.3), MD type 2 without TLVs */
header nsh_t {
    bit<2>  ver;
    bit<1>  oam;
    bit<1>  u1;
    bit<6>  ttl;
    bit<6>  len;
    bit<4>  u2;
    bit<4>  md_type;
    bit<8>  next_proto;
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

/* Architecture-neutral metadata: the shared controls read and write only this; the top file of
 * each architecture maps it to and from its intrinsic metadata. */
struct wp_meta_t {
    port_t  ingress_port;
    port_t  egress_port;
    bit<1>  fwd;          /* egress_port chosen */
    bit<1>  drop;
    bit<1>  route;        /* continue at ipv4_lpm */
    bit<1>  recirc;       /* sff_recirculate */
    bit<1>  nsh_pop;      /* chain done: pop NSH */
    bit<1>  chain_start;  /* start_chain hit: push NSH after the flow hash */
    bit<24> chain_spi;
    bit<8>  chain_paths;
    bit<24> lb_offset;    /* hash(5-tuple) mod paths, computed by the top file */
    bit<16> l4_src_port;  /* 0 unless TCP/UDP was parsed */
    bit<16> l4_dst_port;
    bit<8>  meter_color;
    bit<1>  rl_hit;
    bit<1>  nat_done;
    bit<32> nat_old;
    bit<32> nat_new;
}

#endif /* WPHW_HEADERS_P4 */
