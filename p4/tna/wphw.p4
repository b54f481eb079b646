/* wphw — waypoint steering data plane, Tofino (TNA) top file.
 *
 * Same shared parser and controls as the v1model program, same table/action/parameter names
 * (P4Info prefix pipe.Ingress), compiled with p4c's open Tofino back end (make -C p4 tna;
 * docs/p4.md "Tofino"). What Tofino does differently is confined to this file:
 *  - checksums: the parser leaves residuals (IPv4 header: the changeable words and the old
 *    checksum summed; TCP/UDP: the switch.p4 idiom), the ingress deparser's Checksum extern
 *    recomputes a checksum when a flag asks (TTL decrement, NAT) -- incremental, so IPv4 options
 *    and payloads are covered as on v1model;
 *  - load balancing: start_chain writes the first SPI and meta.lb_paths, the ingress hashes the
 *    5-tuple, wp_lb (constant entries) adds (hash * paths) >> 16;
 *  - malformed packets: parser `verify` does not exist on Tofino, the parser marks meta.drop.
 */
#include <core.p4>
#include <tna.p4>

/* P4Info names: pipe.Ingress.<short name> */
#define WP_PREFIX .pipe.Ingress

/* TNA flavour of the architecture hooks used by the shared controls */
#define WP_ARCH_PARAMS , inout ingress_intrinsic_metadata_for_tm_t ig_tm_md, \
                       inout ingress_intrinsic_metadata_for_deparser_t ig_dprsr_md
#define WP_ARCH_ARGS , ig_tm_md, ig_dprsr_md
#define WP_FORWARD(port) ig_tm_md.ucast_egress_port = port;
#define WP_DROP ig_dprsr_md.drop_ctl = 1;
#define WP_RECIRCULATE meta.recirc = 1; ig_tm_md.ucast_egress_port = WP_RECIRC_PORT;
#define WP_INGRESS_PORT meta.ingress_port
/* Tofino ignores parser `verify`: malformed packets are marked and dropped by the ingress */
#define WP_PARSER_REJECT(err) meta.drop = 1;
/* Tofino actions cannot branch on header validity: write both EtherTypes, and the end of the
 * ingress puts 0x8100 back in front of a valid VLAN tag (see the apply block) */
#define WP_SET_ETHERTYPE(t) \
    hdr.vlan.ether_type = t; \
    hdr.ethernet.ether_type = t;
/* The chain tables match meta.spi and meta.si (Tofino adds to a field only in a container of its
 * own; in the header the 24-bit SPI and the SI share one); the end of the ingress copies them
 * into NSH.
 * The per-flow offset is added by wp_lb after wp_classify. */
#define WP_SPI meta.spi
#define WP_SET_SPI(v) meta.spi = v;
#define WP_SI meta.si
#define WP_SET_SI(v) meta.si = v;
#define WP_PARSED_NSH meta.spi = hdr.nsh.spi; meta.si = hdr.nsh.si;
#define WP_CHAIN_SPI(spi, paths) meta.spi = spi; meta.lb_paths = paths;
#define WP_DIRECT_COUNTER(n) WP_NAME(n) DirectCounter<bit<64>>(CounterType_t.PACKETS_AND_BYTES) n;
#define WP_COUNT(n) n.count();
#define WP_DIRECT_METER(n) WP_NAME(n) DirectMeter(MeterType_t.BYTES) n;
#define WP_METER_READ(n, dst) dst = n.execute();

/* Checksums. TCP/UDP: residuals in the parser (switch.p4's idiom), the deparser recomputes from
 * the residual and the fields a service may change. IPv4 header: recomputed by the deparser
 * over the 20-byte header (the parser's residual mode cannot serve a header-only checksum that
 * is followed by more headers); a packet with IPv4 options (IHL > 5) whose header changes is
 * dropped (see the apply block and docs/p4.md "Tofino"). */
#define WP_PARSER_DECLS Checksum() l4_csum;
#define WP_PARSED_IPV4 \
    l4_csum.subtract({ hdr.ipv4.src_addr, hdr.ipv4.dst_addr });
#define WP_PARSED_TCP \
    l4_csum.subtract_all_and_deposit(meta.l4_csum_residual); \
    l4_csum.subtract({ hdr.tcp.checksum }); \
    l4_csum.subtract({ hdr.tcp.src_port, hdr.tcp.dst_port });
