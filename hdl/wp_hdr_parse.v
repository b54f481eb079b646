// wp_hdr_parse: per-frame header parser shared by the PEs.
//
// Watches an AXI-Stream (s_* inputs, "beat" = a transfer) and, once the first WIN_BEATS beats of
// a frame (or the whole frame, if shorter) have passed, emits the frame's header fields on
// hdr_* with a one-cycle hdr_valid pulse, HDR_LATENCY cycles later. Handles any frame length,
// including runts and truncated headers (the length checks below).
//
// Semantics (mirrored by sim/common.py:parse):
//  * Ethernet type at bytes 12..13 (needs >= 14 bytes).
//  * NSH (type 0x894F): valid when >= 22 bytes, ver 0, length >= 2, MD type 1 or 2.
//  * Inner IPv4 at l3 = 14 (plain, type 0x0800) or 14 + 4*length (valid NSH, next protocol 1,
//    length <= 6, MD type 1 only with length 6). IPv4 is valid when version 4, IHL >= 5 and the
//    frame holds the whole IPv4 header.
//  * Ports: TCP/UDP, fragment offset 0, 4 bytes of L4 header present; else 0.
//  * L4 checksum: TCP (offset 16) / UDP (offset 6) when present and fragment offset 0.

`resetall
`timescale 1ns / 1ps
`default_nettype none

`include "wp_frame.vh"

module wp_hdr_parse #(
    // Width of tdata (bits)
    parameter DATA_WIDTH = 256,
    // Beats the parse window covers (WIN_BEATS * DATA_WIDTH/8 must be >= 118 bytes)
    parameter WIN_BEATS = 4
) (
    input  wire                    clk,
    input  wire                    rst,

    input  wire [DATA_WIDTH-1:0]   s_tdata,
    input  wire [DATA_WIDTH/8-1:0] s_tkeep,
    input  wire                    s_tlast,
    input  wire                    s_beat,

    output reg                     hdr_valid = 1'b0,
    output reg  [7:0]              hdr_len = 0,
    output reg                     hdr_nsh = 1'b0,
    output reg                     hdr_nsh_valid = 1'b0,
    output reg  [23:0]             hdr_spi = 0,
    output reg  [7:0]              hdr_si = 0,
    output reg                     hdr_ipv4 = 1'b0,
    output reg  [7:0]              hdr_l3 = 0,
    output reg  [7:0]              hdr_l4 = 0,
    output reg  [7:0]              hdr_proto = 0,
    output reg  [31:0]             hdr_src = 0,
    output reg  [31:0]             hdr_dst = 0,
    output reg  [15:0]             hdr_ip_csum = 0,
    output reg                     hdr_first_frag = 1'b0,
    output reg                     hdr_ports = 1'b0,
    output reg  [15:0]             hdr_sport = 0,
    output reg  [15:0]             hdr_dport = 0,
    output reg                     hdr_l4_csum_ok = 1'b0,
    output reg  [15:0]             hdr_l4_csum = 0
);

