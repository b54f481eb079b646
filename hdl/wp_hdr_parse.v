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
// the IPv4 header's first IP_BYTES bytes are read (the header and, at l4 = l3 + 4*IHL <=
// l3 + 60, the L4 fields up to the TCP checksum)
localparam IP_BYTES = 60 + `WP_TCP_CSUM_OFF + 2;

initial begin
    if (WIN_BYTES < 118 || WIN_BYTES > 255) begin
        $error("Error: WIN_BEATS * DATA_WIDTH/8 must be in 118..255 bytes (instance %m)");
        $finish;
    end
end

// ---- window capture ----
// Every beat but a frame's last is full (the AXI-Stream rule of every wphw stream: tkeep all
// ones unless tlast), so the frame's byte count inside the window is 32 * (beat index) plus the
// byte count of the window's last beat, and its thermometer (th[v] = count >= v) is the beat
// index compared with v's beat and, in that beat, tkeep itself (contiguous from byte 0).
// stage P: the beat registered with what the window write needs, worked out from the beat's
// inputs and the beat index only: the beat's slot (one-hot), the byte count's thermometer up to
// and including this beat, and whether this beat completes the window (the trigger); the byte
// count of the beat from its tkeep (wp_keep_count).
reg                  p_beat_reg = 1'b0;
reg                  p_trig_reg = 1'b0;
reg [WIN_BEATS-1:0]  p_slot_reg = 0;
reg [IDX_W-1:0]      p_idx_reg = 0;
reg [DATA_WIDTH-1:0] p_data_reg = 0;
reg [$clog2(KEEP_WIDTH):0] p_cnt_reg = 0;
reg [WIN_BYTES:0]    p_th_reg = 0;

// beats of the frame seen so far, saturating at WIN_BEATS
reg [IDX_W-1:0] beat_idx_reg = 0;
// the same one-hot (bit k: the incoming beat is the frame's beat k; bit WIN_BEATS: a later
// one), for the per-slot load enables (the index's compares fanned out to them were the
// parser's ECP5 path)
reg [WIN_BEATS:0] in_slot_reg = 1;
reg [WIN-1:0]   win_reg = 0;  // the window being filled (stage A's side)

wire [$clog2(KEEP_WIDTH):0] s_cnt;
wp_keep_count #(.KEEP_WIDTH(KEEP_WIDTH)) keep_count_inst (.keep(s_tkeep), .count(s_cnt));

// the Ethernet + NSH decode of the beat as a frame's first beat, assuming the frame holds
// the headers (stage B applies the byte count), in two steps: stage P registers its terms
// (p_dec_reg: {eth_ipv4, nsh, hdr_ok, ip_next, hdr_ip_ok, NSH length [2:0]}, each from at
// most 16 bits of the beat: wp_nsh_dec's ip_ok, 18 bits, is ip_next and hdr_ip_ok here), and
// dec_full ANDs them into {eth_ipv4, nsh, nsh_valid, nsh_ip, NSH length [2:0]} as stage P's
// consumers read them (the whole decode in one cycle, 36 bits of the beat into nsh_ip, was
// wp_hdr_parse's ECP5 path at e3ae9ea: 4 levels; hdr_ok && ip_ok in one register, 20 bits,
// is 4 levels too; ip_ok's 18 bits into p_dec_reg and p_qt_reg, 3 levels, its paths at
// 784c3fc, seeds 2 and 3)
localparam NSH_D_W = 4 + 3;
localparam P_DEC_W = 5 + 3;
wire       s_eth_ipv4, s_nsh, s_hdr_ok, s_ip_next, s_hdr_ip_ok;
wire [5:0] s_nsh_len;
wp_nsh_dec nsh_dec_inst (
    .hdr(s_tdata[`WP_NSH_END*8-1:0]), .has_eth(1'b1), .has_nsh(1'b1),
    .eth_type(), .eth_ipv4(s_eth_ipv4), .nsh(s_nsh), .nsh_valid(), .nsh_ip(),
    .hdr_ok(s_hdr_ok), .ip_ok(), .ip_next(s_ip_next), .hdr_ip_ok(s_hdr_ip_ok), .ip_cand(),
    .nsh_len(s_nsh_len), .nsh_md(),
    .nsh_next(), .spi(), .si(), .key(), .l3_q()
);
function [NSH_D_W-1:0] dec_full(input [P_DEC_W-1:0] t);
    reg eth_ipv4, nsh, hdr_ok, ip_next, hdr_ip_ok;
    begin
        {eth_ipv4, nsh, hdr_ok, ip_next, hdr_ip_ok} = t[P_DEC_W-1 -: 5];
        dec_full = {eth_ipv4, nsh, nsh && hdr_ok, nsh && ip_next && hdr_ip_ok, t[2:0]};
    end
endfunction
reg [P_DEC_W-1:0] p_dec_reg = 0;
wire [NSH_D_W-1:0] p_dec_full = dec_full(p_dec_reg);
// The same decode's terms again, for q alone (l3_q: nsh_ip ? NSH length [2:0] : 0, which the q0
// copies and dec0_q_reg load): {nsh, ip_next, hdr_ip_ok && NSH length bit i for i = 2..0}
// (hdr_ip_ok already reads the length: no deeper than it), so each bit of q is an AND of three
// registers no other logic reads. From p_dec_reg's terms, which nsh_valid and nsh_ip share,
// yosys built q's four-term AND as a chain of three LUTs (wp_hdr_parse's path at 646105d,
// seeds 1 and 2).
reg [4:0] p_qt_reg = 5'd0;
(* keep *)
always @(posedge clk) begin
    p_qt_reg <= {s_nsh, s_ip_next, {3{s_hdr_ip_ok}} & s_nsh_len[2:0]};