#define WP_PARSED_UDP \
    l4_csum.subtract_all_and_deposit(meta.l4_csum_residual); \
    l4_csum.subtract({ hdr.udp.checksum }); \
    l4_csum.subtract({ hdr.udp.src_port, hdr.udp.dst_port });
/* ... flags where fields change, the deparser recomputes. A routed packet's header changes
 * (TTL - 1): the flag is set where the packet is marked for routing, not in ipv4_lpm's action,
 * so the checksum condition shares ipv4_lpm's stage (a marked packet ipv4_lpm does not forward
 * is dropped, whatever the flag) */
#define WP_ROUTE meta.route = 1; meta.ipv4_csum_update = 1;
#define WP_IPV4_TTL_DEC hdr.ipv4.ttl = hdr.ipv4.ttl - 1;
/* a UDP checksum of 0 ("none") stays 0 */
#define WP_NAT_CHECKSUMS \
    meta.ipv4_csum_update = 1; \
    if (hdr.ipv4.ihl != 5) { \
        meta.drop = 1; \
        ig_dprsr_md.drop_ctl = 1; \
    } \
    if (hdr.tcp.isValid()) { \
        meta.tcp_csum_update = 1; \
    } else if (hdr.udp.isValid() && hdr.udp.checksum != 0) { \
        meta.udp_csum_update = 1; \
    }

/* over the rate: marked here, dropped at the end of the ingress (see the apply block) */
#define WP_RATELIMIT_DROP meta.drop = 1;

/* Pipe 0's recirculation port: 68 on Tofino 1 (bf-p4c's own recirculate() uses it; its PSA
 * include names it PSA_PORT_RECIRCULATE = 0x44), 6 on Tofino 2 (pipes at 128-port strides:
 * 6, 134, 262, 390). bf-p4c defines __TARGET_TOFINO__ as 1 or 2. */
#if __TARGET_TOFINO__ == 2
const PortId_t WP_RECIRC_PORT = 6;
#else
const PortId_t WP_RECIRC_PORT = 68;
#endif

#include "sizes.p4"
#include "../include/names.p4"
#include "../include/constants.p4"
#include "../include/headers.p4"
#include "../include/parser.p4"
#include "../include/wp_proxy_return.p4"
#include "../include/wp_classify.p4"
#include "../include/wp_chain.p4"
#include "../include/ipv4_lpm.p4"
#include "wp_lb.p4"

struct wp_egress_headers_t { }
struct wp_egress_meta_t { }

parser IngressParser(packet_in pkt, out headers_t hdr, out wp_meta_t meta,
                     out ingress_intrinsic_metadata_t ig_intr_md) {
    WpParser() wp_parser;

    state start {
        pkt.extract(ig_intr_md);
        pkt.advance(PORT_METADATA_SIZE);
        meta.ingress_port = ig_intr_md.ingress_port;
        meta.drop = 0;
        meta.route = 0;
        meta.recirc = 0;
        meta.lb_offset = 0;
        meta.lb_paths = 0;
        meta.l4_src_port = 0;
        meta.l4_dst_port = 0;
        meta.meter_color = 0;
        meta.nat_old = 0;
        meta.nat_new = 0;
        meta.lb_hash = 0;
        meta.spi = 0;
        meta.si = 0;
        meta.l4_csum_residual = 0;
        meta.ipv4_csum_update = 0;
        meta.tcp_csum_update = 0;
        meta.udp_csum_update = 0;
        wp_parser.apply(pkt, hdr, meta);
        transition accept;
    }
}