localparam KEEP_WIDTH = DATA_WIDTH / 8;
localparam WIN_BYTES = WIN_BEATS * KEEP_WIDTH;
localparam WIN = WIN_BYTES * 8;
localparam IDX_W = $clog2(WIN_BEATS + 1);
localparam H_BYTES = WIN_BYTES - `WP_ETH_HDR_LEN;

initial begin
    if (WIN_BYTES < 118 || WIN_BYTES > 255) begin
        $error("Error: WIN_BEATS * DATA_WIDTH/8 must be in 118..255 bytes (instance %m)");
        $finish;
    end
end

// ---- window capture ----
reg [WIN-1:0]   win_reg = 0;
reg [7:0]       len_reg = 0;
reg [IDX_W-1:0] beat_idx_reg = 0;
reg             done_reg = 1'b0;

// the window with the current beat in place (a function behind continuous assignments, not
// always @*, so it is defined from time 0 in every simulator)
// stage 0: the beat and its byte count, registered (the byte count and the window write are
// each a cycle of their own: together they were the module's slowest path); the count from the
// contiguous tkeep (wp_keep_count)
reg                  p_beat_reg = 1'b0;
reg                  p_last_reg = 1'b0;
reg [DATA_WIDTH-1:0] p_data_reg = 0;
reg [7:0]            p_cnt_reg = 0;

wire [$clog2(KEEP_WIDTH):0] s_cnt;
wp_keep_count #(.KEEP_WIDTH(KEEP_WIDTH)) keep_count_inst (.keep(s_tkeep), .count(s_cnt));

always @(posedge clk) begin
    p_beat_reg <= s_beat;
    if (s_beat) begin
        p_last_reg <= s_tlast;
        p_data_reg <= s_tdata;
        p_cnt_reg <= {{(7 - $clog2(KEEP_WIDTH)){1'b0}}, s_cnt};
    end
    if (rst) p_beat_reg <= 1'b0;
end

// The beat goes to slot idx, written as one compare per slot (a select per window bit), not as
// a variable part-select (`win[idx*DATA_WIDTH +: DATA_WIDTH]`, which can map to a shifter
// across the whole window).
function [WIN+7:0] win_add(input [WIN-1:0] win, input [7:0] len, input [IDX_W-1:0] idx,
    input [DATA_WIDTH-1:0] data, input [7:0] cnt);
    integer k;
    begin
        win_add = {len, win};
        for (k = 0; k < WIN_BEATS; k = k + 1) begin
            if (idx == k) win_add[k*DATA_WIDTH +: DATA_WIDTH] = data;
        end
        if (idx < WIN_BEATS) win_add[WIN +: 8] = len + cnt;
    end
endfunction

wire [WIN+7:0] win_next = win_add(win_reg, len_reg, beat_idx_reg, p_data_reg, p_cnt_reg);
wire [WIN-1:0] win_cur = win_next[WIN-1:0];
wire [7:0]     len_cur = win_next[WIN +: 8];

wire trig = p_beat_reg && !done_reg && (beat_idx_reg == WIN_BEATS - 1 || p_last_reg);

// stage A: the complete window
reg           a_valid_reg = 1'b0;
reg [WIN-1:0] a_win_reg = 0;
reg [7:0]     a_len_reg = 0;

always @(posedge clk) begin
    a_valid_reg <= 1'b0;
    if (p_beat_reg) begin
        win_reg <= win_cur;
        len_reg <= len_cur;
        if (beat_idx_reg != WIN_BEATS) beat_idx_reg <= beat_idx_reg + 1;
        if (trig) begin
            a_valid_reg <= 1'b1;
            a_win_reg <= win_cur;
            a_len_reg <= len_cur;
            done_reg <= 1'b1;
        end
        if (p_last_reg) begin
            beat_idx_reg <= 0;
            len_reg <= 0;
            done_reg <= 1'b0;
        end
    end
    if (rst) begin
        a_valid_reg <= 1'b0;
        beat_idx_reg <= 0;
        len_reg <= 0;
        done_reg <= 1'b0;
    end
end

// stage B: Ethernet + NSH (the rules every block shares: wp_nsh_dec)
wire        a_nsh, a_nsh_valid, a_ip_cand;
wire [23:0] a_spi;
wire [7:0]  a_si;
wire [2:0]  a_q;

wp_nsh_dec nsh_dec_inst (
    .hdr(a_win_reg[`WP_NSH_END*8-1:0]),
    .has_eth(a_len_reg >= `WP_ETH_HDR_LEN), .has_nsh(a_len_reg >= `WP_NSH_END),
    .eth_type(), .eth_ipv4(), .nsh(a_nsh), .nsh_valid(a_nsh_valid), .nsh_ip(),
    .ip_cand(a_ip_cand), .nsh_len(), .nsh_md(), .nsh_next(), .spi(a_spi), .si(a_si), .key(),
    .l3_q(a_q)
);

reg                 b_valid_reg = 1'b0;
reg [7:0]           b_len_reg = 0;
reg                 b_nsh_reg = 1'b0;
reg                 b_nsh_valid_reg = 1'b0;
reg [23:0]          b_spi_reg = 0;
reg [7:0]           b_si_reg = 0;
reg                 b_ip_cand_reg = 1'b0;
reg [2:0]           b_q_reg = 0;
reg [H_BYTES*8-1:0] b_h_reg = 0;

