/* wphw — waypoint steering data plane, v1model top file (BMv2 simple_switch_grpc).
 *
 * Only wires the shared parser and controls of ../include together and maps the
 * architecture-neutral metadata (wp_meta_t) to standard_metadata. See docs/p4.md.
 */
#include <core.p4>
#include <v1model.p4>

/* P4Info names: MyIngress.<short name> */
#define WP_PREFIX .MyIngress

/* v1model flavour of the direct externs used by the shared controls */
#define WP_DIRECT_COUNTER(n) WP_NAME(n) direct_counter(CounterType.packets_and_bytes) n;
#define WP_COUNT(n)
#define WP_DIRECT_METER(n) WP_NAME(n) direct_meter<bit<8>>(MeterType.bytes) n;
#define WP_METER_READ(n, dst) n.read(dst);

/* BMv2 allocates table memory per entry: let the growing tables hold a large fabric's share
 * (a 100k-route FIB, SFF and counter entries for every path and rule). */
#define WP_SIZE_IPV4_LPM 131072
#define WP_SIZE_CLASSIFY 65536
#define WP_SIZE_SFF      65536
#define WP_SIZE_COUNT    65536

#include "../include/names.p4"
#include "../include/constants.p4"
#include "../include/headers.p4"
#include "../include/parser.p4"
#include "../include/wp_front.p4"
#include "../include/wp_chain.p4"

parser MyParser(packet_in pkt, out headers_t hdr, inout wp_meta_t meta,
                inout standard_metadata_t standard_metadata) {
    WpParser() wp_parser;

    state start {
        meta.ingress_port = standard_metadata.ingress_port;
        wp_parser.apply(pkt, hdr, meta);
        transition accept;
    }
}

control MyVerifyChecksum(inout headers_t hdr, inout wp_meta_t meta) {
    apply { }
}

control MyIngress(inout headers_t hdr, inout wp_meta_t meta,
                  inout standard_metadata_t standard_metadata) {
    WpFront() front;
    WpChain() chain;

    apply {
        if (standard_metadata.parser_error != error.NoError) {
            meta.drop = 1;
        } else {
            front.apply(hdr, meta);
            if (meta.drop == 0 && meta.chain_start == 1) {
                /* per-flow load balancing: offset = crc16(5-tuple) mod paths */
                bit<32> paths = (bit<32>)meta.chain_paths;
                if (paths == 0) {
                    paths = 1;
                }
                hash(meta.lb_offset, HashAlgorithm.crc16, 24w0,
                     { hdr.ipv4.src_addr, hdr.ipv4.dst_addr, hdr.ipv4.protocol,
                       meta.l4_src_port, meta.l4_dst_port },
                     paths);
            }
            chain.apply(hdr, meta);
        }

        if (meta.drop == 1) {
            mark_to_drop(standard_metadata);
        } else if (meta.recirc == 1) {
            /* any real port: egress sees the packet and recirculates it instead of sending it */
            standard_metadata.egress_spec = standard_metadata.ingress_port;
        } else if (meta.fwd == 1) {
            standard_metadata.egress_spec = meta.egress_port;
        } else {
            mark_to_drop(standard_metadata);
        }
    }
}

control MyEgress(inout headers_t hdr, inout wp_meta_t meta,
                 inout standard_metadata_t standard_metadata) {
    apply {
        if (meta.recirc == 1) {
            recirculate_preserving_field_list(0);
        }
    }
}

/* Checksums are updated incrementally where fields change (include/checksum.p4). */
control MyComputeChecksum(inout headers_t hdr, inout wp_meta_t meta) {
    apply { }
}

control MyDeparser(packet_out pkt, in headers_t hdr) {
    apply {
        pkt.emit(hdr);
    }
}

V1Switch(MyParser(), MyVerifyChecksum(), MyIngress(), MyEgress(), MyComputeChecksum(),
         MyDeparser()) main;
