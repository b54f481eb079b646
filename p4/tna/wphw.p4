/* wphw — waypoint steering data plane, Tofino (TNA) top file.
 *
 * Same shared parser and controls as the v1model program, same table/action/parameter names
 * (P4Info prefix pipe.Ingress). Checked with p4test (front and mid end); see docs/p4.md.
 */
#include <core.p4>
#include <tna.p4>

/* P4Info names: pipe.Ingress.<short name> */
#define WP_PREFIX .pipe.Ingress

/* TNA flavour of the direct externs used by the shared controls */
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
#include "../include/wp_front.p4"
#include "../include/wp_chain.p4"

struct wp_egress_headers_t { }
struct wp_egress_meta_t { }

parser IngressParser(packet_in pkt, out headers_t hdr, out wp_meta_t meta,
                     out ingress_intrinsic_metadata_t ig_intr_md) {
    WpParser() wp_parser;

    state start {
        pkt.extract(ig_intr_md);
        pkt.advance(PORT_METADATA_SIZE);
        meta.ingress_port = ig_intr_md.ingress_port;
        meta.egress_port = 0;
        meta.fwd = 0;
        meta.drop = 0;
        meta.route = 0;
        meta.recirc = 0;
        meta.nsh_pop = 0;
        meta.chain_start = 0;
        meta.chain_spi = 0;
        meta.chain_paths = 0;
        meta.lb_offset = 0;
        meta.l4_src_port = 0;
        meta.l4_dst_port = 0;
        meta.meter_color = 0;
        meta.rl_hit = 0;
        meta.nat_done = 0;
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
    WpFront() front;
    WpChain() chain;
    Hash<bit<16>>(HashAlgorithm_t.CRC16) flow_hash;

    apply {
        if (ig_prsr_md.parser_err != 0) {
            meta.drop = 1;
        } else {
            front.apply(hdr, meta);
            if (meta.drop == 0 && meta.chain_start == 1) {
                /* per-flow load balancing: offset = (crc16(5-tuple) * paths) >> 16, in [0, paths).
                 * P4 has no run-time modulo (v1model's hash extern does it inside), so TNA uses
                 * multiply-shift: same per-flow stickiness and spread, another mapping. */
                bit<16> h = flow_hash.get({ hdr.ipv4.src_addr, hdr.ipv4.dst_addr,
                                            hdr.ipv4.protocol, meta.l4_src_port,
                                            meta.l4_dst_port });
                bit<32> paths = (bit<32>)meta.chain_paths;
                if (paths == 0) {
                    paths = 1;
                }
                bit<32> scaled = (bit<32>)h * paths;
                meta.lb_offset = (bit<24>)(scaled >> 16);
            }
            chain.apply(hdr, meta);
        }

        if (meta.drop == 1) {
            ig_dprsr_md.drop_ctl = 1;
        } else if (meta.recirc == 1) {
            ig_tm_md.ucast_egress_port = WP_RECIRC_PORT;
        } else if (meta.fwd == 1) {
            ig_tm_md.ucast_egress_port = meta.egress_port;
        } else {
            ig_dprsr_md.drop_ctl = 1;
        }
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
