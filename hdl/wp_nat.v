// wp_nat: static NAT PE. NUM_MAPPINGS register-programmed mappings on the inner IPv4 packet
// (plain or behind NSH): SNAT rewrites the source address (and, with PORT_EN, the TCP/UDP source
// port), DNAT the destination; lowest index wins. IPv4 and TCP/UDP checksums are updated
// incrementally (RFC 1624 eqn. 3); a UDP checksum of 0 stays 0, a computed 0 becomes 0xFFFF.
// Valid-NSH frames leave with SI - 1 (when SI > 0). One beat per cycle; registers per
// docs/regmap.md (block wp_nat).

`resetall
`timescale 1ns / 1ps
`default_nettype none

`include "wp_regmap.vh"
`include "wp_frame.vh"

module wp_nat #(
    // Number of mappings implemented (1..64)
    parameter NUM_MAPPINGS = 16,
    // Width of tdata (bits)
    parameter DATA_WIDTH = 256,
    // Width of tuser (bits)
    parameter USER_WIDTH = `WP_TUSER_WIDTH,
    // log2 of the frame FIFO depth in beats (must exceed the decision latency: 16 beats are
    // too few for 1.00 beat/cycle at 65..1500 B since the decision's stages for ECP5)
    parameter FIFO_DEPTH_LOG2 = 5
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
localparam MAP_BASE = `WP_NAT_REG_MAP_CTRL;
localparam MAP_STRIDE = `WP_NAT_REG_MAP_CTRL_STRIDE;
localparam HITS_BASE = `WP_NAT_REG_MAP_HITS;
localparam HITS_STRIDE = `WP_NAT_REG_MAP_HITS_STRIDE;
localparam NUM_PATCH = 5;
// patch offsets (8-bit, added to the IPv4 / L4 header offsets)
localparam [7:0] IP_SRC = `WP_IPV4_SRC_OFF;
localparam [7:0] IP_DST = `WP_IPV4_DST_OFF;
localparam [7:0] IP_CSUM = `WP_IPV4_CSUM_OFF;
localparam [7:0] L4_SPORT = `WP_L4_SPORT_OFF;
localparam [7:0] L4_DPORT = `WP_L4_DPORT_OFF;
localparam [7:0] TCP_CSUM = `WP_TCP_CSUM_OFF;
localparam [7:0] UDP_CSUM = `WP_UDP_CSUM_OFF;

initial begin
    if (NUM_MAPPINGS < 1 || NUM_MAPPINGS > `WP_NAT_REG_MAP_CTRL_COUNT) begin
        $error("Error: NUM_MAPPINGS must be in 1..%0d (instance %m)", `WP_NAT_REG_MAP_CTRL_COUNT);
        $finish;
    end
    if (DATA_WIDTH != 256) begin
        $error("Error: DATA_WIDTH must be 256 (instance %m)");
        $finish;
    end
    if (MAP_STRIDE != 16 || HITS_STRIDE != 8) begin
        $error("Error: register map strides changed; update wp_nat (instance %m)");
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

wp_axil_regs #(.ADDR_WIDTH(AW), .RD_LATENCY(4)) axil_regs_inst (
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

reg [2:0]  map_ctrl_reg[0:NUM_MAPPINGS-1];
reg [31:0] map_match_reg[0:NUM_MAPPINGS-1];
reg [31:0] map_new_reg[0:NUM_MAPPINGS-1];
reg [15:0] map_new_sum_reg[0:NUM_MAPPINGS-1];  // new[31:16] +' new[15:0] (ones' complement)
reg [31:0] map_ports_reg[0:NUM_MAPPINGS-1];
reg [63:0] map_hits_reg[0:NUM_MAPPINGS-1];
reg [63:0] xlate_pkts_reg = 0;
reg [63:0] pass_pkts_reg = 0;

// read mux in four register stages, as wp_fw's and wp_waypoint's: wp_axil_regs (RD_LATENCY 4)
// holds reg_rd_addr four cycles before it takes reg_rd_data. R1: the address decode as one-hot
// selects, one flip-flop per (mapping, word of its stride) and per hit counter, each the address
// compared with a constant (each select drives only its own word's AND terms, so it can sit
// beside its mapping's registers; an index mux sent the address to every mapping and the field
// back, two nets across the chip in the waypoint); the fixed registers one-hot. R2: per mapping
// the addressed word (an AND-OR over its 4 words, 0 when the mapping is not addressed); per
// group of GRP mappings the addressed hit counter; the fixed word and counter. R3: per group the
// OR of its mappings' words; the OR of the groups' counters and the fixed counter. R4: the OR of
// the groups' words and the fixed word at wp_reg_rd's input registers (IN_REG), which picks the
// counter word and keeps the HI latch. R1 is the writes' decode too (below).
localparam NW = MAP_STRIDE / 4;  // words per mapping stride: CTRL, MATCH_ADDR, NEW_ADDR, PORTS
localparam GRP = 4;              // mappings per group of the read mux
localparam NGRP = (NUM_MAPPINGS + GRP - 1) / GRP;

wire          rd_hits;
wp_reg_arr #(.ADDR_WIDTH(AW), .BASE(HITS_BASE), .STRIDE(HITS_STRIDE), .COUNT(NUM_MAPPINGS))
    rd_hits_inst (.addr(reg_rd_addr), .hit(rd_hits), .idx(), .off());
// a 64-bit register is two words: the address of its LO word with bit 2 (HI) cleared
wire [AW-1:0] rd_lo_addr = {reg_rd_addr[AW-1:3], 3'b000};

// R1: word w of mapping i selected (bit i*NW + w), hit counter i selected; the fixed registers,
// one-hot: {CAPS, VERSION, ID} and the counters {PASS, XLATE}_PKTS
reg [NUM_MAPPINGS*NW-1:0] r1_wsel_reg = 0;
reg [NUM_MAPPINGS-1:0]    r1_hsel_reg = 0;
reg                       r1_hits_reg = 1'b0;
reg [2:0]                 r1_fix_reg = 0;
reg [1:0]                 r1_cnt_reg = 0;
reg                       r1_ctrl_reg = 1'b0;  // CTRL (write only: the write's decode)
integer r, w, j;

always @(posedge clk) begin
    for (r = 0; r < NUM_MAPPINGS; r = r + 1) begin
        for (w = 0; w < NW; w = w + 1) begin
            r1_wsel_reg[r*NW + w] <= reg_rd_addr == MAP_BASE + r * MAP_STRIDE + 4 * w;
        end
        r1_hsel_reg[r] <= rd_lo_addr == HITS_BASE + r * HITS_STRIDE;
    end
    r1_hits_reg <= rd_hits;
    r1_fix_reg <= {reg_rd_addr == `WP_NAT_REG_CAPS, reg_rd_addr == `WP_NAT_REG_VERSION,
                   reg_rd_addr == `WP_NAT_REG_ID};
    r1_cnt_reg <= {rd_lo_addr == `WP_NAT_REG_PASS_PKTS, rd_lo_addr == `WP_NAT_REG_XLATE_PKTS};
    r1_ctrl_reg <= reg_rd_addr == `WP_NAT_REG_CTRL;
end

// Ones' complement addition (oc_part / oc_fin / oc_add, OC_W): wp_oc_add.vh, proved equal to
// the fold of the exact sum (sim/test_formal.py: test_oc_add_equiv)
`include "wp_oc_add.vh"

