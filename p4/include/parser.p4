/* wphw — the parser shared by both architectures (a sub-parser each top parser applies).
 *
 * Ethernet -> (802.1Q) -> NSH (MD type 2, next protocol IPv4) -> IPv4 -> TCP/UDP.
 * Anything else ends in a reject state: WP_PARSER_REJECT(error) of the top file (v1model: a
 * parser error; TNA: meta.drop), and the ingress drops the packet. Packets too short for a
 * header they announce get the architecture's own parser error, also dropped. So a packet that
 * reaches the ingress without one of them has a valid IPv4 header (after NSH if it has one), an
 * NSH with version 0, MD type 2, length 2, next protocol IPv4 and TTL > 0, an IPv4 version 4
 * with IHL >= 5 -- the controls rely on this instead of checking again.
 *
 * The shared parser does not initialise wp_meta_t: the top parser does (v1model metadata start
 * at 0 anyway), so l4_src_port/l4_dst_port read 0 unless TCP/UDP was parsed.
 */
#ifndef WPHW_PARSER_P4
#define WPHW_PARSER_P4

#include "headers.p4"

#ifndef WP_PARSER_REJECT
#error "define WP_PARSER_REJECT(err) in the top file before including parser.p4"
#endif

/* Hooks a top file may define (empty by default; TNA uses them for its checksum residuals):
 * WP_PARSER_DECLS (extern instances in the parser), WP_PARSED_NSH / WP_PARSED_IPV4 /
 * WP_PARSED_TCP / WP_PARSED_UDP (statements right after each of those headers is extracted). */
#ifndef WP_PARSER_DECLS
#define WP_PARSER_DECLS
#endif
#ifndef WP_PARSED_NSH
#define WP_PARSED_NSH
#endif
#ifndef WP_PARSED_IPV4
#define WP_PARSED_IPV4
#endif
#ifndef WP_PARSED_TCP
#define WP_PARSED_TCP
#endif
#ifndef WP_PARSED_UDP
#define WP_PARSED_UDP
#endif

parser WpParser(packet_in pkt, inout headers_t hdr, inout wp_meta_t meta) {
    WP_PARSER_DECLS

    state start {
        pkt.extract(hdr.ethernet);
        transition select(hdr.ethernet.ether_type) {
            ETHERTYPE_VLAN: parse_vlan;
            ETHERTYPE_NSH:  parse_nsh;
            ETHERTYPE_IPV4: parse_ipv4;
            default: not_ipv4;
        }
    }

    state parse_vlan {
        pkt.extract(hdr.vlan);
        transition select(hdr.vlan.ether_type) {
            ETHERTYPE_NSH:  parse_nsh;
            ETHERTYPE_IPV4: parse_ipv4;
            default: not_ipv4;
        }
    }

    state parse_nsh {
        pkt.extract(hdr.nsh);
        WP_PARSED_NSH
        transition select(hdr.nsh.base) {
            NSH_BASE_OK &&& (NSH_BASE_OK_MASK | NSH_BASE_TTL_MASK): nsh_ttl_expired;  /* TTL 0 */
            NSH_BASE_OK &&& NSH_BASE_OK_MASK: parse_ipv4;
            default: nsh_unsupported;
        }
    }

    state parse_ipv4 {
        pkt.extract(hdr.ipv4);
        WP_PARSED_IPV4
        /* version 4, IHL >= 5; L4 ports only for option-less first fragments */
        transition select(hdr.ipv4.version, hdr.ipv4.ihl, hdr.ipv4.frag_offset,
                          hdr.ipv4.protocol) {
            (4, 5, 0, IP_PROTO_TCP): parse_tcp;
            (4, 5, 0, IP_PROTO_UDP): parse_udp;
            (4, 5, _, _): accept;
            (4, 6 &&& 0xe, _, _): accept;  /* 6, 7 */
            (4, 8 &&& 0x8, _, _): accept;  /* 8 .. 15 */
            default: ipv4_malformed;
        }
    }

    state parse_tcp {
        pkt.extract(hdr.tcp);
        WP_PARSED_TCP
        meta.l4_src_port = hdr.tcp.src_port;
        meta.l4_dst_port = hdr.tcp.dst_port;
        transition accept;
    }

    state parse_udp {
        pkt.extract(hdr.udp);
        WP_PARSED_UDP
        meta.l4_src_port = hdr.udp.src_port;
        meta.l4_dst_port = hdr.udp.dst_port;
        transition accept;
    }

    state not_ipv4 {
        WP_PARSER_REJECT(error.NotIpv4)
        transition accept;
    }

    state nsh_unsupported {
        WP_PARSER_REJECT(error.NshUnsupported)
        transition accept;
    }

    state nsh_ttl_expired {
        WP_PARSER_REJECT(error.NshTtlExpired)
        transition accept;
    }

    state ipv4_malformed {
        WP_PARSER_REJECT(error.Ipv4Malformed)
        transition accept;
    }
}

#endif /* WPHW_PARSER_P4 */
