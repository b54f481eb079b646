/* wphw — waypoint steering data plane, v1model top file (BMv2 simple_switch_grpc).
 *
 * Wires the shared parser and controls of ../include together, gives them v1model's flavour of
 * the architecture hooks (macros below) and decides which of them a packet meets. See docs/p4.md.
 *
 * BMv2 spends its time per table applied, per condition evaluated and per primitive executed, so
 * the order below keeps each kind of packet on a short path: one condition in front of
 * wp_classify for untagged IPv4, the chain only for packets with NSH, ipv4_lpm only when routed,
 * and every action sets egress_spec itself (no final "where does it go" conditions).
 */
#include <core.p4>
#include <v1model.p4>

/* P4Info names: MyIngress.<short name> */
#define WP_PREFIX .MyIngress

/* v1model flavour of the architecture hooks used by the shared controls */
#define WP_ARCH_PARAMS , inout standard_metadata_t sm
#define WP_ARCH_ARGS , sm
#define WP_FORWARD(port) sm.egress_spec = port;
#define WP_DROP mark_to_drop(sm);
/* any real port: egress sees the packet and recirculates it (MyEgress) instead of sending it */
#define WP_RECIRCULATE meta.recirc = 1; sm.egress_spec = sm.ingress_port;
#define WP_INGRESS_PORT sm.ingress_port
#define WP_PARSER_REJECT(err) verify(false, err);
/* NSH push/pop: the EtherType in front of NSH/IPv4 is the VLAN tag's when there is one. As one
 * expression (t, or 0x8100 when the tag is valid), not `?:`, which p4c turns into jumps that BMv2
 * executes as primitives; writing the field of an invalid VLAN header is harmless (not emitted). */
#define WP_SET_ETHERTYPE(t) \
    hdr.vlan.ether_type = t; \
    hdr.ethernet.ether_type = t + (ETHERTYPE_VLAN - t) * (bit<16>)(bit<1>)hdr.vlan.isValid();
#define WP_DIRECT_COUNTER(n) WP_NAME(n) direct_counter(CounterType.packets_and_bytes) n;
#define WP_COUNT(n)
#define WP_DIRECT_METER(n) WP_NAME(n) direct_meter<bit<8>>(MeterType.bytes) n;
#define WP_METER_READ(n, dst) n.read(dst);
/* per-flow load balancing: SPI = spi + crc16(5-tuple) mod paths (BMv2 takes a max of 0 as 1) */
#define WP_CHAIN_SPI(spi, paths) \
    hash(meta.lb_offset, HashAlgorithm.crc16, 24w0, \
         { hdr.ipv4.src_addr, hdr.ipv4.dst_addr, hdr.ipv4.protocol, \
           meta.l4_src_port, meta.l4_dst_port }, \
         paths); \
    hdr.nsh.spi = spi + meta.lb_offset;

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
#include "../include/wp_proxy_return.p4"
#include "../include/wp_classify.p4"
#include "../include/wp_chain.p4"
#include "../include/ipv4_lpm.p4"

parser MyParser(packet_in pkt, out headers_t hdr, inout wp_meta_t meta,
                inout standard_metadata_t sm) {
    WpParser() wp_parser;

    state start {
        wp_parser.apply(pkt, hdr, meta);
        transition accept;
    }
}

control MyVerifyChecksum(inout headers_t hdr, inout wp_meta_t meta) {
    apply { }
}

control MyIngress(inout headers_t hdr, inout wp_meta_t meta, inout standard_metadata_t sm) {
    WpProxyReturn() proxy_return;
    WpClassify() classify;
    WpChain() chain;
    WpIpv4Lpm() routing;

    apply {
        /* the parser guarantees IPv4 (docs/p4.md "Malformed packets") */
        if (sm.parser_error == error.NoError && !hdr.nsh.isValid() && !hdr.vlan.isValid()) {
            classify.apply(hdr, meta, sm);
        } else if (sm.parser_error != error.NoError) {
            meta.drop = 1;
            mark_to_drop(sm);
        } else if (!hdr.nsh.isValid()) {
            /* 802.1Q-tagged IPv4: a proxy return leg, else like an untagged packet */
            proxy_return.apply(hdr, meta, sm);
            if (!hdr.nsh.isValid()) {
                classify.apply(hdr, meta, sm);
            }
        }
        if (hdr.nsh.isValid() && meta.drop == 0) {
            chain.apply(hdr, meta, sm);
        }
        if (meta.route == 1 && hdr.ipv4.ttl > 1) {
            routing.apply(hdr, meta, sm);
        } else if (meta.route == 1) {
            mark_to_drop(sm);  /* IPv4 TTL <= 1 */
        }
    }
}

control MyEgress(inout headers_t hdr, inout wp_meta_t meta, inout standard_metadata_t sm) {
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
