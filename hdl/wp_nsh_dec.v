// wp_nsh_dec: the Ethernet + NSH rules of every wphw block, in one place (combinational).
//
// Decodes the first WP_NSH_END (22) bytes of a frame: EtherType, the NSH base and service path
// headers, and where the inner IPv4 header starts. The caller says whether the frame holds the
// Ethernet header (has_eth: >= 14 bytes) and the NSH base + service path header (has_nsh:
// >= 22 bytes); bytes the frame does not hold may be anything.
//
// Used by wp_hdr_parse (the PEs' pipelined parser), wp_waypoint (dispatch on the first beat),
// wp_chacha20 (beats 0 and 1) and wp_ids (its header bytes). Semantics (sim/common.py:parse):
//  * nsh:       EtherType 0x894F (and has_eth)
//  * nsh_valid: nsh, has_nsh, version 0, length >= 2, MD type 1 or 2
//  * nsh_ip:    nsh_valid, next protocol 1 (IPv4), length <= 6, MD type 1 only with length 6
//  * hdr_ok:    version 0, length >= 2, MD type 1 or 2 (nsh_valid = nsh, has_nsh and hdr_ok)
//  * ip_ok:     next protocol 1, length <= 6, MD type 1 only with length 6 (nsh_ip = nsh_valid
//               and ip_ok)
//  * ip_next:   next protocol 1 (IPv4)
//  * hdr_ip_ok: hdr_ok, length <= 6, MD type 1 only with length 6 (hdr_ok and ip_ok =
//               ip_next and hdr_ip_ok, so nsh_ip = nsh, has_nsh, ip_next and hdr_ip_ok):
//               hdr_ok and ip_ok as terms of 8 and 12 bits of hdr, not 12 and 18, for a
//               caller that registers them (wp_hdr_parse)
//  * ip_cand:   EtherType 0x0800 (eth_ipv4), or nsh_ip; the IPv4 header then starts at byte
//               14 + 4 * l3_q (l3_q = NSH length for nsh_ip, else 0)

`resetall
`timescale 1ns / 1ps
`default_nettype none

`include "wp_frame.vh"

module wp_nsh_dec (
    input  wire [`WP_NSH_END*8-1:0] hdr,
    input  wire                     has_eth,
    input  wire                     has_nsh,

    output wire [15:0]              eth_type,
    output wire                     eth_ipv4,
    output wire                     nsh,
    output wire                     nsh_valid,
    output wire                     nsh_ip,
    output wire                     hdr_ok,
    output wire                     ip_ok,
    output wire                     ip_next,
    output wire                     hdr_ip_ok,
    output wire                     ip_cand,
    output wire [5:0]               nsh_len,
    output wire [3:0]               nsh_md,
    output wire [7:0]               nsh_next,
    output wire [23:0]              spi,
    output wire [7:0]               si,
    output wire [31:0]              key,
    output wire [2:0]               l3_q
);

function [7:0] byte_at(input [`WP_NSH_END*8-1:0] h, input integer i);
    byte_at = h[8*i +: 8];
endfunction

wire [1:0] ver = hdr[`WP_NSH_VER_OFF*8+6 +: 2];

assign eth_type = {byte_at(hdr, `WP_ETH_TYPE_OFF), byte_at(hdr, `WP_ETH_TYPE_OFF + 1)};
assign eth_ipv4 = has_eth && eth_type == `WP_ETHERTYPE_IPV4;
assign nsh = has_eth && eth_type == `WP_ETHERTYPE_NSH;
assign nsh_len = hdr[`WP_NSH_LEN_OFF*8 +: 6];
assign nsh_md = hdr[`WP_NSH_MD_OFF*8 +: 4];
assign nsh_next = byte_at(hdr, `WP_NSH_NEXT_OFF);
assign spi = {byte_at(hdr, `WP_NSH_SPI_OFF), byte_at(hdr, `WP_NSH_SPI_OFF + 1),
              byte_at(hdr, `WP_NSH_SPI_OFF + 2)};
assign si = byte_at(hdr, `WP_NSH_SI_OFF);
assign key = {spi, si};
// The length bounds as constant tables indexed by the length: yosys maps a `>=` / `<=` against
// a constant to a carry chain (CCU2C on ECP5, CARRY4 on 7-series), which put a 1.4 ns chain on
// wp_nat's ECP5 critical path (input beat -> wp_hdr_parse's p_dec_reg, 9 cells); a table
// indexed by 6 bits maps to LUTs and muxes.
function [63:0] len_table(input integer lo, input integer hi);
    integer v;
    begin
        for (v = 0; v < 64; v = v + 1) len_table[v] = v >= lo && v <= hi;
    end
endfunction
localparam [63:0] LEN_VALID = len_table(`WP_NSH_MIN_LEN, 63);
localparam [63:0] LEN_IP = len_table(0, `WP_NSH_MAX_IP_LEN);

// the NSH header's own rules, apart from the EtherType and the byte count (so a caller can
// register them and AND them a cycle later: wp_hdr_parse)
assign hdr_ok = ver == 2'd0 && LEN_VALID[nsh_len]
                && (nsh_md == `WP_NSH_MD1 || nsh_md == `WP_NSH_MD2);
// the length and MD type allow IPv4 inside (ip_ok's part that is not the next protocol)
wire ip_len_ok = LEN_IP[nsh_len] && (nsh_md == `WP_NSH_MD2 || nsh_len == `WP_NSH_MAX_IP_LEN);
assign ip_next = nsh_next == `WP_NSH_NEXT_IPV4;
assign ip_ok = ip_next && ip_len_ok;
assign hdr_ip_ok = hdr_ok && ip_len_ok;
assign nsh_valid = nsh && has_nsh && hdr_ok;
assign nsh_ip = nsh_valid && ip_ok;
assign ip_cand = eth_ipv4 || nsh_ip;
assign l3_q = nsh_ip ? nsh_len[2:0] : 3'd0;

endmodule

`resetall