control Ingress(inout headers_t hdr, inout wp_meta_t meta,
                in ingress_intrinsic_metadata_t ig_intr_md,
                in ingress_intrinsic_metadata_from_parser_t ig_prsr_md,
                inout ingress_intrinsic_metadata_for_deparser_t ig_dprsr_md,
                inout ingress_intrinsic_metadata_for_tm_t ig_tm_md) {
    WpProxyReturn() proxy_return;
    WpClassify() classify;
    WpChain() chain;
    WpIpv4Lpm() routing;
    WpLb() lb;
    Hash<bit<16>>(HashAlgorithm_t.CRC16) flow_hash;

    apply {
        if (ig_prsr_md.parser_err != 0 || meta.drop == 1) {
            meta.drop = 1;
            ig_dprsr_md.drop_ctl = 1;
        } else {
            if (hdr.vlan.isValid() && !hdr.nsh.isValid()) {
                proxy_return.apply(hdr, meta, ig_tm_md, ig_dprsr_md);
            }
            if (!hdr.nsh.isValid()) {
                /* per-flow load-balancing hash, used by wp_lb if classify starts a chain */
                meta.lb_hash = flow_hash.get({ hdr.ipv4.src_addr, hdr.ipv4.dst_addr,
                                               hdr.ipv4.protocol, meta.l4_src_port,
                                               meta.l4_dst_port });
                classify.apply(hdr, meta, ig_tm_md, ig_dprsr_md);
                if (hdr.nsh.isValid()) {  /* start_chain */
                    lb.apply(hdr, meta);
                }
            }
            if (hdr.nsh.isValid()) {
                chain.apply(hdr, meta, ig_tm_md, ig_dprsr_md);
            }
            if (meta.drop == 1) {  /* WP_RATELIMIT_DROP, fw_deny, NAT of IPv4 with options */
                ig_dprsr_md.drop_ctl = 1;
            }
            /* IPv4 options (IHL > 5): the deparser's checksum covers 20 bytes, so a packet
             * whose header would change is dropped here and in WP_NAT_CHECKSUMS */
            if (meta.route == 1 && hdr.ipv4.ttl > 1 && hdr.ipv4.ihl == 5) {
                routing.apply(hdr, meta, ig_tm_md, ig_dprsr_md);
            } else if (meta.route == 1) {
                ig_dprsr_md.drop_ctl = 1;  /* IPv4 TTL <= 1, or options */
            }
            if (hdr.vlan.isValid()) {  /* WP_SET_ETHERTYPE wrote the inner type to both */
                hdr.ethernet.ether_type = ETHERTYPE_VLAN;
            }
            if (hdr.nsh.isValid()) {
                hdr.nsh.spi = meta.spi;
                hdr.nsh.si = meta.si;
            }
        }
        /* no ucast_egress_port set (nothing forwarded the packet): the traffic manager drops it */
    }
}

control IngressDeparser(packet_out pkt, inout headers_t hdr, in wp_meta_t meta,
                        in ingress_intrinsic_metadata_for_deparser_t ig_dprsr_md) {
    Checksum() ipv4_csum;
    Checksum() tcp_csum;
    Checksum() udp_csum;

    apply {
        if (meta.ipv4_csum_update == 1) {
            hdr.ipv4.hdr_checksum = ipv4_csum.update({
                hdr.ipv4.version, hdr.ipv4.ihl, hdr.ipv4.diffserv, hdr.ipv4.total_len,
                hdr.ipv4.identification, hdr.ipv4.flags, hdr.ipv4.frag_offset,
                hdr.ipv4.ttl, hdr.ipv4.protocol, hdr.ipv4.src_addr, hdr.ipv4.dst_addr });
        }
        if (meta.tcp_csum_update == 1) {
            hdr.tcp.checksum = tcp_csum.update({ hdr.ipv4.src_addr, hdr.ipv4.dst_addr,
                                                 hdr.tcp.src_port, hdr.tcp.dst_port,
                                                 meta.l4_csum_residual });
        }
        if (meta.udp_csum_update == 1) {
            /* a computed 0 is sent as 0xffff (RFC 768) */
            hdr.udp.checksum = udp_csum.update({ hdr.ipv4.src_addr, hdr.ipv4.dst_addr,
                                                 hdr.udp.src_port, hdr.udp.dst_port,
                                                 meta.l4_csum_residual }, true);
        }
        pkt.emit(hdr);
    }
}

parser EgressParser(packet_in pkt, out wp_egress_headers_t hdr, out wp_egress_meta_t meta,
                    out egress_intrinsic_metadata_t eg_intr_md) {
    state start {
        pkt.extract(eg_intr_md);
        transition accept;
    }
}

control Egress(inout wp_egress_headers_t hdr, inout wp_egress_meta_t meta,
               in egress_intrinsic_metadata_t eg_intr_md,
               in egress_intrinsic_metadata_from_parser_t eg_prsr_md,
               inout egress_intrinsic_metadata_for_deparser_t eg_dprsr_md,
               inout egress_intrinsic_metadata_for_output_port_t eg_oport_md) {
    apply { }
}

control EgressDeparser(packet_out pkt, inout wp_egress_headers_t hdr, in wp_egress_meta_t meta,
                       in egress_intrinsic_metadata_for_deparser_t eg_dprsr_md) {
    apply {
        pkt.emit(hdr);
    }
}

Pipeline(IngressParser(), Ingress(), IngressDeparser(), EgressParser(), Egress(),
         EgressDeparser()) pipe;

Switch(pipe) main;