end
wire [2:0] p_l3_q = {3{p_qt_reg[4] && p_qt_reg[3]}} & p_qt_reg[2:0];
// the frame's IPv4 candidate (below) as of this beat, registered with it
reg               p_ip_cand_reg = 1'b0;

// th[v] = (bytes of the window up to and including this beat) >= v
function [WIN_BYTES:0] beat_th(input [IDX_W-1:0] idx, input [KEEP_WIDTH-1:0] keep);
    integer v;
    begin
        beat_th[0] = 1'b1;
        for (v = 1; v <= WIN_BYTES; v = v + 1) begin
            beat_th[v] = idx > (v - 1) / KEEP_WIDTH
                         || (idx == (v - 1) / KEEP_WIDTH && keep[(v - 1) % KEEP_WIDTH]);
        end
    end
endfunction

// The IPv4 flags of the eight places l3 = 14 + 4*q (q in 0..7) that need no length: {first
// fragment, UDP, TCP, version 4 with IHL >= 5} per place, 4 bits at 4*q. Each field (the
// version/IHL byte, the protocol byte, the two fragment bytes) lies in one beat; stage P
// decodes, for every window beat b, the fields that lie in beat b from the beat's data as if it
// were beat b (wp_ipv4_dec on the header bytes that beat would hold), 0 for the others; each
// beat b's own decode is kept (in ipf_reg, loaded as beat b enters stage P) and stage A ORs
// them (the fields of beats the frame does not have are
// stale, but then the frame does not hold that IPv4 header, which stage B's length checks
// catch).
localparam NPL = 8;
wire [WIN_BEATS*4*NPL-1:0] s_ipf;  // beat b's fields, at 4*NPL*b
genvar gb, gp, gj;
generate
    for (gb = 0; gb < WIN_BEATS; gb = gb + 1) begin : g_ipf_beat
        for (gp = 0; gp < NPL; gp = gp + 1) begin : g_ipf_place
            localparam L3 = `WP_ETH_HDR_LEN + 4 * gp;
            wire [`WP_IPV4_HDR_LEN*8-1:0] h;
            for (gj = 0; gj < `WP_IPV4_HDR_LEN; gj = gj + 1) begin : g_byte
                if ((L3 + gj) / KEEP_WIDTH == gb) begin : g_in
                    assign h[8*gj +: 8] = s_tdata[8*((L3 + gj) % KEEP_WIDTH) +: 8];
                end else begin : g_out
                    assign h[8*gj +: 8] = 8'd0;
                end
            end
            wire        ver_ok;
            wire [12:0] frag;
            wire [7:0]  proto;
            wp_ipv4_dec ipv4_dec_inst (
                .ip(h), .ver_ok(ver_ok), .ihl(), .ver_ihl(), .tos(), .total_len(),
                .frag_off(frag), .ttl(), .proto(proto), .csum(), .src(), .dst()
            );
            // the fragment offset's two bytes start at an even byte: both in one beat
            localparam IN_V = L3 / KEEP_WIDTH == gb;
            localparam IN_P = (L3 + `WP_IPV4_PROTO_OFF) / KEEP_WIDTH == gb;
            localparam IN_F = (L3 + `WP_IPV4_FRAG_OFF) / KEEP_WIDTH == gb;
            assign s_ipf[gb*4*NPL + 4*gp +: 4] = {IN_F && frag == 13'd0,
                IN_P && proto == `WP_IP_PROTO_UDP, IN_P && proto == `WP_IP_PROTO_TCP,
                IN_V && ver_ok};
        end
    end
endgenerate

// this beat's thermometer (stage P registers it; the IPv4 candidate below reads two bits)
wire [WIN_BYTES:0] s_th = beat_th(beat_idx_reg, s_tkeep);

integer k;
always @(posedge clk) begin
    p_beat_reg <= s_beat;
    p_trig_reg <= 1'b0;
    // loaded every cycle, beat or not: read only through win_cur, a_len and the trigger's
    // registers, all loaded on p_beat_reg or p_trig_reg (a trigger is a beat). Under s_beat
    // their ~300 enables hung on the stream's handshake (in wp_nat: the frame FIFO's full
    // flag -> s_beat -> stage P's enables was the ECP5 path at db94256, 86 % routing)
    p_data_reg <= s_tdata;
    p_idx_reg <= beat_idx_reg;
    p_cnt_reg <= s_cnt;
    p_th_reg <= s_th;
    // the beat's decode and slot, also every cycle: the slot is the one the next beat goes to,
    // and the decode is read (p_dec, dec0_reg, the q0 copies) only while p_slot_reg[0] says
    // stage P holds beat 0 or the cycle before it, the last such load being beat 0's
    p_dec_reg <= {s_eth_ipv4, s_nsh, s_hdr_ok, s_ip_next, s_hdr_ip_ok, s_nsh_len[2:0]};
    p_slot_reg <= in_slot_reg[WIN_BEATS-1:0];
    if (s_beat) begin
        // the window is complete at its last beat, or at the frame's last beat before that
        p_trig_reg <= in_slot_reg[WIN_BEATS-1] || (s_tlast && !in_slot_reg[WIN_BEATS]
            && !in_slot_reg[WIN_BEATS-1]);
        if (beat_idx_reg != WIN_BEATS) beat_idx_reg <= beat_idx_reg + 1;
        if (!in_slot_reg[WIN_BEATS]) in_slot_reg <= in_slot_reg << 1;
        if (s_tlast) begin
            beat_idx_reg <= 0;
            in_slot_reg <= 1;
        end
    end
    if (rst) begin
        p_beat_reg <= 1'b0;
        p_trig_reg <= 1'b0;
        beat_idx_reg <= 0;
        in_slot_reg <= 1;
    end
end

// The beat goes to its slot, a select per window bit (not a variable part-select, which can
// map to a shifter across the whole window). The slot in SLOT_COPIES registers (p_slot_reg's
// next value), copy c selecting the bits c*DATA_WIDTH/SLOT_COPIES.. of each slot: one
// p_slot_reg bit drove a slot's 256 selects (its 3.15 ns net was wp_fw's ECP5 path at
// 913467f, seed 3).
localparam SLOT_COPIES = 4;
wire [SLOT_COPIES*WIN_BEATS-1:0] p_slot_copy;
wp_reg_copies #(.WIDTH(WIN_BEATS), .COPIES(SLOT_COPIES)) slot_copies_inst (
    .clk(clk), .rst(1'b0), .en(1'b1), .d(in_slot_reg[WIN_BEATS-1:0]), .q(p_slot_copy)
);

function [WIN-1:0] win_add(input [WIN-1:0] win, input [SLOT_COPIES*WIN_BEATS-1:0] slot,
    input [DATA_WIDTH-1:0] data);
    integer k, i;
    begin
        win_add = win;
        for (k = 0; k < WIN_BEATS; k = k + 1) begin
            for (i = 0; i < DATA_WIDTH; i = i + 1) begin
                if (slot[(i * SLOT_COPIES / DATA_WIDTH) * WIN_BEATS + k])
                    win_add[k*DATA_WIDTH + i] = data[i];
            end
        end
    end
endfunction

wire [WIN-1:0] win_cur = win_add(win_reg, p_slot_copy, p_data_reg);

// stage A: the complete window, its byte count and that count's thermometer
reg                 a_valid_reg = 1'b0;
reg [WIN-1:0]       a_win_reg = 0;
reg [7:0]           a_len_reg = 0;
reg [WIN_BYTES:0]   a_th_reg = 0;
reg [NSH_D_W-1:0]   dec0_reg = 0;  // the decode of the frame's first beat
reg [NSH_D_W-1:0]   a_dec_reg = 0;
reg [2:0]           a_q_reg = 0;
reg [1:0]           a_ihl_lo_reg = 0;  // place q's IHL[1:0] (stage B copies it, below)
wire [2*NPL-1:0]    p_ihl_lo;  // each place's IHL[1:0] as stage P holds it (g_l3's ihl_in)
// q again in Q_COPIES registers, each selecting 1/Q_COPIES of stage B's shift (one register
// driving all 624 selects was the parser's slowest net)
localparam Q_COPIES = 8;
wire [3*Q_COPIES-1:0] a_q_copy;
wp_reg_copies #(.WIDTH(3), .COPIES(Q_COPIES)) q_copies_inst (
    .clk(clk), .rst(1'b0), .en(p_trig_reg), .d(p_q), .q(a_q_copy)
);
genvar gc;
// each beat's IPv4 fields of the frame so far: beat b's loaded as it enters stage P and kept,
// so in stage P they are the current beat's and the earlier beats' (one register per beat: it
// was stage P's copy of every beat and a held one, picked by the beat's slot, one select more
// on the path to a_ipf_reg)
reg [WIN_BEATS*4*NPL-1:0] ipf_reg = 0;
reg [4*NPL-1:0]     a_ipf_reg = 0;

function [4*NPL-1:0] ipf_or(input [WIN_BEATS*4*NPL-1:0] f);
    integer b;
    begin
        ipf_or = 0;
        for (b = 0; b < WIN_BEATS; b = b + 1) ipf_or = ipf_or | f[b*4*NPL +: 4*NPL];
    end
endfunction

// Loaded while the slot is the next beat's, beat or not (the last load before the slot moves
// on is the beat's; a slot the frame does not reach holds an idle cycle's data, as stale as
// an earlier frame's). Under s_beat their enables hung on the stream's handshake: in
// wp_waypoint, wp_nat's frame FIFO full flag -> s_beat -> these enables was the path at
// 99a5deb (8.09 ns, 91 % routing).
always @(posedge clk) begin
    for (k = 0; k < WIN_BEATS; k = k + 1) begin
        if (in_slot_reg[k]) ipf_reg[k*4*NPL +: 4*NPL] <= s_ipf[k*4*NPL +: 4*NPL];
    end
end

// the first beat's decode: stage P's own for beat 0, else the one kept from beat 0
wire [NSH_D_W-1:0]  p_dec = p_slot_reg[0] ? p_dec_full : dec0_reg;
// the IPv4 header's place q (the NSH length for a valid NSH header with next protocol IPv4
// held by the frame, else 0): worked out as beat 0 leaves stage P and kept (dec0_q_reg), so
// the q copies load from a register. At a trigger after beat 0 the frame holds all 22
// Ethernet + NSH bytes; at a trigger on beat 0 (a frame of at most 32 bytes, which never holds
// an IPv4 header: l3 + 20 >= 34) q is the previous frame's and nothing reads it (the places'
// IPv4 flags are 0, the candidate being 0 on a first beat; l3 and the fields from the shifted
// header mean nothing without IPv4). From stage P's decode of beat 0 (the terms ANDed, then
// the thermometer, into the copies) it was wp_hdr_parse's path at ee2f544: 3 levels, 4.46 ns.
reg  [2:0]          dec0_q_reg = 3'd0;
wire [2:0]          p_q = dec0_q_reg;
// the frame's IPv4 candidate: plain IPv4, or a valid NSH header with next protocol IPv4, held
// by the frame; worked out as the trigger beat enters stage P (stage A's flags AND it into the
// places' IPv4 bits: from a register of its own it is one input of their last level). For a
// beat after the frame's first, the first beat's decode is p_dec a cycle early (stage P holds
// the previous beat of the same frame: beat 0 itself, or one after it, when dec0_reg holds beat
// 0's), and the thermometer's bits come from the beat index and tkeep (beat_th). A frame's
// first beat gives 0: a frame that ends there (at most 32 bytes) never holds an IPv4 header
// (l3 + 20 >= 34 bytes), and every flag the candidate is ANDed into is ANDed again in stage B
// with a length check at l4 >= l3 + 20 or later (l3_checks), which such a frame fails.
// A beat after the first brings the byte count past 32 * (its index) >= KEEP_WIDTH, so with
// the Ethernet + NSH headers inside the first beat (KEEP_WIDTH >= 22: 256 bits) those
// thermometer bits are constant ones here, and "after the first" is in_slot_reg's bit 0 (the
// index's compare with 0 and the thermometer's, on the trigger's decode, had made this 3.5
// levels deep, wp_hdr_parse's deepest path at ff18530)
wire s_has_eth = (`WP_ETH_HDR_LEN - 1) / KEEP_WIDTH == 0 ? 1'b1 : s_th[`WP_ETH_HDR_LEN];
wire s_has_nsh = (`WP_NSH_END - 1) / KEEP_WIDTH == 0 ? 1'b1 : s_th[`WP_NSH_END];
wire s_ip_cand = !in_slot_reg[0] && ((s_has_eth && p_dec[NSH_D_W-1])
                                     || (s_has_nsh && p_dec[NSH_D_W-4]));