// Beside the NSH decode: the IPv4 header starts at l3 = 14 + 4*q, q in 0..7 (the NSH length
// or 0), so for each q its version/IHL byte sits at a fixed place of the window. The length
// checks are worked out here for all eight places, from registers only and in parallel with the
// decode of q; stage C picks one with q (a select, where a shift, then an add, then a compare
// had been its slowest path). Per place: {IPv4 header valid and held (version 4, IHL >= 5,
// len >= l4), the frame holds the L4 ports, the UDP checksum, the TCP checksum, l4}.
localparam NQ = 8;
localparam QC_W = 4 + 8;

function [QC_W-1:0] l3_checks(input ver_ok, input [3:0] ihl, input [7:0] len, input integer q);
    reg [7:0] l4;
    begin
        l4 = `WP_ETH_HDR_LEN + 4 * q + {2'd0, ihl, 2'd0};
        // len >= l3 + 20 is implied: ver_ok (IHL >= 5) puts l4 at l3 + 20 or later
        l3_checks = {ver_ok && len >= l4,
                     len >= l4 + (`WP_L4_DPORT_OFF + 2),
                     len >= l4 + (`WP_UDP_CSUM_OFF + 2),
                     len >= l4 + (`WP_TCP_CSUM_OFF + 2),
                     l4};
    end
endfunction