// mapping i: MAP_CTRL .. MAP_PORTS; hit counters MAP_HITS. Writes in two steps after the read
// decode: wp_axil_regs reads a register before it writes it (the strobe merge) through the same
// address register (reg_wr_addr is reg_rd_addr), held from the take through reg_wr_en, so the
// read decode's R1 one-hots above name the write's (mapping, word) and CTRL from two cycles
// after the take, four before reg_wr_en (RD_LATENCY 4). W2, at reg_wr_en, registers the word,
// its halves' ones' complement sum (oc_part: the reg_wr_data -> 16-bit oc_add -> w2_sum_reg
// chain was wp_nat's ECP5 path at 158b7ef, seed 1) and one write enable per mapping and field
// (reg_wr_en AND one R1 bit); W3 writes the register (MAP_NEW_ADDR and its sum, oc_fin,
// together) and clears the counters for CTRL.CLEAR. (A decode of its own was a second set of
// compares on the address register's fan-out.)
reg [NUM_MAPPINGS*4-1:0] w2_we_reg = 0;   // bit 4 i + f: write field f of mapping i
reg [31:0]               w2_data_reg = 0;
reg [OC_W-1:0]           w2_sum_p_reg = 0;
reg                      clear_reg = 1'b0;
// the counters' reset (rst or CTRL.CLEAR) from one flip-flop, a cycle after either: not a LUT
// in front of the ~1,150 counter bits' set/reset
reg                      cnt_rst_reg = 1'b0;

initial begin
    for (r = 0; r < NUM_MAPPINGS; r = r + 1) begin
        map_ctrl_reg[r] = 0; map_match_reg[r] = 0; map_new_reg[r] = 0; map_new_sum_reg[r] = 0;
        map_ports_reg[r] = 0;
        map_hits_reg[r] = 0;
    end
end