// every cycle: read only at a trigger, which is a beat
always @(posedge clk) begin
    p_ip_cand_reg <= s_ip_cand;
end

// each place's flags {first, udp, tcp, ver_ok} as stage B uses them: {first fragment,
// candidate and version/IHL valid and UDP and first, the same for TCP, candidate and
// version/IHL valid}
function [4*NPL-1:0] ipf_gate(input [4*NPL-1:0] f, input ipc);
    integer q;
    reg first, udp, tcp, ver_ok;
    begin
        for (q = 0; q < NPL; q = q + 1) begin
            {first, udp, tcp, ver_ok} = f[4*q +: 4];
            ipf_gate[4*q +: 4] = {first, ipc && ver_ok && udp && first,
                                  ipc && ver_ok && tcp && first, ipc && ver_ok};
        end
    end
endfunction

// place q's IHL[1:0], as 2:1 selects by q's bits
function [1:0] pick_ihl_lo(input [15:0] lo, input [2:0] q);
    reg [7:0] m1;
    reg [3:0] m2;
    integer k;
    begin
        for (k = 0; k < 4; k = k + 1) m1[2*k +: 2] = q[0] ? lo[4*k+2 +: 2] : lo[4*k +: 2];
        for (k = 0; k < 2; k = k + 1) m2[2*k +: 2] = q[1] ? m1[4*k+2 +: 2] : m1[4*k +: 2];
        pick_ihl_lo = q[2] ? m2[3:2] : m2[1:0];
    end
