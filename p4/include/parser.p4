/* wphw — the parser shared by both architectures (a sub-parser each top parser applies).
 *
 * Ethernet -> (802.1Q) -> NSH (MD type 2, next protocol IPv4) -> IPv4 -> TCP/UDP.
 * Anything this parser cannot take ends with a parser error (packet too short, NshUnsupported,
 * Ipv4Malformed); the ingress of each architecture drops packets with a parser error.
 */
#ifndef WPHW_PARSER_P4
#define WPHW_PARSER_P4

#include "headers.p4"

parser WpParser(packet_in pkt, out headers_t hdr, inout wp_meta_t meta) {
    state start {
        meta.l4_src_port = 0;
        meta.l4_dst_port = 0;
        pkt.extract(hdr.ethernet);
        transition select(hdr.ethernet.ether_type) {
            ETHERTYPE_VLAN: parse_vlan;
            ETHERTYPE_NSH:  parse_nsh;
            ETHERTYPE_IPV4: parse_ipv4;
            default: accept;  /* non-IPv4: dropped in ingress */
        }
    }

    state parse_vlan {
        pkt.extract(hdr.vlan);
        transition select(hdr.vlan.ether_type) {
            ETHERTYPE_NSH:  parse_nsh;
            ETHERTYPE_IPV4: parse_ipv4;
            default: accept;
        }
    }

    state parse_nsh {
        pkt.extract(hdr.nsh);
        verify(hdr.nsh.ver == 0 && hdr.nsh.md_type == NSH_MD_TYPE_2 && hdr.nsh.len == NSH_LEN_MD2
               && hdr.nsh.next_proto == NSH_NEXT_PROTO_IPV4, error.NshUnsupported);
        transition parse_ipv4;
    }

    state parse_ipv4 {
        pkt.extract(hdr.ipv4);
        verify(hdr.ipv4.version == 4 && hdr.ipv4.ihl >= 5, error.Ipv4Malformed);
        /* L4 ports only for option-less first fragments; otherwise they read as 0 */
        transition select(hdr.ipv4.ihl, hdr.ipv4.frag_offset, hdr.ipv4.protocol) {
            (5, 0, IP_PROTO_TCP): parse_tcp;
            (5, 0, IP_PROTO_UDP): parse_udp;
            default: accept;
        }
    }

    state parse_tcp {
        pkt.extract(hdr.tcp);
        meta.l4_src_port = hdr.tcp.src_port;
        meta.l4_dst_port = hdr.tcp.dst_port;
        transition accept;
    }

    state parse_udp {
        pkt.extract(hdr.udp);
        meta.l4_src_port = hdr.udp.src_port;
        meta.l4_dst_port = hdr.udp.dst_port;
        transition accept;
    }
}

#endif /* WPHW_PARSER_P4 */