always @(posedge clk) begin
    // R1's word w of mapping i (bit 4 i + w, NW = 4) is field w: CTRL, MATCH_ADDR, NEW_ADDR, PORTS
    for (r = 0; r < NUM_MAPPINGS * 4; r = r + 1) w2_we_reg[r] <= reg_wr_en && r1_wsel_reg[r];
    w2_data_reg <= reg_wr_data;
    w2_sum_p_reg <= oc_part(reg_wr_data[31:16], reg_wr_data[15:0]);
    clear_reg <= reg_wr_en && r1_ctrl_reg && reg_wr_data[`WP_NAT_REG_CTRL_CLEAR_LSB];
    cnt_rst_reg <= rst || clear_reg;
    for (r = 0; r < NUM_MAPPINGS; r = r + 1) begin
        if (w2_we_reg[r*4 + 0]) map_ctrl_reg[r] <= w2_data_reg[2:0];
        if (w2_we_reg[r*4 + 1]) map_match_reg[r] <= w2_data_reg;
        if (w2_we_reg[r*4 + 2]) begin
            map_new_reg[r] <= w2_data_reg;
            map_new_sum_reg[r] <= oc_fin(w2_sum_p_reg);
        end
        if (w2_we_reg[r*4 + 3]) map_ports_reg[r] <= w2_data_reg;
    end
    if (rst) begin
        w2_we_reg <= 0;
        clear_reg <= 1'b0;
        for (r = 0; r < NUM_MAPPINGS; r = r + 1) map_ctrl_reg[r] <= 0;
    end
end


// each mapping's stride as NW words (unused bits 0); a function behind a continuous assignment
// (Icarus runs no always @* whose inputs keep their initial values)
function [NW*32-1:0] stride_words(input [2:0] ctrl, input [31:0] match, input [31:0] new_addr,
                                  input [31:0] ports);
    begin
        stride_words = 0;
        stride_words[(`WP_NAT_REG_MAP_CTRL - MAP_BASE)*8 +: 3] = ctrl;
        stride_words[(`WP_NAT_REG_MAP_MATCH_ADDR - MAP_BASE)*8 +: 32] = match;
        stride_words[(`WP_NAT_REG_MAP_NEW_ADDR - MAP_BASE)*8 +: 32] = new_addr;
        stride_words[(`WP_NAT_REG_MAP_PORTS - MAP_BASE)*8 +: 32] = ports;
    end
endfunction

wire [NUM_MAPPINGS*NW*32-1:0] map_words;
genvar gm;
generate
    for (gm = 0; gm < NUM_MAPPINGS; gm = gm + 1) begin : g_rd_words
        assign map_words[gm*NW*32 +: NW*32] = stride_words(map_ctrl_reg[gm], map_match_reg[gm],
            map_new_reg[gm], map_ports_reg[gm]);
    end
endgenerate

// R2: per mapping, the selected word (AND-OR over its NW words; 0 when none is selected); per
// group, the selected hit counter; the fixed word and counter
reg [NUM_MAPPINGS*32-1:0] r2_mword_reg = 0;
reg [NGRP*64-1:0]         r2_hcnt_reg = 0;
reg                       r2_hits_reg = 1'b0;
reg [31:0]                r2_fix_reg = 0;
reg [63:0]                r2_fcnt_reg = 0;
reg                       r2_fsel_reg = 1'b0;
reg [31:0]                mword;
reg [63:0]                gcnt;

always @(posedge clk) begin
    for (r = 0; r < NUM_MAPPINGS; r = r + 1) begin
        mword = 0;
        for (w = 0; w < NW; w = w + 1) begin
            mword = mword | ({32{r1_wsel_reg[r*NW + w]}} & map_words[(r*NW + w)*32 +: 32]);
        end
        r2_mword_reg[r*32 +: 32] <= mword;
    end
    for (j = 0; j < NGRP; j = j + 1) begin
        gcnt = 0;
        for (r = j * GRP; r < j * GRP + GRP && r < NUM_MAPPINGS; r = r + 1) begin
            gcnt = gcnt | ({64{r1_hsel_reg[r]}} & map_hits_reg[r]);
        end
        r2_hcnt_reg[j*64 +: 64] <= gcnt;
    end
    r2_hits_reg <= r1_hits_reg;
    r2_fix_reg <= ({32{r1_fix_reg[0]}} & `WP_NAT_BLOCK_ID)
                  | ({32{r1_fix_reg[1]}} & `WP_NAT_BLOCK_VERSION)
                  | ({32{r1_fix_reg[2]}} & NUM_MAPPINGS);
    r2_fcnt_reg <= ({64{r1_cnt_reg[0]}} & xlate_pkts_reg) | ({64{r1_cnt_reg[1]}} & pass_pkts_reg);
    r2_fsel_reg <= |r1_cnt_reg;
end

// R3, R4: the OR of the groups (wp_reg_rd_or)
wp_reg_rd_or #(.ADDR_WIDTH(AW), .COUNT(NUM_MAPPINGS), .GRP(GRP)) reg_rd_inst (
    .clk(clk), .rd_en(reg_rd_en), .rd_addr(reg_rd_addr),
    .elem_word(r2_mword_reg), .grp_cnt(r2_hcnt_reg), .fix_word(r2_fix_reg),
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

// Per-frame context carried through the stages unchanged: {dec, si, l3, l4, udp, tcp,
// a_src, a_dst, l4x_src, l4x_dst, ip_csum, l4_csum, l4_csum_ok, l4_csum == 0}
localparam CTX_W = 1 + 8 + 8 + 8 + 1 + 1 + 6 * 16 + 1 + 1;

// E0: the parser's outputs registered again: the context once, and the addresses and ports
// in one copy per group of GRP mappings, which that group's compares read (the parser's output
// register fanned out to every mapping's compares, a 2.35 ns net, was wp_nat's ECP5 path at
// 1d10682, seed 1; wp_fw does the same): wp_reg_copies.
localparam KEY_W = 32 + 32 + 16 + 16;  // {src, dst, sport, dport}
wire [NGRP*KEY_W-1:0] e0_key;
wp_reg_copies #(.WIDTH(KEY_W), .COPIES(NGRP)) key_copies_inst (
    .clk(clk), .rst(1'b0), .en(1'b1), .d({hdr_src, hdr_dst, hdr_sport, hdr_dport}), .q(e0_key)
);

// E1: per mapping, the byte compares of the source and destination address with its match
// address and of both ports with its port (no select by DNAT yet: one byte is one LUT level and
// an AND of two), registered; the context with the addresses and ports as they are (E1M and
// E2 add the address halves' ones' complement sums for both directions, oc_part then oc_fin:
// the mapping, so SNAT or DNAT, is known only in E3)
localparam EQ_W = 12;  // {src bytes equal [3:0], dst [3:0], sport [1:0], dport [1:0]}
reg [NUM_MAPPINGS*EQ_W-1:0] e1_eq_reg = 0;
reg        e1_valid_reg = 1'b0;
reg        e1_ipv4_reg = 1'b0;
reg        e1_ports_reg = 1'b0;
// {the context's fields before a_src, src, dst, sport, dport, the fields after l4x_dst}
localparam CTX1_W = CTX_W - 4 * 16 + 32 + 32 + 16 + 16;
reg [CTX1_W-1:0] e1_ctx_reg = 0;
reg        e0_valid_reg = 1'b0;
reg        e0_ipv4_reg = 1'b0;
reg        e0_ports_reg = 1'b0;
reg [CTX1_W-1:0] e0_ctx_reg = 0;

integer m, k;
reg [KEY_W-1:0] key;
always @(posedge clk) begin
    e0_valid_reg <= hdr_valid;
    e0_ipv4_reg <= hdr_ipv4;
    e0_ports_reg <= hdr_ports;
    e0_ctx_reg <= {hdr_nsh_valid && hdr_si != 8'd0, hdr_si, hdr_l3, hdr_l4,
                   hdr_proto == `WP_IP_PROTO_UDP, hdr_proto == `WP_IP_PROTO_TCP,
                   hdr_src, hdr_dst, hdr_sport, hdr_dport, hdr_ip_csum, hdr_l4_csum,
                   hdr_l4_csum_ok, hdr_l4_csum == 16'd0};
    e1_valid_reg <= e0_valid_reg;
    e1_ipv4_reg <= e0_ipv4_reg;
    e1_ports_reg <= e0_ports_reg;
    e1_ctx_reg <= e0_ctx_reg;
    for (m = 0; m < NUM_MAPPINGS; m = m + 1) begin
        key = e0_key[(m / GRP)*KEY_W +: KEY_W];  // {src, dst, sport, dport}
        for (k = 0; k < 4; k = k + 1) begin
            e1_eq_reg[m*EQ_W + 8 + k] <= key[64 + k*8 +: 8] == map_match_reg[m][k*8 +: 8];
            e1_eq_reg[m*EQ_W + 4 + k] <= key[32 + k*8 +: 8] == map_match_reg[m][k*8 +: 8];
        end
        for (k = 0; k < 2; k = k + 1) begin
            e1_eq_reg[m*EQ_W + 2 + k] <= key[16 + k*8 +: 8] == map_ports_reg[m][k*8 +: 8];
            e1_eq_reg[m*EQ_W + k] <= key[k*8 +: 8] == map_ports_reg[m][k*8 +: 8];
        end
    end
    if (rst) begin
        e0_valid_reg <= 1'b0;
        e1_valid_reg <= 1'b0;
    end
end

// E1M: per mapping, matched: valid, the address of its direction equal, and with PORT_EN the
// port too
reg [NUM_MAPPINGS-1:0] e1m_match_reg = 0;
reg        e1m_valid_reg = 1'b0;
reg [CTX_W-1:0] e1m_ctx_reg = 0;  // the four sums' places 0: they are in e1m_oc_reg
reg [4*OC_W-1:0] e1m_oc_reg = 0;  // the four sums' first steps (oc_part)

reg [EQ_W-1:0] eq_m;
reg            dnat_m;
// E1's context with the four sums in place of the addresses and ports
localparam CTX_TAIL = 16 + 16 + 1 + 1;  // ip_csum, l4_csum, l4_csum_ok, l4_csum == 0
wire [31:0] e1_src = e1_ctx_reg[CTX_TAIL + 64 +: 32];
wire [31:0] e1_dst = e1_ctx_reg[CTX_TAIL + 32 +: 32];
wire [15:0] e1_sport = e1_ctx_reg[CTX_TAIL + 16 +: 16];
wire [15:0] e1_dport = e1_ctx_reg[CTX_TAIL +: 16];
wire [15:0] e1_l4_csum = e1_ctx_reg[2 +: 16];
always @(posedge clk) begin
    e1m_valid_reg <= e1_valid_reg;
    e1m_ctx_reg <= {e1_ctx_reg[CTX1_W-1:CTX_TAIL + 96], 64'd0, e1_ctx_reg[CTX_TAIL-1:0]};
    e1m_oc_reg <= {oc_part(~e1_src[31:16], ~e1_src[15:0]), oc_part(~e1_dst[31:16], ~e1_dst[15:0]),
                   oc_part(~e1_l4_csum, ~e1_sport), oc_part(~e1_l4_csum, ~e1_dport)};
    for (m = 0; m < NUM_MAPPINGS; m = m + 1) begin
        eq_m = e1_eq_reg[m*EQ_W +: EQ_W];
        dnat_m = map_ctrl_reg[m][`WP_NAT_REG_MAP_CTRL_DNAT_LSB];
        e1m_match_reg[m] <= e1_ipv4_reg && map_ctrl_reg[m][`WP_NAT_REG_MAP_CTRL_VALID_LSB]
            && (dnat_m ? &eq_m[7:4] : &eq_m[11:8])
            && (!map_ctrl_reg[m][`WP_NAT_REG_MAP_CTRL_PORT_EN_LSB]
                || (e1_ports_reg && (dnat_m ? &eq_m[1:0] : &eq_m[3:2])));
    end
    if (rst) e1m_valid_reg <= 1'b0;