endfunction

always @(posedge clk) begin
    a_valid_reg <= 1'b0;
    if (p_beat_reg) win_reg <= win_cur;
    // while stage P holds beat 0 or waits for it (the last load is beat 0's)
    if (p_slot_reg[0]) begin
        dec0_reg <= p_dec_full;
        dec0_q_reg <= p_l3_q;
    end
    if (p_trig_reg) begin
        a_valid_reg <= 1'b1;
        a_win_reg <= win_cur;
        // the trigger is in the window (p_idx_reg < WIN_BEATS): 32 * index + this beat's bytes
        a_len_reg <= p_idx_reg * KEEP_WIDTH + p_cnt_reg;
        a_th_reg <= p_th_reg;
        a_dec_reg <= p_dec;
        a_q_reg <= p_q;
        a_ihl_lo_reg <= pick_ihl_lo(p_ihl_lo, p_q);
        a_ipf_reg <= ipf_gate(ipf_or(ipf_reg), p_ip_cand_reg);
    end
    if (rst) a_valid_reg <= 1'b0;
end

// stage B: Ethernet + NSH (the rules every block shares: wp_nsh_dec). The header bytes are in
// the frame's first beat: stage P decoded them as if the frame held them (wp_nsh_dec with
// has_eth and has_nsh set), stage A kept that decode of beat 0; here the byte count's
// thermometer says whether the frame holds them. wp_nsh_dec's outputs are those flags ANDed
// with has_eth (eth_ipv4, nsh) or with has_eth and has_nsh (nsh_valid, nsh_ip), so this is its
// decode of the whole frame.
wire        a_has_eth = a_th_reg[`WP_ETH_HDR_LEN];
wire        a_has_nsh = a_th_reg[`WP_NSH_END];  // implies a_has_eth
wire        a_nsh = a_has_eth && a_dec_reg[NSH_D_W-2];
wire        a_nsh_valid = a_has_nsh && a_dec_reg[NSH_D_W-3];
wire [23:0] a_spi;
wire [7:0]  a_si;