wire [NQ*QC_W-1:0] a_l3_checks;
genvar gq;
generate
    for (gq = 0; gq < NQ; gq = gq + 1) begin : g_l3
        wire       ver_ok;
        wire [3:0] ihl;
        wp_ipv4_dec ipv4_dec_inst (
            .ip(a_win_reg[(`WP_ETH_HDR_LEN + 4 * gq)*8 +: `WP_IPV4_HDR_LEN*8]),
            .ver_ok(ver_ok), .ihl(ihl), .ver_ihl(), .tos(), .total_len(), .frag_off(), .ttl(),
            .proto(), .csum(), .src(), .dst()
        );
        assign a_l3_checks[gq*QC_W +: QC_W] = l3_checks(ver_ok, ihl, a_len_reg, gq);
    end
endgenerate

reg [NQ*QC_W-1:0] b_l3_checks_reg = 0;

always @(posedge clk) begin
    b_l3_checks_reg <= a_l3_checks;
    b_valid_reg <= a_valid_reg;
    b_len_reg <= a_len_reg;
    b_nsh_reg <= a_nsh;
    b_nsh_valid_reg <= a_nsh_valid;
    b_spi_reg <= a_spi;
    b_si_reg <= a_si;
    b_ip_cand_reg <= a_ip_cand;
    b_q_reg <= a_q;
    b_h_reg <= a_win_reg[WIN-1:`WP_ETH_HDR_LEN*8];
    if (rst) b_valid_reg <= 1'b0;
end

// stage C: IPv4 header at l3 = 14 + 4*q
wire [H_BYTES*8-1:0] b_ip = b_h_reg >> {b_q_reg, 5'd0};
wire [7:0]  b_l3 = `WP_ETH_HDR_LEN + {3'd0, b_q_reg, 2'd0};
wire [3:0]  b_ihl;
wire [12:0] b_frag;
wire [7:0]  b_proto;
wire [15:0] b_ip_csum;
wire [31:0] b_src, b_dst;

wp_ipv4_dec ipv4_dec_inst (
    .ip(b_ip[`WP_IPV4_HDR_LEN*8-1:0]),
    .ver_ok(), .ihl(b_ihl), .ver_ihl(), .tos(), .total_len(), .frag_off(b_frag),
    .ttl(), .proto(b_proto), .csum(b_ip_csum), .src(b_src), .dst(b_dst)
);

// the place's checks by q: a compare per place (a variable part-select becomes a shift with
// 'x fill in yosys, which the formal flow's AIG rejects)
function [QC_W-1:0] pick_checks(input [NQ*QC_W-1:0] all, input [2:0] q);
    integer k;
    begin
        pick_checks = all[QC_W-1:0];
        for (k = 1; k < NQ; k = k + 1) begin
            if (q == k) pick_checks = all[k*QC_W +: QC_W];
        end
    end
endfunction

wire [QC_W-1:0] b_chk = pick_checks(b_l3_checks_reg, b_q_reg);
wire [7:0]  b_l4 = b_chk[7:0];
wire        b_ipv4 = b_ip_cand_reg && b_chk[QC_W-1];

reg                 c_valid_reg = 1'b0;
reg [7:0]           c_len_reg = 0;
reg                 c_nsh_reg = 1'b0;
reg                 c_nsh_valid_reg = 1'b0;
reg [23:0]          c_spi_reg = 0;
reg [7:0]           c_si_reg = 0;
reg                 c_ipv4_reg = 1'b0;
reg [7:0]           c_l3_reg = 0;
reg [7:0]           c_l4_reg = 0;
reg [3:0]           c_ihl_reg = 0;
reg [7:0]           c_proto_reg = 0;
reg [31:0]          c_src_reg = 0;
reg [31:0]          c_dst_reg = 0;
reg [15:0]          c_ip_csum_reg = 0;
reg                 c_first_reg = 1'b0;
reg                 c_room_ports_reg = 1'b0;
reg                 c_room_udp_reg = 1'b0;
reg                 c_room_tcp_reg = 1'b0;
reg [H_BYTES*8-1:0] c_ip_reg = 0;

always @(posedge clk) begin
    c_valid_reg <= b_valid_reg;
    c_len_reg <= b_len_reg;
    c_nsh_reg <= b_nsh_reg;
    c_nsh_valid_reg <= b_nsh_valid_reg;
    c_spi_reg <= b_spi_reg;
    c_si_reg <= b_si_reg;
    c_ipv4_reg <= b_ipv4;
    c_l3_reg <= b_l3;
    c_l4_reg <= b_l4;
    c_ihl_reg <= b_ihl;
    c_proto_reg <= b_proto;
    c_src_reg <= b_src;
    c_dst_reg <= b_dst;
    c_ip_csum_reg <= b_ip_csum;
    c_first_reg <= b_frag == 13'd0;
    {c_room_ports_reg, c_room_udp_reg, c_room_tcp_reg} <= b_chk[QC_W-2 -: 3];
    c_ip_reg <= b_ip;
    if (rst) c_valid_reg <= 1'b0;
end

// stage D: L4 header at l4 = l3 + 4*ihl
wire [H_BYTES*8-1:0] c_l4h = c_ip_reg >> {c_ihl_reg, 5'd0};
wire c_tcp = c_proto_reg == `WP_IP_PROTO_TCP;
wire c_udp = c_proto_reg == `WP_IP_PROTO_UDP;
wire c_ports = c_ipv4_reg && (c_tcp || c_udp) && c_first_reg && c_room_ports_reg;

function [15:0] l4_be16(input [H_BYTES*8-1:0] h, input integer i);
    l4_be16 = {h[8*i +: 8], h[8*(i+1) +: 8]};
endfunction

always @(posedge clk) begin
    hdr_valid <= c_valid_reg;
    hdr_len <= c_len_reg;
    hdr_nsh <= c_nsh_reg;
    hdr_nsh_valid <= c_nsh_valid_reg;
    hdr_spi <= c_spi_reg;
    hdr_si <= c_si_reg;
    hdr_ipv4 <= c_ipv4_reg;
    hdr_l3 <= c_l3_reg;
    hdr_l4 <= c_l4_reg;
    hdr_proto <= c_proto_reg;
    hdr_src <= c_src_reg;
    hdr_dst <= c_dst_reg;
    hdr_ip_csum <= c_ip_csum_reg;
    hdr_first_frag <= c_first_reg;
    hdr_ports <= c_ports;
    hdr_sport <= c_ports ? l4_be16(c_l4h, `WP_L4_SPORT_OFF) : 16'd0;
    hdr_dport <= c_ports ? l4_be16(c_l4h, `WP_L4_DPORT_OFF) : 16'd0;
    hdr_l4_csum_ok <= c_ipv4_reg && c_first_reg
                      && ((c_tcp && c_room_tcp_reg) || (c_udp && c_room_udp_reg));
    hdr_l4_csum <= c_tcp ? l4_be16(c_l4h, `WP_TCP_CSUM_OFF) : l4_be16(c_l4h, `WP_UDP_CSUM_OFF);
    if (rst) hdr_valid <= 1'b0;
end

endmodule

`resetall