end

// E2A / E2: the priority (lowest index) as a one-hot vector, in two steps as wp_fw's: E2A per
// group of GRP mappings whether one matches and its lowest match as a one-hot vector within
// the group (wp_first_onehot with GROUP = GRP); E2 mapping i wins when it is its group's and
// no lower group matches. (The one-hot over all 16 in one cycle, 4 levels, was wp_nat's ECP5
// path at 6603062: 5.25 ns, 79 % routing.) E2A also finishes the four sums (oc_fin). GRP and
// NGRP: the register read mux's groups (above).
wire [NUM_MAPPINGS-1:0] e1m_lfirst;
wire [NGRP-1:0]         e1m_gany;
wp_first_onehot #(.WIDTH(NUM_MAPPINGS), .GROUP(GRP)) first_inst (
    .v(e1m_match_reg), .onehot(e1m_lfirst), .any(e1m_gany)
);

reg [NUM_MAPPINGS-1:0] e2a_lfirst_reg = 0;  // per group: its lowest matching mapping, one-hot
reg [NGRP-1:0]     e2a_gany_reg = 0;    // per group: one of its mappings matches
reg                e2a_valid_reg = 1'b0;
reg [CTX_W-1:0]    e2a_ctx_reg = 0;

always @(posedge clk) begin
    e2a_lfirst_reg <= e1m_lfirst;
    e2a_gany_reg <= e1m_gany;
    e2a_valid_reg <= e1m_valid_reg;
    e2a_ctx_reg <= {e1m_ctx_reg[CTX_W-1:CTX_TAIL + 64],
                    oc_fin(e1m_oc_reg[3*OC_W +: OC_W]), oc_fin(e1m_oc_reg[2*OC_W +: OC_W]),
                    oc_fin(e1m_oc_reg[OC_W +: OC_W]), oc_fin(e1m_oc_reg[0 +: OC_W]),
                    e1m_ctx_reg[CTX_TAIL-1:0]};
    if (rst) e2a_valid_reg <= 1'b0;
