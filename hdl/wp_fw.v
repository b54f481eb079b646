// wp_fw: firewall PE. NUM_RULES register-programmed 5-tuple rules on the inner IPv4 packet
// (plain Ethernet + IPv4, or Ethernet + NSH + IPv4), lowest index wins, permit/deny, default
// action, non-IP action, per-rule hit counters. Permitted valid-NSH frames leave with SI - 1
// (when SI > 0). One beat per cycle; registers per docs/regmap.md (block wp_fw).

`resetall
`timescale 1ns / 1ps
`default_nettype none

`include "wp_regmap.vh"
`include "wp_frame.vh"

module wp_fw #(
    // Number of rules implemented (1..64)
    parameter NUM_RULES = 16,
    // Width of tdata (bits)
    parameter DATA_WIDTH = 256,
    // Width of tuser (bits)
    parameter USER_WIDTH = `WP_TUSER_WIDTH,
    // log2 of the frame FIFO depth in beats (must exceed the decision latency)
    parameter FIFO_DEPTH_LOG2 = 4
) (
    input  wire                    clk,
    input  wire                    rst,

    input  wire [DATA_WIDTH-1:0]   s_axis_tdata,
    input  wire [DATA_WIDTH/8-1:0] s_axis_tkeep,
    input  wire [USER_WIDTH-1:0]   s_axis_tuser,
    input  wire                    s_axis_tlast,
    input  wire                    s_axis_tvalid,
    output wire                    s_axis_tready,

    output wire [DATA_WIDTH-1:0]   m_axis_tdata,
    output wire [DATA_WIDTH/8-1:0] m_axis_tkeep,
    output wire [USER_WIDTH-1:0]   m_axis_tuser,
    output wire                    m_axis_tlast,
    output wire                    m_axis_tvalid,
    input  wire                    m_axis_tready,

    input  wire [`WP_BLOCK_ADDR_WIDTH-1:0] s_axil_awaddr,
    input  wire [2:0]              s_axil_awprot,
    input  wire                    s_axil_awvalid,
    output wire                    s_axil_awready,
    input  wire [31:0]             s_axil_wdata,
    input  wire [3:0]              s_axil_wstrb,
    input  wire                    s_axil_wvalid,
    output wire                    s_axil_wready,
    output wire [1:0]              s_axil_bresp,
    output wire                    s_axil_bvalid,
    input  wire                    s_axil_bready,
    input  wire [`WP_BLOCK_ADDR_WIDTH-1:0] s_axil_araddr,
    input  wire [2:0]              s_axil_arprot,
    input  wire                    s_axil_arvalid,
    output wire                    s_axil_arready,
    output wire [31:0]             s_axil_rdata,
    output wire [1:0]              s_axil_rresp,
    output wire                    s_axil_rvalid,
    input  wire                    s_axil_rready
);