wp_nsh_dec nsh_fields_inst (
    .hdr(a_win_reg[`WP_NSH_END*8-1:0]), .has_eth(1'b1), .has_nsh(1'b1),
    .eth_type(), .eth_ipv4(), .nsh(), .nsh_valid(), .nsh_ip(), .hdr_ok(), .ip_ok(),
    .ip_next(), .hdr_ip_ok(), .ip_cand(),
    .nsh_len(), .nsh_md(), .nsh_next(), .spi(a_spi), .si(a_si), .key(), .l3_q()
);

reg                 b_valid_reg = 1'b0;
reg [7:0]           b_len_reg = 0;
reg                 b_nsh_reg = 1'b0;
reg                 b_nsh_valid_reg = 1'b0;
reg [23:0]          b_spi_reg = 0;
reg [7:0]           b_si_reg = 0;
reg [2:0]           b_q_reg = 0;
wire [IP_BYTES*8-1:0] b_ip_reg;  // the IPv4 header at l3 = 14 + 4*q and what follows it
wire [IP_BYTES*8-1:0] b_ip_d;    // the same, as stage A shifts it (b_ip_reg's input)

// Beside the NSH decode: the IPv4 header starts at l3 = 14 + 4*q, q in 0..7 (the NSH length
// or 0), so for each q its version/IHL byte sits at a fixed place of the window. What stages C
// and D need from that header's IHL, protocol and fragment offset is worked out here for all
// eight places, from registers only and in parallel with the decode of q; stage C picks one
// place with q (a select, where a shift, then an add, then a compare had been its slowest path)
// and uses them as they are. Per place (bit 0 first): IPv4 header usable (an IPv4 candidate,
// version 4, IHL >= 5, len >= l4); first fragment; the L4 ports usable (and TCP or UDP, first
// fragment, len >= l4 + 4); the L4 checksum usable (TCP or UDP, first, held); l4. The
// candidate, TCP / UDP and first-fragment terms come ANDed from stage A. The length
// checks read the byte count's thermometer at l4 + c (selects by the IHL: no adder, no
// compare; below).
localparam NQ = 8;
localparam QC_W = 4 + 8;

// The length checks in two steps. Stage A (at the trigger, from stage P's thermometer and the
// place's IHL nibble as it enters the window) keeps, per check c and per j = IHL[1:0], the
// thermometer bit at l4 + off_c for IHL = 4*IHL[3:2] + j: a 4:1 select by IHL[3:2]. Stage B
// selects by IHL[1:0] (4:1) and ANDs the flags. Checks: c = 0 the header held (len >= l4), 1
// the L4 ports, 2 the UDP checksum, 3 the TCP checksum (len >= l4 + off + 2).
function integer chk_off(input integer c);
    begin
        chk_off = c == 0 ? 0 : c == 1 ? `WP_L4_DPORT_OFF + 2 : c == 2 ? `WP_UDP_CSUM_OFF + 2
                  : `WP_TCP_CSUM_OFF + 2;
    end
endfunction

function [15:0] l3_pre(input [WIN_BYTES:0] th, input [1:0] hi, input integer q);
    integer c, j, h;
    reg [3:0] v;
    begin
        for (c = 0; c < 4; c = c + 1) begin
            for (j = 0; j < 4; j = j + 1) begin
                for (h = 0; h < 4; h = h + 1) begin
                    v[h] = th[`WP_ETH_HDR_LEN + 4 * q + 4 * (4 * h + j) + chk_off(c)];
                end
                l3_pre[4*c + j] = hi[1] ? (hi[0] ? v[3] : v[2]) : (hi[0] ? v[1] : v[0]);
            end
        end
    end
endfunction

// v[s] as 2:1 selects by the bits of s (the shape of ECP5's LUT4 / PFUMX select; a compare per
// value maps deeper)
function sel4(input [3:0] v, input [1:0] s);
    begin
        sel4 = s[1] ? (s[0] ? v[3] : v[2]) : (s[0] ? v[1] : v[0]);
    end
endfunction

function [QC_W-1:0] l3_checks(input [3:0] flags, input [3:0] ihl, input [15:0] pre,
    input integer q);
    reg ver_ok, tcp_f, udp_f, first;
    reg [7:0] l4_b;
    begin
        {first, udp_f, tcp_f, ver_ok} = flags;
        // len >= l3 + 20 is implied: ver_ok (IHL >= 5) puts l4 at l3 + 20 or later
        l4_b = `WP_ETH_HDR_LEN + 4 * q + {2'd0, ihl, 2'd0};
        // the rooms imply held (they are later bytes)
        l3_checks = {l4_b,
                     (tcp_f && sel4(pre[12 +: 4], ihl[1:0]))
                         || (udp_f && sel4(pre[8 +: 4], ihl[1:0])),
                     (tcp_f || udp_f) && sel4(pre[4 +: 4], ihl[1:0]), first,
                     ver_ok && sel4(pre[0 +: 4], ihl[1:0])};
    end
endfunction

wire [NQ*QC_W-1:0] a_l3_checks;
genvar gq;
generate
    for (gq = 0; gq < NQ; gq = gq + 1) begin : g_l3
        // the place's IHL nibble in a register of its own (a_win_reg's copy also feeds the
        // shift and the NSH decode), and the checks' first step. The nibble as win_cur holds
        // it in stage P: loaded while slot BQ is the next beat's (as ipf_reg: the last load is
        // beat BQ's) and kept through the later beats (one register: it was stage P's copy of
        // every beat's nibble and the window's, picked by the beat's slot, one select more on
        // the path to pre)
        localparam POS = (`WP_ETH_HDR_LEN + 4 * gq) * 8;
        localparam BQ = POS / DATA_WIDTH;
        reg [3:0] ihl_in = 4'd0;
        (* keep *)
        always @(posedge clk) begin
            if (in_slot_reg[BQ]) ihl_in <= s_tdata[POS % DATA_WIDTH +: 4];
        end
        reg [3:0] ihl = 4'd0;
        reg [15:0] pre = 16'd0;
        (* keep *)
        always @(posedge clk) begin
            if (p_trig_reg) begin
                ihl <= ihl_in;
                pre <= l3_pre(p_th_reg, ihl_in[3:2], gq);
            end
        end
        assign a_l3_checks[gq*QC_W +: QC_W] = l3_checks(a_ipf_reg[4*gq +: 4], ihl, pre, gq);
        assign p_ihl_lo[2*gq +: 2] = ihl_in[1:0];
    end
endgenerate

reg [NQ*QC_W-1:0] b_l3_checks_reg = 0;

// one place's checks by q, as 2:1 selects by q's bits (a variable part-select becomes a shift
// with 'x fill in yosys, which the formal flow's AIG rejects; a compare per place, a chain)
function [QC_W-1:0] pick_checks(input [NQ*QC_W-1:0] all, input [2:0] q);
    reg [4*QC_W-1:0] m1;
    reg [2*QC_W-1:0] m2;
    integer k;
    begin
        for (k = 0; k < 4; k = k + 1) begin
            m1[k*QC_W +: QC_W] = q[0] ? all[(2*k+1)*QC_W +: QC_W] : all[2*k*QC_W +: QC_W];
        end
        for (k = 0; k < 2; k = k + 1) begin
            m2[k*QC_W +: QC_W] = q[1] ? m1[(2*k+1)*QC_W +: QC_W] : m1[2*k*QC_W +: QC_W];
        end
        pick_checks = q[2] ? m2[QC_W +: QC_W] : m2[0 +: QC_W];
    end
endfunction

// place q's TCP flag of stage A's {first, udp, tcp, ver_ok}, the same way
function pick_tcp(input [4*NPL-1:0] f, input [2:0] q);
    reg [3:0] m1;
    reg [1:0] m2;
    integer k;
    begin
        for (k = 0; k < 4; k = k + 1) m1[k] = q[0] ? f[4*(2*k+1) + 1] : f[4*(2*k) + 1];
        for (k = 0; k < 2; k = k + 1) m2[k] = q[1] ? m1[2*k+1] : m1[2*k];
        pick_tcp = q[2] ? m2[1] : m2[0];
    end
endfunction

// stage C's candidate words (below): 4 per group of 4, one copy of IHL[1:0] per word (with 4
// copies, ~150 loads each: one such net, 2.33 ns, was wp_hdr_parse's path at ae4b96e, seed 1)
localparam IHL_COPIES = 16;
wire [2*IHL_COPIES-1:0] b_ihl_lo;

// the header shifted by 4*q bytes, as three levels of 2:1 selects (16, 8, then 4 bytes, by
// q[2], q[1], q[0]: the levels' results are shared between output bytes), each level's
// selects driven by copies of q, a copy per run of bytes. The first level is stage A's, as
// the window is written, by q0: the q of the frame's first beat (its decode as stage P
// registered it), set as beat 0 enters the window. q0 is the trigger's q for every frame of
// two beats or more (beat 0 then holds all 22 Ethernet + NSH bytes); a one-beat frame (at
// most 32 bytes) never holds an IPv4 header (l3 + 20 >= 34 bytes), and nothing reads its
// shifted header (the fields that come from it are meaningless without IPv4, and the ports
// are zeroed).
localparam SH1 = IP_BYTES + 12;  // bytes of level 1's result (the header shifted by 16*q[2])
localparam SH2 = IP_BYTES + 4;   // level 2's (shifted by 8*q[1] more)
wire [SH1*8-1:0] sh1;
wire [SH2*8-1:0] sh2;
wire [Q_COPIES-1:0] q0_hi;  // copies of q0[2]
wp_reg_copies #(.WIDTH(1), .COPIES(Q_COPIES)) q0_copies_inst (
    .clk(clk), .rst(1'b0), .en(p_slot_reg[0]), .d(p_l3_q[2]), .q(q0_hi)
);
genvar gy;
generate
    for (gy = 0; gy < SH1; gy = gy + 1) begin : g_sh1
        reg [7:0] sh1_reg = 8'd0;
        always @(posedge clk) begin
            if (p_trig_reg) begin
                sh1_reg <= q0_hi[gy * Q_COPIES / SH1]
                    ? win_cur[8*(`WP_ETH_HDR_LEN + gy + 16) +: 8]
                    : win_cur[8*(`WP_ETH_HDR_LEN + gy) +: 8];
            end
        end
        assign sh1[8*gy +: 8] = sh1_reg;
    end
    for (gy = 0; gy < SH2; gy = gy + 1) begin : g_sh2
        assign sh2[8*gy +: 8] = a_q_copy[3*(gy * Q_COPIES / SH2) + 1]
            ? sh1[8*(gy + 8) +: 8] : sh1[8*gy +: 8];
    end
    for (gy = 0; gy < IP_BYTES; gy = gy + 1) begin : g_shift
        reg [7:0] byte_reg = 8'd0;
        assign b_ip_d[8*gy +: 8] = a_q_copy[3*(gy * Q_COPIES / IP_BYTES)]
            ? sh2[8*(gy + 4) +: 8] : sh2[8*gy +: 8];
        always @(posedge clk) begin
            byte_reg <= b_ip_d[8*gy +: 8];
        end
        assign b_ip_reg[8*gy +: 8] = byte_reg;
    end
endgenerate
// the IHL's low two bits (byte 0 of the shifted header) again in IHL_COPIES registers: stage
// C's 4:1 word selects by them. Copies of a_ihl_lo_reg (place q's, picked as the trigger leaves
// stage P): from the shifted header's byte 0, two selects by q copies feeding the twelve
// copies, they were wp_hdr_parse's path at aa99be8, seed 3 (3.78 ns, a 1.24 ns net from the q
// copy and a 1.05 ns one to the copies)
wp_reg_copies #(.WIDTH(2), .COPIES(IHL_COPIES)) ihl_copies_inst (
    .clk(clk), .rst(1'b0), .en(1'b1), .d(a_ihl_lo_reg), .q(b_ihl_lo)
);

always @(posedge clk) begin
    b_l3_checks_reg <= a_l3_checks;
    b_valid_reg <= a_valid_reg;
    b_len_reg <= a_len_reg;
    b_nsh_reg <= a_nsh;
    b_nsh_valid_reg <= a_nsh_valid;
    b_spi_reg <= a_spi;
    b_si_reg <= a_si;
    b_q_reg <= a_q_reg;
    if (rst) b_valid_reg <= 1'b0;
end

// stage C: the IPv4 header at l3 = 14 + 4*q, shifted there by stage B (with q registered from
// stage P: the shift's select nets start at a register of their own, not at the one that
// picks the per-place checks below)
wire [IP_BYTES*8-1:0] b_ip = b_ip_reg;
wire [7:0]  b_l3 = `WP_ETH_HDR_LEN + {3'd0, b_q_reg, 2'd0};
wire [7:0]  b_proto;
wire [15:0] b_ip_csum;
wire [31:0] b_src, b_dst;

wp_ipv4_dec ipv4_dec_inst (
    .ip(b_ip[`WP_IPV4_HDR_LEN*8-1:0]),
    .ver_ok(), .ihl(), .ver_ihl(), .tos(), .total_len(), .frag_off(),
    .ttl(), .proto(b_proto), .csum(b_ip_csum), .src(b_src), .dst(b_dst)
);

wire [QC_W-1:0] b_chk = pick_checks(b_l3_checks_reg, b_q_reg);
wire        b_ipv4 = b_chk[0];
wire        b_first = b_chk[1];
wire        b_ports = b_chk[2];
wire        b_csum_ok = b_chk[3];
wire [7:0]  b_l4 = b_chk[4 +: 8];
// Stage D's words, in two steps: here a 4:1 select by IHL[1:0] of each 16-bit word at
// l4 + off for l4 = l3 + 4*(4*g + IHL[1:0]), g = IHL[3:2] in 0..3 (four candidates per word,
// selected by copies of IHL[1:0] registered in stage B; the UDP and the TCP checksum are two
// words); stage D picks the candidate by a one-hot of IHL[3:2] registered here, for the
// checksum of {TCP, IHL[3:2]}. No stage has a 16:1 select; stage D only an AND-OR of four, or
// eight for the checksum (16 inputs: two levels, as four). The TCP / UDP choice in stage C,
// an 8:1 select by {TCP, IHL[1:0]} (11 inputs), was wp_hdr_parse's path at 784c3fc, seed 1
// (3 levels).
function [15:0] l4_cand(input [IP_BYTES*8-1:0] ip, input [1:0] lo, input integer g,
    input integer off);
    integer i;
    reg [63:0] w;
    begin
        for (i = 0; i < 4; i = i + 1) begin
            w[16*i +: 16] = {ip[8*(4 * (4 * g + i) + off) +: 8], ip[8*(4 * (4 * g + i) + off + 1) +: 8]};
        end
        l4_cand = lo[1] ? (lo[0] ? w[63:48] : w[47:32]) : (lo[0] ? w[31:16] : w[15:0]);
    end
endfunction

// candidate words per group: sport, dport, the UDP checksum, the TCP checksum
localparam NW = 4;
wire [4*NW*16-1:0] b_cand;  // group g's word w at 16*(NW*g + w)
genvar gg, gw;
generate
    for (gg = 0; gg < 4; gg = gg + 1) begin : g_cand_grp
        for (gw = 0; gw < NW; gw = gw + 1) begin : g_cand_word
            localparam OFF = gw == 0 ? `WP_L4_SPORT_OFF : gw == 1 ? `WP_L4_DPORT_OFF
                             : gw == 2 ? `WP_UDP_CSUM_OFF : `WP_TCP_CSUM_OFF;
            localparam CP = (NW * gg + gw) * IHL_COPIES / (4 * NW);
            assign b_cand[16*(NW*gg + gw) +: 16] = l4_cand(b_ip, b_ihl_lo[2*CP +: 2], gg, OFF);
        end
    end
endgenerate

reg                 c_valid_reg = 1'b0;
reg [7:0]           c_len_reg = 0;
reg                 c_nsh_reg = 1'b0;
reg                 c_nsh_valid_reg = 1'b0;
reg [23:0]          c_spi_reg = 0;
reg [7:0]           c_si_reg = 0;
reg                 c_ipv4_reg = 1'b0;
reg [7:0]           c_l3_reg = 0;
reg [7:0]           c_l4_reg = 0;
reg [7:0]           c_proto_reg = 0;
reg [31:0]          c_src_reg = 0;
reg [31:0]          c_dst_reg = 0;
reg [15:0]          c_ip_csum_reg = 0;
reg                 c_first_reg = 1'b0;
reg                 c_ports_reg = 1'b0;
reg                 c_csum_ok_reg = 1'b0;
reg [4*NW*16-1:0]   c_cand_reg = 0;
// stage D's word selects, one-hot by IHL[3:2] (for the checksum's two words, by the place's TCP
// flag too: c_usel for the UDP word, c_tsel for the TCP word), in SEL_COPIES registers, copy k
// selecting bits 16/SEL_COPIES*k.. of every word (one register driving a whole word's selects was
// the waypoint's slowest net: 5.2 ns to 16 loads; with four copies, one checksum select's 1.74 ns
// net was wp_hdr_parse's path at e3ae9ea, seed 2). Each copy works its select out from a copy of
// its own of the header's IHL[3:2] (loaded beside b_ip_reg), so a copy's logic sits beside it:
// computed once from b_ip_reg and fanned out to the copies, they were wp_nat's ECP5 path at 7d71866
// (3 levels, 5.53 ns, 83 % routing) and the waypoint's at a5a84e0 (9.11 ns, 88 % routing).
localparam SEL_COPIES = 8;
localparam SEL_BITS = 16 / SEL_COPIES;
wire [4*SEL_COPIES-1:0] c_psel;
wire [4*SEL_COPIES-1:0] c_usel;
wire [4*SEL_COPIES-1:0] c_tsel;
wire [SEL_COPIES-1:0]   c_pgate;
generate
    for (gc = 0; gc < SEL_COPIES; gc = gc + 1) begin : g_sel_copy
        reg [3:0] psel_reg = 4'd0;
        reg [3:0] usel_reg = 4'd0;
        reg [3:0] tsel_reg = 4'd0;
        reg       ports_reg = 1'b0;
        reg [1:0] ihl_hi_reg = 2'd0;  // b_ip_reg's IHL[3:2], this copy's own
        reg [2:0] q_reg = 3'd0;       // b_q_reg, this copy's own
        // place q's TCP flag (stage A's: IPv4 candidate, version/IHL valid, TCP, first
        // fragment), this copy's own: the checksum is read only when hdr_l4_csum_ok says TCP
        // or UDP, first fragment, held
        reg       tcp_reg = 1'b0;
        wire [3:0] grp = 4'b0001 << ihl_hi_reg;
        wire [QC_W-1:0] chk = pick_checks(b_l3_checks_reg, q_reg);
        (* keep *)
        always @(posedge clk) begin
            ihl_hi_reg <= b_ip_d[3:2];
            q_reg <= a_q_reg;
            tcp_reg <= pick_tcp(a_ipf_reg, a_q_reg);
        end
        (* keep *)
        always @(posedge clk) begin
            psel_reg <= grp;
            usel_reg <= tcp_reg ? 4'd0 : grp;
            tsel_reg <= tcp_reg ? grp : 4'd0;
            // this copy's "the frame has ports", gating bits SEL_BITS*k.. of sport / dport
            // (one c_ports_reg gating all 32 bits was the waypoint's ECP5 path at 4f0fa3d, one
            // 3.37 ns net; folding it into psel_reg put the ports' check in front of the
            // selects, wp_hdr_parse's own path at 9529019, 6 levels). Picked from the places'
            // checks by the copy's own q, so the pick is the copy's own logic, beside it (the
            // one pick by b_q_reg, fanned out to the eight copies, was wp_hdr_parse's ECP5 path
            // at b3b9ce5, seeds 2 and 3: 3 levels and a 1.26 ns net)
            ports_reg <= chk[2];
        end
        assign c_psel[4*gc +: 4] = psel_reg;
        assign c_usel[4*gc +: 4] = usel_reg;
        assign c_tsel[4*gc +: 4] = tsel_reg;
        assign c_pgate[gc] = ports_reg;
    end
endgenerate

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
    c_proto_reg <= b_proto;
    c_src_reg <= b_src;
    c_dst_reg <= b_dst;
    c_ip_csum_reg <= b_ip_csum;
    c_first_reg <= b_first;
    c_ports_reg <= b_ports;
    c_csum_ok_reg <= b_csum_ok;
    c_cand_reg <= b_cand;
    if (rst) c_valid_reg <= 1'b0;
end

// stage D: L4 header at l4 = l3 + 4*ihl. The ports and the checksum: AND-ORs of stage C's
// candidates with its one-hot selects by IHL[3:2]; bits SEL_BITS*k.. of a word by copy k of
// the selects
function [15:0] l4_word(input [4*NW*16-1:0] cand, input [4*SEL_COPIES-1:0] sel,
    input integer w);
    integer g, b;
    begin
        l4_word = 0;
        for (g = 0; g < 4; g = g + 1) begin
            for (b = 0; b < 16; b = b + 1) begin
                l4_word[b] = l4_word[b] | (sel[4*(b / SEL_BITS) + g] && cand[16*(NW*g + w) + b]);
            end
        end
    end
endfunction

// the ports' gate copies, each widened to its SEL_BITS bits of a 16-bit word
function [15:0] gate_bits(input [SEL_COPIES-1:0] gate);
    integer b;
    begin
        for (b = 0; b < 16; b = b + 1) gate_bits[b] = gate[b / SEL_BITS];
    end
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
    hdr_ports <= c_ports_reg;
    hdr_sport <= l4_word(c_cand_reg, c_psel, 0) & gate_bits(c_pgate);
    hdr_dport <= l4_word(c_cand_reg, c_psel, 1) & gate_bits(c_pgate);
    hdr_l4_csum_ok <= c_csum_ok_reg;
    hdr_l4_csum <= l4_word(c_cand_reg, c_usel, 2) | l4_word(c_cand_reg, c_tsel, 3);
    if (rst) hdr_valid <= 1'b0;
end

endmodule

`resetall