end

reg [NUM_MAPPINGS-1:0] e2_first_reg = 0;
reg        e2_hit_reg = 1'b0;
reg        e2_valid_reg = 1'b0;
reg [CTX_W-1:0] e2_ctx_reg = 0;

always @(posedge clk) begin
    for (m = 0; m < NUM_MAPPINGS; m = m + 1) begin
        e2_first_reg[m] <= e2a_lfirst_reg[m]
                           && (e2a_gany_reg & ~({NGRP{1'b1}} << (m / GRP))) == 0;
    end
    e2_hit_reg <= |e2a_gany_reg;
    e2_valid_reg <= e2a_valid_reg;
    e2_ctx_reg <= e2a_ctx_reg;
    if (rst) e2_valid_reg <= 1'b0;
end

// E3A / E3B: the winning mapping's fields, an AND-OR over the one-hot vector in two steps
// (E3A: per group of four mappings, E3B: the groups); the counters; each mapping's hit counter
// increments itself when its one-hot bit is set
localparam SEL_W = 66;  // {dnat, port_en, new addr, new addr sum, new port}
localparam NG = (NUM_MAPPINGS + 3) / 4;
wire [NUM_MAPPINGS*SEL_W-1:0] map_fields;
genvar g;
generate
    for (g = 0; g < NUM_MAPPINGS; g = g + 1) begin : g_fields
        assign map_fields[g*SEL_W +: SEL_W] =
            {map_ctrl_reg[g][`WP_NAT_REG_MAP_CTRL_DNAT_LSB],
             map_ctrl_reg[g][`WP_NAT_REG_MAP_CTRL_PORT_EN_LSB], map_new_reg[g],
             map_new_sum_reg[g], map_ports_reg[g][31:16]};
    end
endgenerate

function [NG*SEL_W-1:0] group_or(input [NUM_MAPPINGS-1:0] first,
    input [NUM_MAPPINGS*SEL_W-1:0] fields);
    integer i;
    begin
        group_or = 0;
        for (i = 0; i < NUM_MAPPINGS; i = i + 1) begin
            if (first[i]) group_or[(i/4)*SEL_W +: SEL_W] = group_or[(i/4)*SEL_W +: SEL_W]
                | fields[i*SEL_W +: SEL_W];
        end
    end
endfunction

function [SEL_W-1:0] all_or(input [NG*SEL_W-1:0] parts);
    integer i;
    begin
        all_or = 0;
        for (i = 0; i < NG; i = i + 1) all_or = all_or | parts[i*SEL_W +: SEL_W];
    end
endfunction

reg [NG*SEL_W-1:0] e3a_part_reg = 0;
reg        e3a_valid_reg = 1'b0;
reg        e3a_hit_reg = 1'b0;
reg [CTX_W-1:0] e3a_ctx_reg = 0;

always @(posedge clk) begin
    e3a_part_reg <= group_or(e2_first_reg, map_fields);
    e3a_valid_reg <= e2_valid_reg;
    e3a_hit_reg <= e2_hit_reg;
    e3a_ctx_reg <= e2_ctx_reg;
    if (e2_valid_reg) begin
        if (e2_hit_reg) xlate_pkts_reg <= xlate_pkts_reg + 1;
        else pass_pkts_reg <= pass_pkts_reg + 1;
    end
    for (m = 0; m < NUM_MAPPINGS; m = m + 1) begin
        if (e2_valid_reg && e2_first_reg[m]) map_hits_reg[m] <= map_hits_reg[m] + 1;
    end
    if (cnt_rst_reg) begin
        xlate_pkts_reg <= 0;
        pass_pkts_reg <= 0;
        for (r = 0; r < NUM_MAPPINGS; r = r + 1) map_hits_reg[r] <= 0;
    end
    if (rst) e3a_valid_reg <= 1'b0;
end

// E3B also selects, by the mapping's direction, the old address's sum and the L4 checksum
// with the old port
wire [SEL_W-1:0] e3a_sel = all_or(e3a_part_reg);
wire        e3a_dnat = e3a_sel[SEL_W-1];
wire        e3a_dec, e3a_udp, e3a_tcp, e3a_l4_csum_ok, e3a_l4_zero;
wire [7:0]  e3a_si, e3a_l3, e3a_l4;
wire [15:0] e3a_a_src, e3a_a_dst, e3a_l4x_src, e3a_l4x_dst, e3a_ip_csum, e3a_l4_csum;
assign {e3a_dec, e3a_si, e3a_l3, e3a_l4, e3a_udp, e3a_tcp, e3a_a_src, e3a_a_dst, e3a_l4x_src,
        e3a_l4x_dst, e3a_ip_csum, e3a_l4_csum, e3a_l4_csum_ok, e3a_l4_zero} = e3a_ctx_reg;

reg        e3_valid_reg = 1'b0;
reg        e3_hit_reg = 1'b0;
reg        e3_dnat_reg = 1'b0;
reg        e3_port_en_reg = 1'b0;
reg [31:0] e3_new_addr_reg = 0;
reg [15:0] e3_new_sum_reg = 0;
reg [15:0] e3_new_port_reg = 0;
reg [15:0] e3_a_reg = 0;    // ~old[31:16] +' ~old[15:0] of the rewritten address
reg [15:0] e3_l4x_reg = 0;  // ~l4_csum +' ~old port of the rewritten port
reg        e3_dec_reg = 1'b0;
reg [7:0]  e3_si_reg = 0;
reg [7:0]  e3_l3_reg = 0;
reg [7:0]  e3_l4_reg = 0;
reg        e3_udp_reg = 1'b0;
reg        e3_tcp_reg = 1'b0;
reg [15:0] e3_ip_csum_reg = 0;
reg [15:0] e3_l4_csum_reg = 0;
reg        e3_l4_csum_ok_reg = 1'b0;
reg        e3_l4_zero_reg = 1'b0;
// the new port in two registers, one for E4's port adder, one for the copy to the action FIFO
// (one register for both was E3 -> E4's 2.76 ns first net on ECP5). keep on both always blocks
// keeps yosys from merging them (with keep on one alone, it removes the other)
reg [15:0] e3_add_port_reg = 0;

(* keep *)
always @(posedge clk) e3_new_port_reg <= e3a_sel[15:0];
(* keep *)
always @(posedge clk) e3_add_port_reg <= e3a_sel[15:0];

always @(posedge clk) begin
    e3_valid_reg <= e3a_valid_reg;
    e3_hit_reg <= e3a_hit_reg;
    {e3_dnat_reg, e3_port_en_reg, e3_new_addr_reg, e3_new_sum_reg} <= e3a_sel[SEL_W-1:16];
    e3_a_reg <= e3a_dnat ? e3a_a_dst : e3a_a_src;
    e3_l4x_reg <= e3a_dnat ? e3a_l4x_dst : e3a_l4x_src;
    e3_dec_reg <= e3a_dec;
    e3_si_reg <= e3a_si;
    e3_l3_reg <= e3a_l3;
    e3_l4_reg <= e3a_l4;
    e3_udp_reg <= e3a_udp;
    e3_tcp_reg <= e3a_tcp;
    e3_ip_csum_reg <= e3a_ip_csum;
    e3_l4_csum_reg <= e3a_l4_csum;
    e3_l4_csum_ok_reg <= e3a_l4_csum_ok;
    e3_l4_zero_reg <= e3a_l4_zero;
    if (rst) e3_valid_reg <= 1'b0;
end

// E4 .. E5F: the new checksums (RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m')), each ones'
// complement add in two steps (wp_oc_add.vh: oc_part, a register, oc_fin; no carry chain is
// longer than 9 bits): E4 / E4F the address delta ad = ~old +' new and the L4 checksum with
// the port delta (l4q = ~l4_csum +' ~old port +' new port with PORT_EN, else ~l4_csum +' 0 =
// ~l4_csum), E5 / E5F the IPv4 checksum ~(~ip_csum +' ad) and the L4 one ~(l4q +' ad). (One
// 16-bit oc_add a stage, E4 then E5, was wp_nat's ECP5 path at 88e7d07: E4 -> E5, 17 cells,
// 5.47 ns.) E4 also works out the patch offsets (header offset + field offset), carried with
// the other fields the action needs (PASS_W) to E5F.
// {hit, port_en, new_addr, new_port, dec, si, addr_off, ip_csum_off, port_off, l4_csum_off,
//  udp, l4_patch}
localparam PASS_W = 1 + 1 + 32 + 16 + 1 + 8 + 4 * 8 + 1 + 1;
reg              e4_valid_reg = 1'b0;
reg [PASS_W-1:0] e4_pass_reg = 0;
reg [OC_W-1:0]   e4_ad_p_reg = 0;   // the address delta, oc_part
reg [OC_W-1:0]   e4_l4q_p_reg = 0;  // l4q, oc_part
reg [15:0]       e4_ip_csum_reg = 0;

always @(posedge clk) begin
    e4_valid_reg <= e3_valid_reg;
    e4_pass_reg <= {e3_hit_reg, e3_port_en_reg, e3_new_addr_reg, e3_new_port_reg, e3_dec_reg,
                    e3_si_reg, e3_l3_reg + (e3_dnat_reg ? IP_DST : IP_SRC), e3_l3_reg + IP_CSUM,
                    e3_l4_reg + (e3_dnat_reg ? L4_DPORT : L4_SPORT),
                    e3_l4_reg + (e3_tcp_reg ? TCP_CSUM : UDP_CSUM), e3_udp_reg,
                    e3_hit_reg && e3_l4_csum_ok_reg && !(e3_udp_reg && e3_l4_zero_reg)};
    e4_ad_p_reg <= oc_part(e3_a_reg, e3_new_sum_reg);
    e4_l4q_p_reg <= oc_part(e3_port_en_reg ? e3_l4x_reg : ~e3_l4_csum_reg,
                            e3_port_en_reg ? e3_add_port_reg : 16'd0);
    e4_ip_csum_reg <= e3_ip_csum_reg;
    if (rst) e4_valid_reg <= 1'b0;
end

reg              e4f_valid_reg = 1'b0;
reg [PASS_W-1:0] e4f_pass_reg = 0;
reg [15:0]       e4f_ad_reg = 0;
reg [15:0]       e4f_l4q_reg = 0;
reg [15:0]       e4f_ip_csum_reg = 0;

always @(posedge clk) begin
    e4f_valid_reg <= e4_valid_reg;
    e4f_pass_reg <= e4_pass_reg;
    e4f_ad_reg <= oc_fin(e4_ad_p_reg);
    e4f_l4q_reg <= oc_fin(e4_l4q_p_reg);
    e4f_ip_csum_reg <= e4_ip_csum_reg;
    if (rst) e4f_valid_reg <= 1'b0;
end

// E5: l4 = ~(l4q +' ad) is 0 exactly when l4q + ad is 0xFFFF or 0x1FFFE: tested on l4q and ad
// beside the adder, per nibble here (l4q == ~ad, both all ones) and the nibbles' AND in E5F
// (the 16-bit test in one stage, which yosys built on the adder's sum bits, was wp_nat's ECP5
// path at the join rebuild, seed 2: e4f_ad_reg -> the adder -> 5 LUT levels)
reg              e5_valid_reg = 1'b0;
reg [PASS_W-1:0] e5_pass_reg = 0;
reg [OC_W-1:0]   e5_ip_p_reg = 0;   // ~ip_csum +' ad, oc_part
reg [OC_W-1:0]   e5_l4c_p_reg = 0;  // l4q +' ad, oc_part
reg [3:0]        e5_l4_inv_reg = 0;   // per nibble: l4q == ~ad
reg [3:0]        e5_l4_ones_reg = 0;  // per nibble: l4q and ad all ones

function [3:0] nib_inv(input [15:0] x, input [15:0] y);
    integer i;
    begin
        for (i = 0; i < 4; i = i + 1) nib_inv[i] = x[4*i +: 4] == ~y[4*i +: 4];
    end
endfunction

function [3:0] nib_ones(input [15:0] x, input [15:0] y);
    integer i;
    begin
        for (i = 0; i < 4; i = i + 1) nib_ones[i] = &x[4*i +: 4] && &y[4*i +: 4];
    end
endfunction

always @(posedge clk) begin
    e5_valid_reg <= e4f_valid_reg;
    e5_pass_reg <= e4f_pass_reg;
    e5_ip_p_reg <= oc_part(~e4f_ip_csum_reg, e4f_ad_reg);
    e5_l4c_p_reg <= oc_part(e4f_l4q_reg, e4f_ad_reg);
    e5_l4_inv_reg <= nib_inv(e4f_l4q_reg, e4f_ad_reg);
    e5_l4_ones_reg <= nib_ones(e4f_l4q_reg, e4f_ad_reg);
    if (rst) e5_valid_reg <= 1'b0;
end

reg              e5f_valid_reg = 1'b0;
reg [PASS_W-1:0] e5f_pass_reg = 0;
reg [15:0]       e5f_ip_csum_new_reg = 0;
reg [15:0]       e5f_l4_csum_calc_reg = 0;
reg              e5f_l4_calc_zero_reg = 1'b0;

always @(posedge clk) begin
    e5f_valid_reg <= e5_valid_reg;
    e5f_pass_reg <= e5_pass_reg;
    e5f_ip_csum_new_reg <= ~oc_fin(e5_ip_p_reg);
    e5f_l4_csum_calc_reg <= ~oc_fin(e5_l4c_p_reg);
    e5f_l4_calc_zero_reg <= &e5_l4_inv_reg || &e5_l4_ones_reg;
    if (rst) e5f_valid_reg <= 1'b0;
end

wire        e5f_hit, e5f_port_en, e5f_dec, e5f_udp, e5f_l4_patch;
wire [31:0] e5f_new_addr;
wire [15:0] e5f_new_port;
wire [7:0]  e5f_si, e5f_addr_off, e5f_ip_csum_off, e5f_port_off, e5f_l4_csum_off;
assign {e5f_hit, e5f_port_en, e5f_new_addr, e5f_new_port, e5f_dec, e5f_si, e5f_addr_off,
        e5f_ip_csum_off, e5f_port_off, e5f_l4_csum_off, e5f_udp, e5f_l4_patch} = e5f_pass_reg;

wire [15:0] l4_csum_new = (e5f_udp && e5f_l4_calc_zero_reg) ? 16'hFFFF : e5f_l4_csum_calc_reg;

// byte patches (wp_pe_out): SI, the rewritten address, the IPv4 checksum, the rewritten port,
// the L4 checksum. The action FIFO holds only their variable bits (124 of 215): per patch its
// flag and its offset and value, already 0 without the flag; after the FIFO, each patch is
// rebuilt by wiring alone (a constant bit of a patch that is 1 is its flag, the rest 0), so
// the same patches reach wp_pe_out as before
localparam ACT_W = 9 + 41 + 24 + 25 + 25;
reg             act_valid_reg = 1'b0;
reg [ACT_W-1:0] act_pack_reg = 0;

always @(posedge clk) begin
    act_valid_reg <= e5f_valid_reg;
    act_pack_reg <= {
        e5f_dec, e5f_dec ? e5f_si - 8'd1 : 8'd0,
        e5f_hit, e5f_hit ? {e5f_addr_off, e5f_new_addr} : 40'd0,
        e5f_hit ? {e5f_ip_csum_off, e5f_ip_csum_new_reg} : 24'd0,
        e5f_hit && e5f_port_en,
        (e5f_hit && e5f_port_en) ? {e5f_port_off, e5f_new_port} : 24'd0,
        e5f_l4_patch, e5f_l4_patch ? {e5f_l4_csum_off, l4_csum_new} : 24'd0
    };
    if (rst) act_valid_reg <= 1'b0;
end

wire [ACT_W-1:0]  act_m_pack;
wire        am_dec, am_hit, am_pf, am_lf;
wire [7:0]  am_si, am_addr_off, am_ip_off, am_port_off, am_l4_off;
wire [31:0] am_addr;
wire [15:0] am_ip_csum, am_port, am_l4_csum;
assign {am_dec, am_si, am_hit, am_addr_off, am_addr, am_ip_off, am_ip_csum, am_pf, am_port_off,
        am_port, am_lf, am_l4_off, am_l4_csum} = act_m_pack;
wire [NUM_PATCH*`WP_PATCH_WIDTH-1:0] act_m_patch = {
    am_dec ? 8'd`WP_NSH_SI_OFF : 8'd0, am_dec ? 3'd1 : 3'd0, 24'd0, am_si,  // WP_PATCH_SI_DEC
    am_addr_off, am_hit ? 3'd4 : 3'd0, am_addr,
    am_ip_off, am_hit ? 3'd2 : 3'd0, 16'd0, am_ip_csum,
    am_port_off, am_pf ? 3'd2 : 3'd0, 16'd0, am_port,
    am_l4_off, am_lf ? 3'd2 : 3'd0, 16'd0, am_l4_csum
};

// wp_pe_out queues the frames and the packed actions (ACT_DECODE: act_m_pack is the action
// FIFO's head, decoded above by wiring; NAT drops nothing). FREE_WRITE: the frame FIFO's LUT
// RAM is written every cycle (its write enables were the path on ECP5: the full flag -> push ->
// ~300 RAM cells); it holds one beat fewer. The heads in slices, each loaded by a take
// flip-flop of its own: the action FIFO's head load, one net to ~150 enables, was wp_nat's
// ECP5 path at c0ebbe1; the frame FIFO's in 16 (with 8, the action FIFO's valid -> wp_pe_out's
// ready -> a slice's enable, a 2.27 ns net to its ~52 flip-flops, was the path at 1d10682,
// seeds 2 and 3)
wp_pe_out #(.DATA_WIDTH(DATA_WIDTH), .USER_WIDTH(USER_WIDTH), .NUM_PATCH(NUM_PATCH),
    .ACT_W(ACT_W), .ACT_DECODE(1), .ACT_DROP_BIT(-1), .FIFO_DEPTH_LOG2(FIFO_DEPTH_LOG2),
    .FREE_WRITE(1), .FRAME_SLICES(16), .ACT_SLICES(4)) out_inst (
    .clk(clk), .rst(rst),
    .s_axis_tdata(s_axis_tdata), .s_axis_tkeep(s_axis_tkeep), .s_axis_tuser(s_axis_tuser),
    .s_axis_tlast(s_axis_tlast), .s_axis_tvalid(s_axis_tvalid), .s_axis_tready(fifo_s_ready),
    .act_valid(act_valid_reg), .act_word(act_pack_reg), .act_head(act_m_pack),
    .act_patch(act_m_patch),
    .m_axis_tdata(m_axis_tdata), .m_axis_tkeep(m_axis_tkeep), .m_axis_tuser(m_axis_tuser),
    .m_axis_tlast(m_axis_tlast), .m_axis_tvalid(m_axis_tvalid), .m_axis_tready(m_axis_tready)
);

endmodule

`resetall
