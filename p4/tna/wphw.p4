/* wphw — waypoint steering data plane, Tofino (TNA) top file.
 *
 * Same shared parser and controls as the v1model program, same table/action/parameter names
 * (P4Info prefix pipe.Ingress). Checked with p4test (front and mid end); see docs/p4.md.
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
#define WP_SET_ETHERTYPE(t) \
    hdr.vlan.ether_type = t; \
    hdr.ethernet.ether_type = hdr.vlan.isValid() ? ETHERTYPE_VLAN : t;
/* the per-flow offset is added by the ingress after wp_classify (Hash extern) */
#define WP_CHAIN_SPI(spi, paths) hdr.nsh.spi = spi; meta.lb_paths = paths;
#define WP_DIRECT_COUNTER(n) WP_NAME(n) DirectCounter<bit<64>>(CounterType_t.PACKETS_AND_BYTES) n;
#define WP_COUNT(n) n.count();
#define WP_DIRECT_METER(n) WP_NAME(n) DirectMeter(MeterType_t.BYTES) n;
#define WP_METER_READ(n, dst) dst = n.execute();

/* Tofino 1, pipe 0 recirculation port */
const PortId_t WP_RECIRC_PORT = 68;

#include "../include/names.p4"
#include "../include/constants.p4"
#include "../include/headers.p4"
#include "../include/parser.p4"
#include "../include/wp_proxy_return.p4"
#include "../include/wp_classify.p4"
#include "../include/wp_chain.p4"
#include "../include/ipv4_lpm.p4"

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
                classify.apply(hdr, meta, ig_tm_md, ig_dprsr_md);
                if (hdr.nsh.isValid()) {  /* start_chain */
                    /* per-flow load balancing: offset = (crc16(5-tuple) * paths) >> 16, in
                     * [0, paths). P4 has no run-time modulo (v1model's hash extern does it
                     * inside), so TNA uses multiply-shift: same per-flow stickiness and
                     * spread, another mapping. */
                    bit<16> h = flow_hash.get({ hdr.ipv4.src_addr, hdr.ipv4.dst_addr,
                                                hdr.ipv4.protocol, meta.l4_src_port,
                                                meta.l4_dst_port });
                    bit<32> paths = (bit<32>)meta.lb_paths;
                    if (paths == 0) {
                        paths = 1;
                    }
                    bit<32> scaled = (bit<32>)h * paths;
                    meta.lb_offset = (bit<24>)(scaled >> 16);
                    hdr.nsh.spi = hdr.nsh.spi + meta.lb_offset;
                }
            }
            if (hdr.nsh.isValid()) {
                chain.apply(hdr, meta, ig_tm_md, ig_dprsr_md);
            }
            if (meta.route == 1 && hdr.ipv4.ttl > 1) {
                routing.apply(hdr, meta, ig_tm_md, ig_dprsr_md);
            } else if (meta.route == 1) {
                ig_dprsr_md.drop_ctl = 1;  /* IPv4 TTL <= 1 */
            }
        }
        /* no ucast_egress_port set (nothing forwarded the packet): the traffic manager drops it */
    }
}

control IngressDeparser(packet_out pkt, inout headers_t hdr, in wp_meta_t meta,
                        in ingress_intrinsic_metadata_for_deparser_t ig_dprsr_md) {
    apply {
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
