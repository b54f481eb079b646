// wp_ipv4_dec: the fields of a 20-byte IPv4 header (combinational; byte 0 in ip[7:0]).
//
// Used wherever an RTL block reads an IPv4 header (wp_hdr_parse, wp_chacha20, wp_ids), so the
// field offsets live in one place (wp_frame.vh). ver_ok: version 4 and IHL >= 5 (the header
// length checks against the frame are the caller's: they differ per block).

`resetall
`timescale 1ns / 1ps
`default_nettype none

`include "wp_frame.vh"

module wp_ipv4_dec (
    input  wire [`WP_IPV4_HDR_LEN*8-1:0] ip,

    output wire                          ver_ok,
    output wire [3:0]                    ihl,
    output wire [7:0]                    ver_ihl,
    output wire [7:0]                    tos,
    output wire [15:0]                   total_len,
    output wire [12:0]                   frag_off,
    output wire [7:0]                    ttl,
    output wire [7:0]                    proto,
    output wire [15:0]                   csum,
    output wire [31:0]                   src,
    output wire [31:0]                   dst
);

function [7:0] byte_at(input [`WP_IPV4_HDR_LEN*8-1:0] h, input integer i);
    byte_at = h[8*i +: 8];
endfunction

function [15:0] be16(input [`WP_IPV4_HDR_LEN*8-1:0] h, input integer i);
    be16 = {h[8*i +: 8], h[8*(i+1) +: 8]};
endfunction

function [31:0] be32(input [`WP_IPV4_HDR_LEN*8-1:0] h, input integer i);
    be32 = {h[8*i +: 8], h[8*(i+1) +: 8], h[8*(i+2) +: 8], h[8*(i+3) +: 8]};
endfunction

assign ver_ihl = byte_at(ip, 0);
assign ihl = ver_ihl[3:0];
assign ver_ok = ver_ihl[7:4] == 4'd4 && ihl >= 4'd5;
assign tos = byte_at(ip, `WP_IPV4_TOS_OFF);
assign total_len = be16(ip, `WP_IPV4_TOTAL_LEN_OFF);
wire [15:0] flags_frag = be16(ip, `WP_IPV4_FRAG_OFF);
assign frag_off = flags_frag[12:0];
assign ttl = byte_at(ip, `WP_IPV4_TTL_OFF);
assign proto = byte_at(ip, `WP_IPV4_PROTO_OFF);
assign csum = be16(ip, `WP_IPV4_CSUM_OFF);
assign src = be32(ip, `WP_IPV4_SRC_OFF);
assign dst = be32(ip, `WP_IPV4_DST_OFF);

endmodule

`resetall