localparam AW = `WP_BLOCK_ADDR_WIDTH;  // register block (byte address)
localparam RULE_BASE = `WP_FW_REG_RULE_CTRL;
localparam RULE_STRIDE = `WP_FW_REG_RULE_CTRL_STRIDE;
localparam HITS_BASE = `WP_FW_REG_RULE_HITS;
localparam HITS_STRIDE = `WP_FW_REG_RULE_HITS_STRIDE;
localparam NW = RULE_STRIDE / 4;  // words of a rule's stride
localparam GRP = 4;  // rules per group: read mux, copies of the 5-tuple, permit
localparam NGRP = (NUM_RULES + GRP - 1) / GRP;

initial begin
    if (NUM_RULES < 1 || NUM_RULES > `WP_FW_REG_RULE_CTRL_COUNT) begin
        $error("Error: NUM_RULES must be in 1..%0d (instance %m)", `WP_FW_REG_RULE_CTRL_COUNT);
        $finish;
    end
    if (DATA_WIDTH != 256) begin
        $error("Error: DATA_WIDTH must be 256 (instance %m)");
        $finish;
    end
    if (RULE_STRIDE != 32 || HITS_STRIDE != 8) begin
        $error("Error: register map strides changed; update wp_fw (instance %m)");
        $finish;
    end
end

// ---------------------------------------------------------------- registers
wire        reg_wr_en;
wire [AW-1:0] reg_wr_addr;
wire [31:0] reg_wr_data;
wire [3:0]  reg_wr_strb;
wire        reg_rd_en;
wire [AW-1:0] reg_rd_addr;
wire [31:0] reg_rd_data;

wp_axil_regs #(.ADDR_WIDTH(AW), .RD_LATENCY(5)) axil_regs_inst (
    .clk(clk), .rst(rst),
    .s_axil_awaddr(s_axil_awaddr), .s_axil_awprot(s_axil_awprot),
    .s_axil_awvalid(s_axil_awvalid), .s_axil_awready(s_axil_awready),
    .s_axil_wdata(s_axil_wdata), .s_axil_wstrb(s_axil_wstrb),
    .s_axil_wvalid(s_axil_wvalid), .s_axil_wready(s_axil_wready),
    .s_axil_bresp(s_axil_bresp), .s_axil_bvalid(s_axil_bvalid), .s_axil_bready(s_axil_bready),
    .s_axil_araddr(s_axil_araddr), .s_axil_arprot(s_axil_arprot),
    .s_axil_arvalid(s_axil_arvalid), .s_axil_arready(s_axil_arready),
    .s_axil_rdata(s_axil_rdata), .s_axil_rresp(s_axil_rresp),
    .s_axil_rvalid(s_axil_rvalid), .s_axil_rready(s_axil_rready),
    .reg_wr_en(reg_wr_en), .reg_wr_addr(reg_wr_addr), .reg_wr_data(reg_wr_data),
    .reg_wr_strb(reg_wr_strb), .reg_rd_en(reg_rd_en), .reg_rd_addr(reg_rd_addr),
    .reg_rd_data(reg_rd_data)
);

reg        default_action_reg = 1'b0;
reg        nonip_action_reg = `WP_FW_REG_NONIP_ACTION_RESET;
reg [2:0]  rule_ctrl_reg[0:NUM_RULES-1];
reg [31:0] rule_src_reg[0:NUM_RULES-1];
reg [5:0]  rule_src_plen_reg[0:NUM_RULES-1];
reg [31:0] rule_src_mask_reg[0:NUM_RULES-1];
reg [31:0] rule_dst_reg[0:NUM_RULES-1];
reg [5:0]  rule_dst_plen_reg[0:NUM_RULES-1];
reg [31:0] rule_dst_mask_reg[0:NUM_RULES-1];
reg [7:0]  rule_proto_reg[0:NUM_RULES-1];
reg [31:0] rule_sport_reg[0:NUM_RULES-1];
reg [31:0] rule_dport_reg[0:NUM_RULES-1];
reg [63:0] rule_hits_reg[0:NUM_RULES-1];
reg [63:0] permit_pkts_reg = 0;
reg [63:0] deny_pkts_reg = 0;
reg [63:0] default_pkts_reg = 0;
reg [63:0] nonip_pkts_reg = 0;

integer r, j, w;
genvar g;

// read mux in five register stages: wp_axil_regs (RD_LATENCY 5) holds reg_rd_addr five cycles
// before it takes reg_rd_data. R0: the address's fields one-hot (which rule, which word of its
// stride: wp_reg_arr's aligned decode), each hit counter and fixed register compared with a
// constant (no subtraction). R1: one flip-flop per (rule, word of its stride), the AND of its
// rule's and its word's R0 bits (each drives one word's AND terms, not the whole mux; the 128
// compares of the 12-bit address in one stage were wp_fw's ECP5 path at d77b125, the address
// register's bits fanned out to them); the others copied. R2: per rule the addressed word (an
// AND-OR over its 8 words, 0 when the rule is not addressed); per group of GRP rules the addressed
// hit counter; the fixed word and counter. R3: per group the OR of its rules' words; the OR of the
// groups' counters and the fixed counter. R4: the OR of the groups' words and the fixed word at
// wp_reg_rd's input registers (IN_REG), which picks the counter word and keeps the HI latch.
// R1 is the writes' decode too (below).
wire          rd_hits;
wp_reg_arr #(.ADDR_WIDTH(AW), .BASE(HITS_BASE), .STRIDE(HITS_STRIDE), .COUNT(NUM_RULES))
    rd_hits_inst (.addr(reg_rd_addr), .hit(rd_hits), .idx(), .off());
wire          rd_rule;
wire [AW-1:0] rd_rule_idx, rd_fld;
wp_reg_arr #(.ADDR_WIDTH(AW), .BASE(RULE_BASE), .STRIDE(RULE_STRIDE), .COUNT(NUM_RULES))
    rd_rule_inst (.addr(reg_rd_addr), .hit(rd_rule), .idx(rd_rule_idx), .off(rd_fld));
// a 64-bit register is two words: the address of its LO word with bit 2 (HI) cleared
wire [AW-1:0] rd_lo_addr = {reg_rd_addr[AW-1:3], 3'b000};

// R0: rule i addressed (bit i), word w of a stride addressed (bit w); hit counter i selected;
// the fixed registers, one-hot: {NONIP_ACTION, DEFAULT_ACTION, CAPS, VERSION, ID} and the
// counters {NONIP, DEFAULT, DENY, PERMIT}_PKTS
reg [NUM_RULES-1:0]    r0_rule_reg = 0;
reg [NW-1:0]           r0_word_reg = 0;
reg [NUM_RULES-1:0]    r0_hsel_reg = 0;
reg                    r0_hits_reg = 1'b0;
reg [4:0]              r0_fix_reg = 0;
reg [3:0]              r0_cnt_reg = 0;
reg                    r0_ctrl_reg = 1'b0;  // CTRL (write only: for the write's enable)
// R1: word w of rule i selected (bit i*NW + w); the others as in R0
reg [NUM_RULES*NW-1:0] r1_wsel_reg = 0;
reg [NUM_RULES-1:0]    r1_hsel_reg = 0;
reg                    r1_hits_reg = 1'b0;
reg [4:0]              r1_fix_reg = 0;
reg [3:0]              r1_cnt_reg = 0;
reg                    r1_ctrl_reg = 1'b0;

always @(posedge clk) begin
    for (r = 0; r < NUM_RULES; r = r + 1) begin
        r0_rule_reg[r] <= rd_rule && rd_rule_idx == r;
        r0_hsel_reg[r] <= rd_lo_addr == HITS_BASE + r * HITS_STRIDE;
    end
    for (w = 0; w < NW; w = w + 1) r0_word_reg[w] <= rd_fld == 4 * w;
    r0_hits_reg <= rd_hits;
    r0_fix_reg <= {reg_rd_addr == `WP_FW_REG_NONIP_ACTION,
                   reg_rd_addr == `WP_FW_REG_DEFAULT_ACTION, reg_rd_addr == `WP_FW_REG_CAPS,
                   reg_rd_addr == `WP_FW_REG_VERSION, reg_rd_addr == `WP_FW_REG_ID};
    r0_cnt_reg <= {rd_lo_addr == `WP_FW_REG_NONIP_PKTS, rd_lo_addr == `WP_FW_REG_DEFAULT_PKTS,
                   rd_lo_addr == `WP_FW_REG_DENY_PKTS, rd_lo_addr == `WP_FW_REG_PERMIT_PKTS};
    for (r = 0; r < NUM_RULES; r = r + 1) begin
        for (w = 0; w < NW; w = w + 1) r1_wsel_reg[r*NW + w] <= r0_rule_reg[r] && r0_word_reg[w];
    end
    r1_hsel_reg <= r0_hsel_reg;
    r1_hits_reg <= r0_hits_reg;
    r1_fix_reg <= r0_fix_reg;
    r1_cnt_reg <= r0_cnt_reg;
    r0_ctrl_reg <= reg_rd_addr == `WP_FW_REG_CTRL;
    r1_ctrl_reg <= r0_ctrl_reg;
end

// rule i: RULE_CTRL .. RULE_DPORT; hit counters RULE_HITS. A write has no address decode of
// its own: wp_axil_regs reads the register before it writes it (the strobe merge), through the
// same address register (reg_wr_addr is reg_rd_addr) held from the take through reg_wr_en, so
// the read decode's R1 one-hots above hold the write's (rule, word) and fixed register from
// three cycles after the take, four before reg_wr_en (RD_LATENCY 5). Each register's enable is
// reg_wr_en AND one R1 bit, registered (W2 below). (A decode of its own was a second set of compares on the address
// register's fan-out; its fixed-register compare was one of wp_fw's ECP5 paths at 9675c87.)
reg                 clear_reg = 1'b0;  // CTRL.CLEAR written: the counters clear in 2 cycles
// the counters' reset (rst or CTRL.CLEAR) from one flip-flop, a cycle after either, as
// wp_nat's: not a LUT in front of the counter bits' set/reset (`rst || clear_reg` there, the
// harness's rst input -> that LUT -> the counters, 2.93 and 1.68 ns nets, was wp_fw's ECP5
// path at fbef0e9, seed 1)
reg                 cnt_rst_reg = 1'b0;

localparam F_CTRL = (`WP_FW_REG_RULE_CTRL - RULE_BASE) / 4;
localparam F_SRC = (`WP_FW_REG_RULE_SRC_ADDR - RULE_BASE) / 4;
localparam F_SRC_PLEN = (`WP_FW_REG_RULE_SRC_PLEN - RULE_BASE) / 4;
localparam F_DST = (`WP_FW_REG_RULE_DST_ADDR - RULE_BASE) / 4;
localparam F_DST_PLEN = (`WP_FW_REG_RULE_DST_PLEN - RULE_BASE) / 4;
localparam F_PROTO = (`WP_FW_REG_RULE_PROTO - RULE_BASE) / 4;
localparam F_SPORT = (`WP_FW_REG_RULE_SPORT - RULE_BASE) / 4;
localparam F_DPORT = (`WP_FW_REG_RULE_DPORT - RULE_BASE) / 4;

initial begin
    for (r = 0; r < NUM_RULES; r = r + 1) begin
        rule_ctrl_reg[r] = 0; rule_src_reg[r] = 0; rule_src_plen_reg[r] = 0;
        rule_src_mask_reg[r] = 0; rule_dst_reg[r] = 0; rule_dst_plen_reg[r] = 0;
        rule_dst_mask_reg[r] = 0; rule_proto_reg[r] = 0; rule_sport_reg[r] = 0;
        rule_dport_reg[r] = 0; rule_hits_reg[r] = 0;
    end
end

// the prefix masks of the length registers in two registered steps (wp_prefix_mask.v): each
// length decoded into 15 bits, then each mask bit one LUT4 of those (as one 6-input function
// per bit the mask was 4 LUT levels, wp_fw's ECP5 path at 3220689 and fdebca9)
wire [15*NUM_RULES-1:0] src_dec, dst_dec;
wire [32*NUM_RULES-1:0] src_mask, dst_mask;
reg  [15*NUM_RULES-1:0] src_dec_reg = 0, dst_dec_reg = 0;
genvar gmr;
generate
    for (gmr = 0; gmr < NUM_RULES; gmr = gmr + 1) begin : g_mask_rule
        wp_prefix_dec src_dec_inst (.plen(rule_src_plen_reg[gmr]), .dec(src_dec[15*gmr +: 15]));
        wp_prefix_dec dst_dec_inst (.plen(rule_dst_plen_reg[gmr]), .dec(dst_dec[15*gmr +: 15]));
        wp_prefix_mask src_mask_inst (.dec(src_dec_reg[15*gmr +: 15]),
            .mask(src_mask[32*gmr +: 32]));
        wp_prefix_mask dst_mask_inst (.dec(dst_dec_reg[15*gmr +: 15]),
            .mask(dst_mask[32*gmr +: 32]));
    end
endgenerate

// W2, at reg_wr_en: the word and one write enable per rule and field (reg_wr_en AND one R1
// bit) and per fixed register, into flip-flops; W3 writes the register, as wp_nat. (reg_wr_en,
// one flip-flop in wp_axil_regs, through a LUT per register into its ~130 enables was wp_fw's
// ECP5 path at 913467f, seed 2: a 3.46 ns net.) The write lands the cycle B goes valid.
reg [NUM_RULES*NW-1:0] w2_we_reg = 0;
reg [1:0]              w2_fix_we_reg = 0;   // DEFAULT_ACTION, NONIP_ACTION
reg [31:0]             w2_data_reg = 0;

always @(posedge clk) begin
    for (r = 0; r < NUM_RULES * NW; r = r + 1) w2_we_reg[r] <= reg_wr_en && r1_wsel_reg[r];
    w2_fix_we_reg <= {reg_wr_en && r1_fix_reg[4], reg_wr_en && r1_fix_reg[3]};
    w2_data_reg <= reg_wr_data;
    if (w2_fix_we_reg[0]) default_action_reg <= w2_data_reg[0];
    if (w2_fix_we_reg[1]) nonip_action_reg <= w2_data_reg[0];
    for (r = 0; r < NUM_RULES; r = r + 1) begin
        if (w2_we_reg[r*NW + F_CTRL]) rule_ctrl_reg[r] <= w2_data_reg[2:0];
        if (w2_we_reg[r*NW + F_SRC]) rule_src_reg[r] <= w2_data_reg;
        if (w2_we_reg[r*NW + F_SRC_PLEN]) rule_src_plen_reg[r] <= w2_data_reg[5:0];
        if (w2_we_reg[r*NW + F_DST]) rule_dst_reg[r] <= w2_data_reg;
        if (w2_we_reg[r*NW + F_DST_PLEN]) rule_dst_plen_reg[r] <= w2_data_reg[5:0];
        if (w2_we_reg[r*NW + F_PROTO]) rule_proto_reg[r] <= w2_data_reg[7:0];
        if (w2_we_reg[r*NW + F_SPORT]) rule_sport_reg[r] <= w2_data_reg;
        if (w2_we_reg[r*NW + F_DPORT]) rule_dport_reg[r] <= w2_data_reg;
    end
    clear_reg <= reg_wr_en && r1_ctrl_reg && reg_wr_data[`WP_FW_REG_CTRL_CLEAR_LSB];
    cnt_rst_reg <= rst || clear_reg;
    if (rst) clear_reg <= 1'b0;
    // the prefix masks follow the length registers two cycles later (no decode on the write
    // data)
    src_dec_reg <= src_dec;
    dst_dec_reg <= dst_dec;
    for (r = 0; r < NUM_RULES; r = r + 1) begin
        rule_src_mask_reg[r] <= src_mask[32*r +: 32];
        rule_dst_mask_reg[r] <= dst_mask[32*r +: 32];
    end
    if (rst) begin
        w2_we_reg <= 0;
        w2_fix_we_reg <= 2'b0;
        default_action_reg <= 1'b0;
        nonip_action_reg <= `WP_FW_REG_NONIP_ACTION_RESET;
        for (r = 0; r < NUM_RULES; r = r + 1) rule_ctrl_reg[r] <= 0;
    end
end


// each rule's stride as NW words (unused bits 0); a function behind a continuous assignment
// (Icarus runs no always @* whose inputs keep their initial values)
function [NW*32-1:0] stride_words(input [2:0] ctrl, input [31:0] src, input [5:0] splen,
                                  input [31:0] dst, input [5:0] dplen, input [7:0] proto,
                                  input [31:0] sport, input [31:0] dport);
    begin
        stride_words = 0;
        stride_words[(`WP_FW_REG_RULE_CTRL - RULE_BASE)*8 +: 3] = ctrl;
        stride_words[(`WP_FW_REG_RULE_SRC_ADDR - RULE_BASE)*8 +: 32] = src;
        stride_words[(`WP_FW_REG_RULE_SRC_PLEN - RULE_BASE)*8 +: 6] = splen;
        stride_words[(`WP_FW_REG_RULE_DST_ADDR - RULE_BASE)*8 +: 32] = dst;
        stride_words[(`WP_FW_REG_RULE_DST_PLEN - RULE_BASE)*8 +: 6] = dplen;
        stride_words[(`WP_FW_REG_RULE_PROTO - RULE_BASE)*8 +: 8] = proto;
        stride_words[(`WP_FW_REG_RULE_SPORT - RULE_BASE)*8 +: 32] = sport;
        stride_words[(`WP_FW_REG_RULE_DPORT - RULE_BASE)*8 +: 32] = dport;
    end
endfunction

wire [NUM_RULES*NW*32-1:0] rule_words;
generate
    for (g = 0; g < NUM_RULES; g = g + 1) begin : g_words
        assign rule_words[g*NW*32 +: NW*32] = stride_words(rule_ctrl_reg[g], rule_src_reg[g],
            rule_src_plen_reg[g], rule_dst_reg[g], rule_dst_plen_reg[g], rule_proto_reg[g],
            rule_sport_reg[g], rule_dport_reg[g]);
    end
endgenerate

// R2: per rule, the selected word (AND-OR over its NW words; 0 when none is selected); per
// group, the selected hit counter; the fixed word and counter
reg [NUM_RULES*32-1:0] r2_rword_reg = 0;
reg [NGRP*64-1:0]      r2_hcnt_reg = 0;
reg                    r2_hits_reg = 1'b0;
reg [31:0]             r2_fix_reg = 0;
reg [63:0]             r2_fcnt_reg = 0;
reg                    r2_fsel_reg = 1'b0;
reg [31:0]             rword;
reg [63:0]             gcnt;

always @(posedge clk) begin
    for (r = 0; r < NUM_RULES; r = r + 1) begin
        rword = 0;
        for (w = 0; w < NW; w = w + 1) begin
            rword = rword | ({32{r1_wsel_reg[r*NW + w]}} & rule_words[(r*NW + w)*32 +: 32]);
        end
        r2_rword_reg[r*32 +: 32] <= rword;
    end
    for (j = 0; j < NGRP; j = j + 1) begin
        gcnt = 0;
        for (r = j * GRP; r < j * GRP + GRP && r < NUM_RULES; r = r + 1) begin
            gcnt = gcnt | ({64{r1_hsel_reg[r]}} & rule_hits_reg[r]);
        end
        r2_hcnt_reg[j*64 +: 64] <= gcnt;
    end
    r2_hits_reg <= r1_hits_reg;
    r2_fix_reg <= ({32{r1_fix_reg[0]}} & `WP_FW_BLOCK_ID)
                  | ({32{r1_fix_reg[1]}} & `WP_FW_BLOCK_VERSION)
                  | ({32{r1_fix_reg[2]}} & NUM_RULES)
                  | {31'd0, r1_fix_reg[3] && default_action_reg}
                  | {31'd0, r1_fix_reg[4] && nonip_action_reg};
    r2_fcnt_reg <= ({64{r1_cnt_reg[0]}} & permit_pkts_reg) | ({64{r1_cnt_reg[1]}} & deny_pkts_reg)
                   | ({64{r1_cnt_reg[2]}} & default_pkts_reg)
                   | ({64{r1_cnt_reg[3]}} & nonip_pkts_reg);
    r2_fsel_reg <= |r1_cnt_reg;
end

// R3, R4: the OR of the groups (wp_reg_rd_or)
wp_reg_rd_or #(.ADDR_WIDTH(AW), .COUNT(NUM_RULES), .GRP(GRP)) reg_rd_inst (
    .clk(clk), .rd_en(reg_rd_en), .rd_addr(reg_rd_addr),
    .elem_word(r2_rword_reg), .grp_cnt(r2_hcnt_reg), .fix_word(r2_fix_reg),
    .fix_cnt(r2_fcnt_reg), .cnt_sel(r2_hits_reg || r2_fsel_reg), .rd_data(reg_rd_data)
);

// ---------------------------------------------------------------- data path
wire fifo_s_ready;
assign s_axis_tready = fifo_s_ready;
wire beat_in = s_axis_tvalid && s_axis_tready;

wire        hdr_valid, hdr_nsh, hdr_nsh_valid, hdr_ipv4, hdr_first_frag, hdr_ports, hdr_l4_csum_ok;
wire [7:0]  hdr_len, hdr_si, hdr_l3, hdr_l4, hdr_proto;
wire [23:0] hdr_spi;
wire [31:0] hdr_src, hdr_dst;
wire [15:0] hdr_ip_csum, hdr_sport, hdr_dport, hdr_l4_csum;

wp_hdr_parse #(.DATA_WIDTH(DATA_WIDTH)) parse_inst (
    .clk(clk), .rst(rst),
    .s_tdata(s_axis_tdata), .s_tkeep(s_axis_tkeep), .s_tlast(s_axis_tlast), .s_beat(beat_in),
    .hdr_valid(hdr_valid), .hdr_len(hdr_len), .hdr_nsh(hdr_nsh), .hdr_nsh_valid(hdr_nsh_valid),
    .hdr_spi(hdr_spi), .hdr_si(hdr_si), .hdr_ipv4(hdr_ipv4), .hdr_l3(hdr_l3), .hdr_l4(hdr_l4),
    .hdr_proto(hdr_proto), .hdr_src(hdr_src), .hdr_dst(hdr_dst), .hdr_ip_csum(hdr_ip_csum),
    .hdr_first_frag(hdr_first_frag), .hdr_ports(hdr_ports), .hdr_sport(hdr_sport),
    .hdr_dport(hdr_dport), .hdr_l4_csum_ok(hdr_l4_csum_ok), .hdr_l4_csum(hdr_l4_csum)
);

// The decision after the parser: E0 copies the parsed fields, E1 compares them per byte, E2P
// and E2 AND those into each rule's match, E3 makes the winner one-hot and each group's permit bit,
// A (act_*) writes the action, the counters count one cycle after it.
//
// E0: the 5-tuple registered again, one copy per group of GRP rules (the parser's output
// register fanned out to 16 rules x 6 compares was the path across the chip; wp_reg_copies)
localparam KEY_W = 32 + 32 + 8 + 16 + 16;  // {src, dst, proto, sport, dport}
wire [NGRP*KEY_W-1:0] e0_key;
reg        e0_valid_reg = 1'b0;
reg        e0_ipv4_reg = 1'b0;
reg        e0_dec_reg = 1'b0;
reg [7:0]  e0_si_reg = 0;

wp_reg_copies #(.WIDTH(KEY_W), .COPIES(NGRP)) key_copies_inst (
    .clk(clk), .rst(1'b0), .en(1'b1),
    .d({hdr_src, hdr_dst, hdr_proto, hdr_sport, hdr_dport}), .q(e0_key)
);

always @(posedge clk) begin
    e0_valid_reg <= hdr_valid;
    e0_ipv4_reg <= hdr_ipv4;
    e0_dec_reg <= hdr_nsh_valid && hdr_si != 8'd0;
    e0_si_reg <= hdr_si;
    if (rst) e0_valid_reg <= 1'b0;
end

// E1: per rule, byte-wide partial compares, registered (no 16- or 32-bit carry chain):
// bit 0 the rule valid and the frame IPv4; 1..4 source prefix per byte (masked equal);
// 5..8 destination prefix per byte; 9 protocol (or any); 10..15 source port range, 16..21
// destination port range, each {p.h < hi.h, p.h == hi.h, p.l <= hi.l, p.h > lo.h,
// p.h == lo.h, p.l >= lo.l} (p.h / p.l: the port's high / low byte; lo, hi: the range)
localparam NF = 22;
reg [NUM_RULES*NF-1:0] e1_fld_reg = 0;
reg                 e1_valid_reg = 1'b0;
reg                 e1_ipv4_reg = 1'b0;
reg                 e1_dec_reg = 1'b0;
reg [7:0]           e1_si_reg = 0;

function [5:0] range_bits(input [15:0] p, input [31:0] lohi);
    begin
        range_bits = {p[15:8] < lohi[31:24], p[15:8] == lohi[31:24], p[7:0] <= lohi[23:16],
                      p[15:8] > lohi[15:8], p[15:8] == lohi[15:8], p[7:0] >= lohi[7:0]};
    end
endfunction

function range_ok(input [5:0] b);
    begin
        range_ok = (b[5] || (b[4] && b[3])) && (b[2] || (b[1] && b[0]));
    end
endfunction

integer m, k;
reg [KEY_W-1:0] key;
always @(posedge clk) begin
    e1_valid_reg <= e0_valid_reg;
    e1_ipv4_reg <= e0_ipv4_reg;
    e1_dec_reg <= e0_dec_reg;
    e1_si_reg <= e0_si_reg;
    for (m = 0; m < NUM_RULES; m = m + 1) begin
        key = e0_key[(m / GRP)*KEY_W +: KEY_W];
        e1_fld_reg[m*NF + 0] <= rule_ctrl_reg[m][`WP_FW_REG_RULE_CTRL_VALID_LSB] && e0_ipv4_reg;
        for (k = 0; k < 4; k = k + 1) begin
            e1_fld_reg[m*NF + 1 + k] <= ((key[72 + 8*k +: 8] ^ rule_src_reg[m][8*k +: 8])
                                         & rule_src_mask_reg[m][8*k +: 8]) == 8'd0;
            e1_fld_reg[m*NF + 5 + k] <= ((key[40 + 8*k +: 8] ^ rule_dst_reg[m][8*k +: 8])
                                         & rule_dst_mask_reg[m][8*k +: 8]) == 8'd0;
        end
        e1_fld_reg[m*NF + 9] <= rule_ctrl_reg[m][`WP_FW_REG_RULE_CTRL_ANY_PROTO_LSB]
            || key[32 +: 8] == rule_proto_reg[m];
        e1_fld_reg[m*NF + 10 +: 6] <= range_bits(key[16 +: 16], rule_sport_reg[m]);
        e1_fld_reg[m*NF + 16 +: 6] <= range_bits(key[0 +: 16], rule_dport_reg[m]);
    end
    if (rst) e1_valid_reg <= 1'b0;
end

// E2: each rule's match (valid IPv4 frame, rule valid, every field) in two registered steps:
// P, four partial terms per rule of at most six inputs each (one LUT level and a mux: the AND
// of all 23 in one cycle was four levels, wp_fw's ECP5 path), then their AND
reg [4*NUM_RULES-1:0] e2p_part_reg = 0;
reg                 e2p_valid_reg = 1'b0;
reg                 e2p_ipv4_reg = 1'b0;
reg                 e2p_dec_reg = 1'b0;
reg [7:0]           e2p_si_reg = 0;
reg [NF-1:0]        fld;

always @(posedge clk) begin
    e2p_valid_reg <= e1_valid_reg;
    e2p_ipv4_reg <= e1_ipv4_reg;
    e2p_dec_reg <= e1_dec_reg;
    e2p_si_reg <= e1_si_reg;
    for (m = 0; m < NUM_RULES; m = m + 1) begin
        fld = e1_fld_reg[m*NF +: NF];
        e2p_part_reg[4*m +: 4] <= {range_ok(fld[21:16]), range_ok(fld[15:10]), &fld[9:5],
            e1_valid_reg && (&fld[4:0])};
    end
    if (rst) e2p_valid_reg <= 1'b0;
end

reg [NUM_RULES-1:0] e2_match_reg = 0;
reg                 e2_valid_reg = 1'b0;
reg                 e2_ipv4_reg = 1'b0;
reg                 e2_dec_reg = 1'b0;
reg [7:0]           e2_si_reg = 0;

always @(posedge clk) begin
    e2_valid_reg <= e2p_valid_reg;
    e2_ipv4_reg <= e2p_ipv4_reg;
    e2_dec_reg <= e2p_dec_reg;
    e2_si_reg <= e2p_si_reg;
    for (m = 0; m < NUM_RULES; m = m + 1) e2_match_reg[m] <= &e2p_part_reg[4*m +: 4];
    if (rst) e2_valid_reg <= 1'b0;
end

// E3: per group of GRP rules, whether one matches, the permit bit of its lowest matching rule
// and that rule as a one-hot vector within the group (wp_first_onehot, GROUP = GRP). Stage A
// makes the one-hot vector over all rules (the priority: lowest index; a rule's group one-hot
// bit AND no match in a lower group), which each rule's hit counter reads a cycle later (the
// one-hot over all 16 in one cycle, each match bit fanned out to every higher rule, was wp_fw's
// ECP5 path at 688d0e0: 3 levels, 82 % routing)

wire [NUM_RULES-1:0] rule_permit;
generate
    for (g = 0; g < NUM_RULES; g = g + 1) begin : g_permit
        assign rule_permit[g] = rule_ctrl_reg[g][`WP_FW_REG_RULE_CTRL_PERMIT_LSB];
    end
endgenerate
// zero-extended to whole groups
wire [NGRP*GRP-1:0] match_pad = e2_match_reg;
wire [NGRP*GRP-1:0] permit_pad = rule_permit;
wire [NUM_RULES-1:0] e2_lfirst;
wire [NGRP-1:0]      e2_gany;
wp_first_onehot #(.WIDTH(NUM_RULES), .GROUP(GRP)) first_inst (
    .v(e2_match_reg), .onehot(e2_lfirst), .any(e2_gany)
);

reg [NUM_RULES-1:0] e3_lfirst_reg = 0;  // per group: its lowest matching rule, one-hot
reg [NGRP-1:0]      e3_gany_reg = 0;
reg [NGRP-1:0]      e3_gperm_reg = 0;
reg                 e3_valid_reg = 1'b0;
reg                 e3_ipv4_reg = 1'b0;
reg                 e3_dec_reg = 1'b0;
reg [7:0]           e3_si_reg = 0;

always @(posedge clk) begin
    e3_valid_reg <= e2_valid_reg;
    e3_ipv4_reg <= e2_ipv4_reg;
    e3_dec_reg <= e2_dec_reg;
    e3_si_reg <= e2_si_reg;
    e3_lfirst_reg <= e2_lfirst;
    e3_gany_reg <= e2_gany;
    for (j = 0; j < NGRP; j = j + 1) begin
        e3_gperm_reg[j] <= 1'b0;
        for (k = GRP - 1; k >= 0; k = k - 1) begin
            if (match_pad[j*GRP + k]) e3_gperm_reg[j] <= permit_pad[j*GRP + k];
        end
    end
    if (rst) e3_valid_reg <= 1'b0;
end

// A: the action: the permit bit of the lowest group with a match (else the default action;
// a frame without a usable IPv4 header takes the non-IP action); the counters' enables
function grp_permit(input [NGRP-1:0] any, input [NGRP-1:0] perm, input dflt);
    integer i;
    begin
        grp_permit = dflt;
        for (i = NGRP - 1; i >= 0; i = i - 1) if (any[i]) grp_permit = perm[i];
    end
endfunction

wire e3_permit = !e3_ipv4_reg ? nonip_action_reg
               : grp_permit(e3_gany_reg, e3_gperm_reg, default_action_reg);

reg        act_valid_reg = 1'b0;
reg [NUM_RULES-1:0] act_first_reg = 0;  // the winning rule, one-hot (its hit counter's enable)
reg        act_drop_reg = 1'b0;
reg [`WP_PATCH_WIDTH-1:0] act_patch_reg = 0;
reg        cnt_permit_reg = 1'b0;
reg        cnt_deny_reg = 1'b0;
reg        cnt_nonip_reg = 1'b0;
reg        cnt_default_reg = 1'b0;

always @(posedge clk) begin
    act_valid_reg <= e3_valid_reg;
    for (m = 0; m < NUM_RULES; m = m + 1) begin
        act_first_reg[m] <= e3_lfirst_reg[m]
                            && (e3_gany_reg & ~({NGRP{1'b1}} << (m / GRP))) == 0;
    end
    act_drop_reg <= !e3_permit;
    act_patch_reg <= e3_dec_reg ? `WP_PATCH_SI_DEC(e3_si_reg) : `WP_PATCH_NONE;
    cnt_permit_reg <= e3_valid_reg && e3_permit;
    cnt_deny_reg <= e3_valid_reg && !e3_permit;
    cnt_nonip_reg <= e3_valid_reg && !e3_ipv4_reg;
    cnt_default_reg <= e3_valid_reg && e3_ipv4_reg && !(|e3_gany_reg);
    if (cnt_permit_reg) permit_pkts_reg <= permit_pkts_reg + 1;
    if (cnt_deny_reg) deny_pkts_reg <= deny_pkts_reg + 1;
    if (cnt_nonip_reg) nonip_pkts_reg <= nonip_pkts_reg + 1;
    if (cnt_default_reg) default_pkts_reg <= default_pkts_reg + 1;
    for (m = 0; m < NUM_RULES; m = m + 1) begin
        if (act_first_reg[m]) rule_hits_reg[m] <= rule_hits_reg[m] + 1;
    end
    if (cnt_rst_reg) begin
        permit_pkts_reg <= 0;
        deny_pkts_reg <= 0;
        default_pkts_reg <= 0;
        nonip_pkts_reg <= 0;
        for (r = 0; r < NUM_RULES; r = r + 1) rule_hits_reg[r] <= 0;
    end
    if (rst) begin
        act_valid_reg <= 1'b0;
        act_first_reg <= 0;
        cnt_permit_reg <= 1'b0;
        cnt_deny_reg <= 1'b0;
        cnt_nonip_reg <= 1'b0;
        cnt_default_reg <= 1'b0;
    end
end

// wp_pe_out queues the frames and the actions (FIFO_DEPTH_LOG2), its FIFOs' heads in slices
// (8 and 2), each loaded by a take flip-flop of its own (the action FIFO's head -> wp_pe_out's
// ready -> the FIFOs' loads was wp_fw's ECP5 path at d362fd0, 6.23 ns, 85 % routing). Not
// FREE_WRITE, as wp_nat's: a frame FIFO one beat shallower took the rate to 0.94 beat/cycle at
// 128 to 512 bytes (bench/hdl_rate.py).
wp_pe_out #(.DATA_WIDTH(DATA_WIDTH), .USER_WIDTH(USER_WIDTH), .NUM_PATCH(1),
    .FIFO_DEPTH_LOG2(FIFO_DEPTH_LOG2), .FRAME_SLICES(8), .ACT_SLICES(2)) out_inst (
    .clk(clk), .rst(rst),
    .s_axis_tdata(s_axis_tdata), .s_axis_tkeep(s_axis_tkeep), .s_axis_tuser(s_axis_tuser),
    .s_axis_tlast(s_axis_tlast), .s_axis_tvalid(s_axis_tvalid), .s_axis_tready(fifo_s_ready),
    .act_valid(act_valid_reg), .act_word({act_drop_reg, act_patch_reg}), .act_head(),
    .act_patch({`WP_PATCH_WIDTH{1'b0}}),
    .m_axis_tdata(m_axis_tdata), .m_axis_tkeep(m_axis_tkeep), .m_axis_tuser(m_axis_tuser),
    .m_axis_tlast(m_axis_tlast), .m_axis_tvalid(m_axis_tvalid), .m_axis_tready(m_axis_tready)
);

endmodule

`resetall
