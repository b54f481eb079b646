/*
 * wphw — wp_ids: signature-matching IDS PE.
 *
 * NUM_SIGS register-programmed byte signatures (1..16 bytes) are matched anywhere inside the
 * L4 payload of the inner IPv4 packet (after the TCP/UDP header; the whole IPv4 payload for
 * other protocols, non-first fragments and IHL > 5), across beat boundaries: every cycle each
 * of the 32 bytes of the beat looks up a table word (block RAM) saying at which place of
 * which signature it may stand, and a signature ends where 16 looked-up bits along a
 * diagonal (this beat and the last 15 lanes of the previous one) are all 1 (see "Match
 * tables" below; docs/hardware.md). Pipeline: A input register and parse (every place the
 * IPv4 header can start), Q the place picked, P parse results registered and table lookup,
 * B match (diagonal ANDs), H the signatures hit, C decision and frame FIFO write, R frame FIFO read
 * (block RAM), S its word and the frame's decision registered, M output register with the SI / DSCP patch. The frame's action is the strongest action
 * of the signatures it contains (drop > mark > pass); mark sets the IPv4 DSCP to MARK_DSCP
 * (incremental checksum update, RFC 1624). Frames are stored in a frame FIFO and committed
 * (or rolled back, for drop) at tlast, so the PE is store-and-forward; frames longer than the
 * FIFO are dropped and counted. NSH SI is decremented by the rule shared by all PEs.
 */

`resetall
`timescale 1ns / 1ps
`default_nettype none

`include "wp_regmap.vh"
`include "wp_frame.vh"

module wp_ids #
(
    // AXI4-Stream data width (fixed: 256)
    parameter DATA_WIDTH = 256,
    // AXI4-Stream tkeep width
    parameter KEEP_WIDTH = DATA_WIDTH/8,
    // AXI4-Stream tuser width
    parameter USER_WIDTH = `WP_TUSER_WIDTH,
    // AXI-Lite address width (the block decodes the low 12 bits)
    parameter AXIL_ADDR_WIDTH = 12,
    // number of signatures implemented (1..16)
    parameter NUM_SIGS = 4,
    // reset value of CONFIG.DEC_SI
    parameter DEC_SI = 1,
    // frame FIFO depth in beats (power of two); longer frames are dropped
    parameter FRAME_DEPTH = 512
)
(
    input  wire                       clk,
    input  wire                       rst,

    input  wire [DATA_WIDTH-1:0]      s_axis_tdata,
    input  wire [KEEP_WIDTH-1:0]      s_axis_tkeep,
    input  wire                       s_axis_tvalid,
    output wire                       s_axis_tready,
    input  wire                       s_axis_tlast,
    input  wire [USER_WIDTH-1:0]      s_axis_tuser,

    output wire [DATA_WIDTH-1:0]      m_axis_tdata,
    output wire [KEEP_WIDTH-1:0]      m_axis_tkeep,
    output wire                       m_axis_tvalid,
    input  wire                       m_axis_tready,
    output wire                       m_axis_tlast,
    output wire [USER_WIDTH-1:0]      m_axis_tuser,

    input  wire [AXIL_ADDR_WIDTH-1:0] s_axil_awaddr,
    input  wire [2:0]                 s_axil_awprot,
    input  wire                       s_axil_awvalid,
    output wire                       s_axil_awready,
    input  wire [31:0]                s_axil_wdata,
    input  wire [3:0]                 s_axil_wstrb,
    input  wire                       s_axil_wvalid,
    output wire                       s_axil_wready,
    output wire [1:0]                 s_axil_bresp,
    output wire                       s_axil_bvalid,
    input  wire                       s_axil_bready,
    input  wire [AXIL_ADDR_WIDTH-1:0] s_axil_araddr,
    input  wire [2:0]                 s_axil_arprot,
    input  wire                       s_axil_arvalid,
    output wire                       s_axil_arready,
    output wire [31:0]                s_axil_rdata,
    output wire [1:0]                 s_axil_rresp,
    output wire                       s_axil_rvalid,
    input  wire                       s_axil_rready
);

localparam ADDR_WIDTH = $clog2(FRAME_DEPTH);
localparam MEM_WIDTH = USER_WIDTH + 1 + KEEP_WIDTH + DATA_WIDTH;
// decision: si_dec, mark, l3[5:0], tos[7:0], csum[15:0]
localparam DEC_WIDTH = 2 + 6 + 8 + 16;
localparam HB_BYTES = 96;  // header bytes kept for parsing (beats 0..2)

initial begin
    if (DATA_WIDTH != 256 || KEEP_WIDTH != 32) begin
        $error("Error: wp_ids supports DATA_WIDTH 256 / KEEP_WIDTH 32 only (instance %m)");
        $finish;
    end
    if (NUM_SIGS < 1 || NUM_SIGS > 16) begin
        $error("Error: NUM_SIGS must be 1..16 (instance %m)");
        $finish;
    end
    if (FRAME_DEPTH < 4 || (1 << ADDR_WIDTH) != FRAME_DEPTH) begin
        $error("Error: FRAME_DEPTH must be a power of two >= 4 (instance %m)");
        $finish;
    end
    if (AXIL_ADDR_WIDTH < 12) begin
        $error("Error: AXIL_ADDR_WIDTH must be at least 12 (instance %m)");
        $finish;
    end
end

// ------------------------------------------------------------------------------------------
// Registers: the shared AXI4-Lite slave (wp_axil_regs: byte strobes merged with the register's
// current value, read through the read port below), array decode (wp_reg_arr) and 64-bit
// counters with the HI latch (wp_reg_rd)
// ------------------------------------------------------------------------------------------

localparam AW = `WP_BLOCK_ADDR_WIDTH;
localparam SIG_BASE = `WP_IDS_REG_SIG_CTRL;
localparam SIG_STRIDE = `WP_IDS_REG_SIG_CTRL_STRIDE;
localparam HITS_BASE = `WP_IDS_REG_SIG_HITS;
localparam HITS_STRIDE = `WP_IDS_REG_SIG_HITS_STRIDE;
localparam SIG_W = NUM_SIGS > 1 ? $clog2(NUM_SIGS) : 1;

wire          reg_wr_en;
wire [AW-1:0] reg_wr_addr;
wire [31:0]   reg_wr_data;
wire          reg_rd_en;
wire [AW-1:0] reg_rd_addr;
wire [31:0]   reg_rd_data;

wp_axil_regs #(.ADDR_WIDTH(AW), .RD_LATENCY(2)) axil_regs_inst (
    .clk(clk), .rst(rst),
    .s_axil_awaddr(s_axil_awaddr[AW-1:0]), .s_axil_awprot(s_axil_awprot),
    .s_axil_awvalid(s_axil_awvalid), .s_axil_awready(s_axil_awready),
    .s_axil_wdata(s_axil_wdata), .s_axil_wstrb(s_axil_wstrb),
    .s_axil_wvalid(s_axil_wvalid), .s_axil_wready(s_axil_wready),
    .s_axil_bresp(s_axil_bresp), .s_axil_bvalid(s_axil_bvalid), .s_axil_bready(s_axil_bready),
    .s_axil_araddr(s_axil_araddr[AW-1:0]), .s_axil_arprot(s_axil_arprot),
    .s_axil_arvalid(s_axil_arvalid), .s_axil_arready(s_axil_arready),
    .s_axil_rdata(s_axil_rdata), .s_axil_rresp(s_axil_rresp),
    .s_axil_rvalid(s_axil_rvalid), .s_axil_rready(s_axil_rready),
    .reg_wr_en(reg_wr_en), .reg_wr_addr(reg_wr_addr), .reg_wr_data(reg_wr_data),
    .reg_wr_strb(), .reg_rd_en(reg_rd_en), .reg_rd_addr(reg_rd_addr),
    .reg_rd_data(reg_rd_data)
);

reg        cfg_dec_si_reg = DEC_SI;
reg [5:0]  mark_dscp_reg = 0;
reg [4:0]  sig_len_reg [0:NUM_SIGS-1];
reg [1:0]  sig_act_reg [0:NUM_SIGS-1];
reg [127:0] sig_data_reg [0:NUM_SIGS-1];
reg [63:0] sig_hits_reg [0:NUM_SIGS-1];
reg [63:0] pkts_reg = 0, match_pkts_reg = 0, mark_pkts_reg = 0, drop_pkts_reg = 0;
reg [63:0] oversize_pkts_reg = 0;

function [31:0] sig_ctrl_word(input [4:0] len, input [1:0] act);
    begin
        sig_ctrl_word = (32'd0 | len) << `WP_IDS_REG_SIG_CTRL_LEN_LSB;
        sig_ctrl_word = sig_ctrl_word | ((32'd0 | act) << `WP_IDS_REG_SIG_CTRL_ACTION_LSB);
    end
endfunction

// signature i: SIG_CTRL, SIG_DATA0..3; hit counters SIG_HITS
wire          wr_sig;
wire [AW-1:0] wr_sig_idx, wr_sig_off;
wp_reg_arr #(.ADDR_WIDTH(AW), .BASE(SIG_BASE), .STRIDE(SIG_STRIDE), .COUNT(NUM_SIGS))
    wr_sig_inst (.addr(reg_wr_addr), .hit(wr_sig), .idx(wr_sig_idx), .off(wr_sig_off));
wire [SIG_W-1:0] wr_idx = wr_sig_idx[SIG_W-1:0];
wire clear_cmd = reg_wr_en && reg_wr_addr == `WP_IDS_REG_CTRL
    && reg_wr_data[`WP_IDS_REG_CTRL_CLEAR_LSB];

// frame events (from the write side below)
wire               ev_frame, ev_match, ev_mark, ev_drop, ev_oversize;
wire [NUM_SIGS-1:0] ev_hits;
// a written signature set not yet in force (STATUS.UPDATING; from the table rebuild below)
wire               updating;

integer i;

always @(posedge clk) begin
    if (ev_frame) pkts_reg <= pkts_reg + 1;
    if (ev_match) match_pkts_reg <= match_pkts_reg + 1;
    if (ev_mark) mark_pkts_reg <= mark_pkts_reg + 1;
    if (ev_drop) drop_pkts_reg <= drop_pkts_reg + 1;
    if (ev_oversize) oversize_pkts_reg <= oversize_pkts_reg + 1;
    for (i = 0; i < NUM_SIGS; i = i + 1) begin
        if (ev_hits[i]) sig_hits_reg[i] <= sig_hits_reg[i] + 1;
    end
    if (clear_cmd) begin
        pkts_reg <= 0;
        match_pkts_reg <= 0;
        mark_pkts_reg <= 0;
        drop_pkts_reg <= 0;
        oversize_pkts_reg <= 0;
        for (i = 0; i < NUM_SIGS; i = i + 1) sig_hits_reg[i] <= 0;
    end

    if (reg_wr_en) begin
        case (reg_wr_addr)
            `WP_IDS_REG_CONFIG: cfg_dec_si_reg <= reg_wr_data[`WP_IDS_REG_CONFIG_DEC_SI_LSB];
            `WP_IDS_REG_MARK_DSCP: mark_dscp_reg <= reg_wr_data[`WP_IDS_REG_MARK_DSCP_WIDTH-1:0];
            default: ;
        endcase
        if (wr_sig) begin
            case (wr_sig_off)
                `WP_IDS_REG_SIG_CTRL - SIG_BASE: begin
                    sig_len_reg[wr_idx] <= reg_wr_data[`WP_IDS_REG_SIG_CTRL_LEN_LSB +:
                        `WP_IDS_REG_SIG_CTRL_LEN_WIDTH];
                    sig_act_reg[wr_idx] <= reg_wr_data[`WP_IDS_REG_SIG_CTRL_ACTION_LSB +:
                        `WP_IDS_REG_SIG_CTRL_ACTION_WIDTH];
                end
                `WP_IDS_REG_SIG_DATA0 - SIG_BASE: sig_data_reg[wr_idx][0 +: 32] <= reg_wr_data;
                `WP_IDS_REG_SIG_DATA1 - SIG_BASE: sig_data_reg[wr_idx][32 +: 32] <= reg_wr_data;
                `WP_IDS_REG_SIG_DATA2 - SIG_BASE: sig_data_reg[wr_idx][64 +: 32] <= reg_wr_data;
                `WP_IDS_REG_SIG_DATA3 - SIG_BASE: sig_data_reg[wr_idx][96 +: 32] <= reg_wr_data;
                default: ;
            endcase
        end
    end

    if (rst) begin
        cfg_dec_si_reg <= DEC_SI;
        mark_dscp_reg <= 0;
        pkts_reg <= 0;
        match_pkts_reg <= 0;
        mark_pkts_reg <= 0;
        drop_pkts_reg <= 0;
        oversize_pkts_reg <= 0;
        for (i = 0; i < NUM_SIGS; i = i + 1) begin
            sig_len_reg[i] <= 0;
            sig_act_reg[i] <= 0;
            sig_data_reg[i] <= 0;
            sig_hits_reg[i] <= 0;
        end
    end
end

// read port, the read mux in two register stages: wp_axil_regs (RD_LATENCY 2) holds reg_rd_addr
// two cycles before it takes reg_rd_data; the address decode ends at registers (wp_reg_arr_q),
// the mux below at wp_reg_rd's input registers (IN_REG)
wire          rd_sig, rd_hits;
wire [AW-1:0] rd_sig_idx, rd_sig_off, rd_hits_idx;
wp_reg_arr_q #(.ADDR_WIDTH(AW), .BASE(SIG_BASE), .STRIDE(SIG_STRIDE), .COUNT(NUM_SIGS))
    rd_sig_inst (.clk(clk), .addr(reg_rd_addr), .hit(rd_sig), .idx(rd_sig_idx), .off(rd_sig_off));
wp_reg_arr_q #(.ADDR_WIDTH(AW), .BASE(HITS_BASE), .STRIDE(HITS_STRIDE), .COUNT(NUM_SIGS))
    rd_hits_inst (.clk(clk), .addr(reg_rd_addr), .hit(rd_hits), .idx(rd_hits_idx), .off());
wire [SIG_W-1:0] rd_idx = rd_sig_idx[SIG_W-1:0];
wire [SIG_W-1:0] rd_hidx = rd_hits_idx[SIG_W-1:0];
// a 64-bit register is two words: the address of its LO word with bit 2 (HI) cleared
wire [AW-1:0] rd_lo_addr = {reg_rd_addr[AW-1:3], 3'b000};

// the block's registers at reg_rd_addr (a function behind continuous assignments, defined from
// time 0 in every simulator). Result: {is_cnt, cnt[63:0], word[31:0]}.
function [96:0] rd_mux(
    input [AW-1:0] addr, input [AW-1:0] lo_addr, input sig, input [AW-1:0] off, input hits,
    input [63:0] hit_cnt, input [63:0] pkts, input [63:0] match, input [63:0] mark,
    input [63:0] drop, input [63:0] oversize, input dec_si, input [5:0] dscp, input updating,
    input [4:0] len, input [1:0] act, input [127:0] sdata
);
    reg [31:0] data;
    reg [63:0] cnt;
    reg        is_cnt;
    begin
        data = 32'd0;
        cnt = 64'd0;
        is_cnt = 1'b0;
        case (lo_addr)
            `WP_IDS_REG_PKTS: begin cnt = pkts; is_cnt = 1'b1; end
            `WP_IDS_REG_MATCH_PKTS: begin cnt = match; is_cnt = 1'b1; end
            `WP_IDS_REG_MARK_PKTS: begin cnt = mark; is_cnt = 1'b1; end
            `WP_IDS_REG_DROP_PKTS: begin cnt = drop; is_cnt = 1'b1; end
            `WP_IDS_REG_OVERSIZE_PKTS: begin cnt = oversize; is_cnt = 1'b1; end
            default: ;
        endcase
        if (hits) begin
            cnt = hit_cnt;
            is_cnt = 1'b1;
        end
        case (addr)
            `WP_IDS_REG_ID: data = `WP_IDS_BLOCK_ID;
            `WP_IDS_REG_VERSION: data = `WP_IDS_BLOCK_VERSION;
            `WP_IDS_REG_CAPS: data = NUM_SIGS;
            `WP_IDS_REG_CONFIG: data = {31'd0, dec_si} << `WP_IDS_REG_CONFIG_DEC_SI_LSB;
            `WP_IDS_REG_MARK_DSCP: data = {26'd0, dscp};
            `WP_IDS_REG_STATUS: data = {31'd0, updating} << `WP_IDS_REG_STATUS_UPDATING_LSB;
            default: ;
        endcase
        if (sig) begin
            case (off)
                `WP_IDS_REG_SIG_CTRL - SIG_BASE: data = sig_ctrl_word(len, act);
                `WP_IDS_REG_SIG_DATA0 - SIG_BASE: data = sdata[0 +: 32];
                `WP_IDS_REG_SIG_DATA1 - SIG_BASE: data = sdata[32 +: 32];
                `WP_IDS_REG_SIG_DATA2 - SIG_BASE: data = sdata[64 +: 32];
                `WP_IDS_REG_SIG_DATA3 - SIG_BASE: data = sdata[96 +: 32];
                default: ;
            endcase
        end
        rd_mux = {is_cnt, cnt, data};
    end
endfunction

wire [96:0] rd_result = rd_mux(reg_rd_addr, rd_lo_addr, rd_sig, rd_sig_off, rd_hits,
    sig_hits_reg[rd_hidx], pkts_reg, match_pkts_reg, mark_pkts_reg, drop_pkts_reg,
    oversize_pkts_reg, cfg_dec_si_reg, mark_dscp_reg, updating, sig_len_reg[rd_idx],
    sig_act_reg[rd_idx], sig_data_reg[rd_idx]);

wp_reg_rd #(.ADDR_WIDTH(AW), .IN_REG(1)) reg_rd_inst (
    .clk(clk), .rd_en(reg_rd_en), .rd_addr(reg_rd_addr),
    .word(rd_result[31:0]), .cnt_sel(rd_result[96]), .cnt(rd_result[95:32]),
    .rd_data(reg_rd_data)
);


// ------------------------------------------------------------------------------------------
// Match tables. Signature s is matched right-aligned in a 16-byte window: its byte t
// (t = 16 - LEN .. 15) must equal r[s][t]; bytes t < 16 - LEN are "don't care". Instead of one
// comparator per signature byte per window position (16 x 16 x 32 of them), every byte of a
// beat looks up one word of a table: bit s*16+t of word {not_payload, byte} is 1 when the
// byte can stand at place t of signature s (don't-care places: always; payload bytes: when
// equal to r[s][t]; bytes outside the payload: never). A signature then ends at a position
// when the AND of 16 looked-up bits along the diagonal is 1. One table copy per byte lane (32
// block RAMs of 512 x 16*NUM_SIGS, read one cycle after the beat's flags are known).
//
// The tables are rebuilt from the signature registers after a write: at the next frame
// boundary the input is held, the pipeline drains, 512 words are written (one per cycle), and
// then the enables, actions and masks the match logic uses switch to the new set together, so
// every frame is matched wholly by one signature set.
// ------------------------------------------------------------------------------------------

localparam TW = 16 * NUM_SIGS;  // table word: one bit per signature byte
localparam TA = 9;              // table address: {not payload, byte}

// One table word from the signature registers, in two pipeline steps. Place t of signature s
// (LEN bytes) holds its byte j = t + LEN - 16 when t + LEN >= 16, else it is don't-care;
// j = (t + LEN) mod 16. First the address byte is compared with the 16 stored bytes of every
// signature (tbl_eq, registered), then the compare bit for place t is picked (tbl_pick: a
// 1-bit select, not an 8-bit byte shifter per signature).
function [TW-1:0] tbl_eq(input [7:0] byte_v, input [NUM_SIGS*128-1:0] d);
    integer s, j;
    begin
        for (s = 0; s < NUM_SIGS; s = s + 1) begin
            for (j = 0; j < 16; j = j + 1) tbl_eq[s*16 + j] = byte_v == d[s*128 + j*8 +: 8];
        end
    end
endfunction

function [TW-1:0] tbl_pick(input not_payload, input [TW-1:0] eq, input [NUM_SIGS*5-1:0] len);
    integer s, t;
    reg [5:0] lsum;
    begin
        for (s = 0; s < NUM_SIGS; s = s + 1) begin
            for (t = 0; t < 16; t = t + 1) begin
                lsum = t + len[s*5 +: 5];
                tbl_pick[s*16 + t] = lsum < 16 || (!not_payload && eq[s*16 + lsum[3:0]]);
            end
        end
    end
endfunction

wire [NUM_SIGS*128-1:0] sig_d_flat;
wire [NUM_SIGS*5-1:0]   sig_len_flat;
wire [NUM_SIGS-1:0]     sig_ok;  // LEN 1..16
genvar gf;
generate
    for (gf = 0; gf < NUM_SIGS; gf = gf + 1) begin : g_flat
        assign sig_d_flat[gf*128 +: 128] = sig_data_reg[gf];
        assign sig_len_flat[gf*5 +: 5] = sig_len_reg[gf];
        assign sig_ok[gf] = sig_len_reg[gf] != 5'd0 && sig_len_reg[gf] <= 5'd16;
    end
endgenerate

// the rebuild: pending after a signature write, started when the pipeline up to the frame
// FIFO is empty at a frame boundary
wire sig_write = reg_wr_en && wr_sig;
reg  upd_pending_reg = 1'b0;
reg  sweep_reg = 1'b0;
reg  [TA-1:0] sweep_addr_reg = 0;
reg  eq_valid_reg = 1'b0;
reg  [TA-1:0] eq_addr_reg = 0;
reg  [TW-1:0] eq_reg = 0;
reg  tbl_we_reg = 1'b0;
reg  [TA-1:0] tbl_waddr_reg = 0;
reg  [TW-1:0] tbl_wdata_reg = 0;

// the signature set in force
reg [NUM_SIGS-1:0] en_act_reg = 0;
reg [1:0]          act_act_reg [0:NUM_SIGS-1];

wire pipe_empty;
wire sweep_start = upd_pending_reg && !sweep_reg && !eq_valid_reg && !tbl_we_reg && pipe_empty;
wire tbl_done = tbl_we_reg && tbl_waddr_reg == {TA{1'b1}};
assign updating = upd_pending_reg || sweep_reg || eq_valid_reg || tbl_we_reg;

integer s4;
always @(posedge clk) begin
    if (sig_write) upd_pending_reg <= 1'b1;
    else if (sweep_start) upd_pending_reg <= 1'b0;

    if (sweep_start) begin
        sweep_reg <= 1'b1;
        sweep_addr_reg <= 0;
    end else if (sweep_reg) begin
        sweep_addr_reg <= sweep_addr_reg + 1;
        if (sweep_addr_reg == {TA{1'b1}}) sweep_reg <= 1'b0;
    end
    eq_valid_reg <= sweep_reg;
    eq_addr_reg <= sweep_addr_reg;
    eq_reg <= tbl_eq(sweep_addr_reg[7:0], sig_d_flat);
    tbl_we_reg <= eq_valid_reg;
    tbl_waddr_reg <= eq_addr_reg;
    tbl_wdata_reg <= tbl_pick(eq_addr_reg[8], eq_reg, sig_len_flat);

    // the last word is written at this edge: the new set is in force from the next cycle,
    // unless a signature was written meanwhile (then the rebuild runs again first)
    if (tbl_done && !upd_pending_reg && !sig_write) begin
        for (s4 = 0; s4 < NUM_SIGS; s4 = s4 + 1) begin
            en_act_reg[s4] <= sig_ok[s4];
            act_act_reg[s4] <= sig_act_reg[s4];
        end
    end

    if (rst) begin
        upd_pending_reg <= 1'b0;
        sweep_reg <= 1'b0;
        eq_valid_reg <= 1'b0;
        tbl_we_reg <= 1'b0;
        en_act_reg <= 0;
        for (s4 = 0; s4 < NUM_SIGS; s4 = s4 + 1) act_act_reg[s4] <= 0;
    end
end

// ------------------------------------------------------------------------------------------
// Stage A: input register and header parse (the parse results move to P with the beat)
// ------------------------------------------------------------------------------------------

reg [DATA_WIDTH-1:0] a_data_reg = 0;
reg [KEEP_WIDTH-1:0] a_keep_reg = 0;
reg                  a_last_reg = 1'b0;
reg [USER_WIDTH-1:0] a_user_reg = 0;
reg                  a_valid_reg = 1'b0;
reg [15:0]           a_pos_reg = 0;        // byte offset of the beat in A
reg [15:0]           in_pos_reg = 0;       // byte offset of the next accepted beat
reg [HB_BYTES*8-1:0] hb_reg = 0;           // frame bytes 0..95 received so far

// the pipeline A -> Q -> P -> B -> H -> C moves as one: when the beat in C can be written (or C is empty)
wire pipe_en;
// hold the input at a frame boundary while a new signature set waits or is being built
wire hold_in = updating && in_pos_reg == 0;
assign s_axis_tready = !hold_in && (!a_valid_reg || pipe_en);
wire s_fire = s_axis_tvalid && s_axis_tready;

always @(posedge clk) begin
    if (pipe_en) a_valid_reg <= 1'b0;
    if (s_fire) begin
        a_data_reg <= s_axis_tdata;
        a_keep_reg <= s_axis_tkeep;
        a_last_reg <= s_axis_tlast;
        a_user_reg <= s_axis_tuser;
        a_valid_reg <= 1'b1;
        a_pos_reg <= in_pos_reg;
        in_pos_reg <= s_axis_tlast ? 16'd0 : (in_pos_reg == 16'hffe0 ? in_pos_reg : in_pos_reg + 16'd32);
        if (in_pos_reg == 0) hb_reg <= {{(HB_BYTES - 32) * 8{1'b0}}, s_axis_tdata & keep_mask(s_axis_tkeep)};
        else if (in_pos_reg == 16'd32) hb_reg[32*8 +: 256] <= s_axis_tdata & keep_mask(s_axis_tkeep);
        else if (in_pos_reg == 16'd64) hb_reg[64*8 +: 256] <= s_axis_tdata & keep_mask(s_axis_tkeep);
    end
    if (rst) begin
        a_valid_reg <= 1'b0;
        in_pos_reg <= 0;
    end
end

function [255:0] keep_mask(input [31:0] k);
    integer b;
    begin
        for (b = 0; b < 32; b = b + 1) keep_mask[8*b +: 8] = k[b] ? 8'hff : 8'h00;
    end
endfunction

// parse (semantics of sim/common.py parse(), plus the payload start rule above): Ethernet +
// NSH by the rules every block shares (wp_nsh_dec). Bytes not yet received read as 0 in hb_reg,
// so the header-length checks are left to them (has_eth / has_nsh tied high): a frame shorter
// than the NSH header has SI 0 (never decremented) and no IPv4 version 4.
wire       nsh, nsh_valid, ip_cand;
wire [5:0] nsh_len;
wire [7:0] nsh_si;

wp_nsh_dec nsh_dec_inst (
    .hdr(hb_reg[`WP_NSH_END*8-1:0]), .has_eth(1'b1), .has_nsh(1'b1),
    .eth_type(), .eth_ipv4(), .nsh(nsh), .nsh_valid(nsh_valid), .nsh_ip(),
    .hdr_ok(), .ip_ok(), .ip_next(), .hdr_ip_ok(), .ip_cand(ip_cand),
    .nsh_len(nsh_len), .nsh_md(), .nsh_next(), .spi(), .si(nsh_si), .key(), .l3_q()
);

// Where the IPv4 header would start: l3 = 14 + 4*q, q = the NSH length (or 0 without NSH),
// from the EtherType and the NSH length alone (not wp_nsh_dec's l3_q, which also waits for the
// NSH checks). It matters only when ip_cand says IPv4 is there, and then q <= 6 (wp_nsh_dec's
// nsh_ip: length <= 6), so three bits of it do. As in wp_hdr_parse, the IPv4 fields and the
// payload bounds are worked out for each of the eight places at once (fixed byte positions,
// no shifter) and registered in stage Q, which picks one with q.
localparam NQ = 8;
// per place: {ver_ok, pay_start[8:0], pay_end[16:0], ver_ihl, tos, csum}
localparam QW = 1 + 9 + 17 + 8 + 8 + 16;
// 9-bit sums (an unsized header length would widen the adds to 32 bits)
localparam [8:0] TCP_HDR_LEN = `WP_TCP_HDR_LEN;
localparam [8:0] UDP_HDR_LEN = `WP_UDP_HDR_LEN;

wire [2:0] q = nsh ? nsh_len[2:0] : 3'd0;
wire [NQ*QW-1:0] places;
genvar gq;
generate
    for (gq = 0; gq < NQ; gq = gq + 1) begin : g_place_q
        localparam integer L3 = `WP_ETH_HDR_LEN + 4 * gq;
        wire        ver_ok;
        wire [3:0]  ihl;
        wire [15:0] total_len;
        wire [12:0] frag_off;
        wire [7:0]  proto, tos, ver_ihl;
        wire [15:0] csum;
        wp_ipv4_dec ipv4_dec_inst (
            .ip(hb_reg[L3*8 +: 160]), .ver_ok(ver_ok), .ihl(ihl), .ver_ihl(ver_ihl), .tos(tos),
            .total_len(total_len), .frag_off(frag_off), .ttl(), .proto(proto), .csum(csum),
            .src(), .dst()
        );
        wire [8:0] l4 = L3 + {3'b000, ihl, 2'b00};
        // TCP data offset where a 20-byte IPv4 header puts it (only simple headers use it)
        wire [3:0] doff = hb_reg[(L3 + `WP_IPV4_HDR_LEN + `WP_TCP_DOFF_OFF)*8 + 4 +: 4];
        wire simple = ihl == 4'd5 && frag_off == 0;
        wire [8:0] pay_start = !simple ? l4
            : proto == `WP_IP_PROTO_TCP ? l4 + (doff < 4'd5 ? TCP_HDR_LEN : {3'b000, doff, 2'b00})
            : proto == `WP_IP_PROTO_UDP ? l4 + UDP_HDR_LEN
            : l4;
        wire [16:0] pay_end = L3 + {1'b0, total_len};
        assign places[gq*QW +: QW] = {ver_ok, pay_start, pay_end, ver_ihl, tos, csum};
    end
endgenerate

wire si_dec = cfg_dec_si_reg && nsh_valid && nsh_si != 8'd0;

// ------------------------------------------------------------------------------------------
// Stage Q: the place's parse results picked by q
// ------------------------------------------------------------------------------------------

reg [DATA_WIDTH-1:0] q_data_reg = 0;
reg [KEEP_WIDTH-1:0] q_keep_reg = 0;
reg                  q_last_reg = 1'b0;
reg [USER_WIDTH-1:0] q_user_reg = 0;
reg                  q_valid_reg = 1'b0;
reg [15:0]           q_pos_reg = 0;
reg [NQ*QW-1:0]      q_places_reg = 0;
reg [2:0]            q_q_reg = 0;
reg                  q_ip_cand_reg = 1'b0;
reg                  q_si_dec_reg = 1'b0;

// a compare per place (a variable part-select becomes a shift with 'x fill in yosys, which the
// formal flow's AIG rejects)
function [QW-1:0] pick_place(input [NQ*QW-1:0] all, input [2:0] qq);
    integer k;
    begin
        pick_place = all[QW-1:0];
        for (k = 1; k < NQ; k = k + 1) begin
            if (qq == k) pick_place = all[k*QW +: QW];
        end
    end
endfunction

wire [QW-1:0] q_sel = pick_place(q_places_reg, q_q_reg);
wire [5:0]    q_l3 = `WP_ETH_HDR_LEN + {1'b0, q_q_reg, 2'b00};
wire          ipv4 = q_ip_cand_reg && q_sel[QW-1];
wire [8:0]    pay_start = q_sel[QW-2 -: 9];
wire [16:0]   pay_end = q_sel[QW-11 -: 17];
wire [31:0]   q_raw = q_sel[31:0];  // ver_ihl, tos, csum

// ------------------------------------------------------------------------------------------
// Stage P: the parse results registered beside the beat (hb_reg holds the next frame's header
// by the time a frame's last beat reaches C); the payload flags and the table lookups
// ------------------------------------------------------------------------------------------

localparam RW = 1 + 6 + 8 + 8 + 16;  // si_dec, l3[5:0], ver_ihl, tos, csum
reg [DATA_WIDTH-1:0] p_data_reg = 0;
reg [KEEP_WIDTH-1:0] p_keep_reg = 0;
reg                  p_last_reg = 1'b0;
reg [USER_WIDTH-1:0] p_user_reg = 0;
reg                  p_valid_reg = 1'b0;
reg [15:0]           p_pos_reg = 0;
reg                  p_ipv4_reg = 1'b0;
reg [8:0]            p_pay_start_reg = 0;
reg [16:0]           p_pay_end_reg = 0;
reg [RW-1:0]         p_raw_reg = 0;

// payload flags of the beat in P. Combinational logic here is built from continuous
// assignments (generate / functions behind assign, not always @*): Icarus (-g2012) never runs an
// always @* block whose inputs keep their initial values, which would leave it X from time 0.
wire [31:0] p_flags;
genvar gb;
generate
    for (gb = 0; gb < 32; gb = gb + 1) begin : g_flags
        assign p_flags[gb] = p_ipv4_reg && p_keep_reg[gb]
            && ({1'b0, p_pos_reg} + gb >= {8'd0, p_pay_start_reg})
            && ({1'b0, p_pos_reg} + gb < p_pay_end_reg);
    end
endgenerate

// the 32 table lookups: address {not payload, byte} per byte lane, read as a valid beat moves
// to B (only then: the tables are written while no beat is in the pipeline, and wp_ids_tbl's
// block RAM has no collision logic; a bubble leaves the read word as it was, unused)
wire [TW*32-1:0] b_look;
genvar gl;
generate
    for (gl = 0; gl < 32; gl = gl + 1) begin : g_look
        wp_ids_tbl #(.WIDTH(TW), .ADDR_WIDTH(TA)) tbl_inst (
            .clk(clk),
            .wr_en(tbl_we_reg), .wr_addr(tbl_waddr_reg), .wr_data(tbl_wdata_reg),
            .rd_en(pipe_en && p_valid_reg), .rd_addr({!p_flags[gl], p_data_reg[8*gl +: 8]}),
            .rd_data(b_look[TW*gl +: TW])
        );
    end
endgenerate

// ------------------------------------------------------------------------------------------
// Stage B: the signature ends in this beat, from its 32 looked-up words and the last 15 of
// the previous beat. That beat may be the previous frame's last: harmless, because beat 0 of
// a frame never holds payload (Ethernet 14 + IPv4 >= 20 bytes; wp_ipv4_dec's ver_ok needs
// IHL >= 5), so no signature ends in beat 0 and every match ending later lies in this frame.
// ------------------------------------------------------------------------------------------

reg [DATA_WIDTH-1:0] b_data_reg = 0;
reg [KEEP_WIDTH-1:0] b_keep_reg = 0;
reg                  b_last_reg = 1'b0;
reg [USER_WIDTH-1:0] b_user_reg = 0;
reg                  b_valid_reg = 1'b0;
reg [RW-1:0]         b_raw_reg = 0;
// lanes 17..31 of the previous beat's words
reg [TW*15-1:0]      prev_look_reg = 0;

// window place w = 0..46: the previous beat's lanes 17..31, then this beat's lanes 0..31
wire [TW*47-1:0] win_look = {b_look, prev_look_reg};

// (bit selects in generate loops, not a function taking the window: yosys copies a function's
// inputs per call, 47 x 256 bits x 512 calls at 16 signatures, and took over half an hour)
wire [NUM_SIGS*32-1:0] b_ends;
genvar gs, ge, gt;
generate
    for (gs = 0; gs < NUM_SIGS; gs = gs + 1) begin : g_sig
        wire [31:0] ends;
        for (ge = 0; ge < 32; ge = ge + 1) begin : g_end
            wire [15:0] diag;
            for (gt = 0; gt < 16; gt = gt + 1) begin : g_place
                assign diag[gt] = win_look[TW*(ge + gt) + gs*16 + gt];
            end
            assign ends[ge] = &diag;
        end
        assign b_ends[gs*32 +: 32] = ends;
    end
endgenerate

// the frame's decision fields: si_dec, l3[5:0], the marked TOS and the checksum after marking
// (RFC 1624 eqn. 3 over the word {ver_ihl, tos}); the three-term sum in P, its two folds in B
wire [7:0]  p_ver_ihl = p_raw_reg[31:24];
wire [7:0]  p_tos = p_raw_reg[23:16];
wire [15:0] p_csum = p_raw_reg[15:0];
wire [7:0]  p_new_tos = {mark_dscp_reg, p_tos[1:0]};
wire [17:0] p_mc_sum = {2'b00, ~p_csum} + {2'b00, ~{p_ver_ihl, p_tos}} + {2'b00, p_ver_ihl, p_new_tos};
reg  [17:0] b_mc_sum_reg = 0;
reg  [7:0]  b_new_tos_reg = 0;
wire [16:0] mc_f1 = {1'b0, b_mc_sum_reg[15:0]} + {15'd0, b_mc_sum_reg[17:16]};
wire [15:0] mc_f2 = mc_f1[15:0] + {15'd0, mc_f1[16]};
wire [15:0] new_csum = ~mc_f2;
localparam FW = 1 + 6 + 8 + 16;
wire [FW-1:0] b_fields = {b_raw_reg[RW-1 -: 7], b_new_tos_reg, new_csum};

// ------------------------------------------------------------------------------------------
// Stage H: the signatures with an end in this beat (the ends registered in B, so the block
// RAM's output meets only the diagonal ANDs)
// ------------------------------------------------------------------------------------------

reg [DATA_WIDTH-1:0]    h_data_reg = 0;
reg [KEEP_WIDTH-1:0]    h_keep_reg = 0;
reg                     h_last_reg = 1'b0;
reg [USER_WIDTH-1:0]    h_user_reg = 0;
reg                     h_valid_reg = 1'b0;
reg [FW-1:0]            h_fields_reg = 0;
reg [NUM_SIGS*32-1:0]   h_ends_reg = 0;

wire [NUM_SIGS-1:0] beat_hits;
generate
    for (gs = 0; gs < NUM_SIGS; gs = gs + 1) begin : g_hits
        assign beat_hits[gs] = en_act_reg[gs] && h_ends_reg[gs*32 +: 32] != 0;
    end
endgenerate

// ------------------------------------------------------------------------------------------
// Stage C: frame FIFO write side, commit or roll back at tlast
// ------------------------------------------------------------------------------------------

reg [DATA_WIDTH-1:0] c_data_reg = 0;
reg [KEEP_WIDTH-1:0] c_keep_reg = 0;
reg                  c_last_reg = 1'b0;
reg [USER_WIDTH-1:0] c_user_reg = 0;
reg                  c_valid_reg = 1'b0;
reg [FW-1:0]         c_fields_reg = 0;
reg [NUM_SIGS-1:0]   c_hits_reg = 0;

assign pipe_empty = !a_valid_reg && !q_valid_reg && !p_valid_reg && !b_valid_reg && !h_valid_reg
    && !c_valid_reg
    && in_pos_reg == 0;

always @(posedge clk) begin
    if (pipe_en) begin
        q_data_reg <= a_data_reg;
        q_keep_reg <= a_keep_reg;
        q_last_reg <= a_last_reg;
        q_user_reg <= a_user_reg;
        q_valid_reg <= a_valid_reg;
        q_pos_reg <= a_pos_reg;
        q_places_reg <= places;
        q_q_reg <= q;
        q_ip_cand_reg <= ip_cand;
        q_si_dec_reg <= si_dec;
        p_data_reg <= q_data_reg;
        p_keep_reg <= q_keep_reg;
        p_last_reg <= q_last_reg;
        p_user_reg <= q_user_reg;
        p_valid_reg <= q_valid_reg;
        p_pos_reg <= q_pos_reg;
        p_ipv4_reg <= ipv4;
        p_pay_start_reg <= pay_start;
        p_pay_end_reg <= pay_end;
        p_raw_reg <= {q_si_dec_reg, q_l3, q_raw};
        b_data_reg <= p_data_reg;
        b_keep_reg <= p_keep_reg;
        b_last_reg <= p_last_reg;
        b_user_reg <= p_user_reg;
        b_valid_reg <= p_valid_reg;
        b_raw_reg <= p_raw_reg;
        b_mc_sum_reg <= p_mc_sum;
        b_new_tos_reg <= p_new_tos;
        h_data_reg <= b_data_reg;
        h_keep_reg <= b_keep_reg;
        h_last_reg <= b_last_reg;
        h_user_reg <= b_user_reg;
        h_valid_reg <= b_valid_reg;
        h_fields_reg <= b_fields;
        h_ends_reg <= b_ends;
        c_data_reg <= h_data_reg;
        c_keep_reg <= h_keep_reg;
        c_last_reg <= h_last_reg;
        c_user_reg <= h_user_reg;
        c_valid_reg <= h_valid_reg;
        c_fields_reg <= h_fields_reg;
        c_hits_reg <= beat_hits;
        if (b_valid_reg) prev_look_reg <= b_look[TW*17 +: TW*15];
    end
    if (rst) begin
        q_valid_reg <= 1'b0;
        p_valid_reg <= 1'b0;
        b_valid_reg <= 1'b0;
        h_valid_reg <= 1'b0;
        c_valid_reg <= 1'b0;
    end
end

reg [ADDR_WIDTH:0] wr_ptr_reg = 0, commit_ptr_reg = 0, rd_ptr_reg = 0;
reg [ADDR_WIDTH:0] dwr_ptr_reg = 0, drd_ptr_reg = 0;
reg [ADDR_WIDTH:0] frame_beats_reg = 0;
reg                oversize_reg = 1'b0;
reg [NUM_SIGS-1:0] hits_reg = 0;

wire [ADDR_WIDTH:0] fill = wr_ptr_reg - rd_ptr_reg;
wire full = fill == FRAME_DEPTH;
wire c_go = c_valid_reg && (oversize_reg || !full);
assign pipe_en = !c_valid_reg || c_go;

wire [NUM_SIGS-1:0] frame_hits = hits_reg | c_hits_reg;
wire [NUM_SIGS-1:0] sig_drop, sig_mark;
genvar ga;
generate
    for (ga = 0; ga < NUM_SIGS; ga = ga + 1) begin : g_act
        assign sig_drop[ga] = frame_hits[ga] && act_act_reg[ga] == 2'd2;
        assign sig_mark[ga] = frame_hits[ga] && act_act_reg[ga] == 2'd1;
    end
endgenerate
wire act_drop = sig_drop != 0;
wire act_mark = sig_mark != 0;
wire do_mark = act_mark && !act_drop;
wire c_si_dec = c_fields_reg[FW-1];

wire ev_end = c_go && c_last_reg;
assign ev_frame = ev_end;
assign ev_oversize = ev_end && oversize_reg;
assign ev_hits = ev_end && !oversize_reg ? frame_hits : {NUM_SIGS{1'b0}};
assign ev_match = ev_end && !oversize_reg && frame_hits != 0;
assign ev_mark = ev_end && !oversize_reg && do_mark;
assign ev_drop = ev_end && !oversize_reg && act_drop;

wire mem_we = c_go && !oversize_reg;
// a frame's decision, written when it is committed
wire dmem_we = mem_we && c_last_reg && !act_drop;

always @(posedge clk) begin
    if (c_go) begin
        hits_reg <= c_last_reg ? {NUM_SIGS{1'b0}} : frame_hits;
        if (oversize_reg) begin
            if (c_last_reg) oversize_reg <= 1'b0;
        end else begin
            if (c_last_reg) begin
                frame_beats_reg <= 0;
                if (act_drop) begin
                    wr_ptr_reg <= commit_ptr_reg;
                end else begin
                    wr_ptr_reg <= wr_ptr_reg + 1;
                    commit_ptr_reg <= wr_ptr_reg + 1;
                    dwr_ptr_reg <= dwr_ptr_reg + 1;
                end
            end else if (frame_beats_reg == FRAME_DEPTH - 1) begin
                // the frame cannot fit: drop what was written and the rest of it
                oversize_reg <= 1'b1;
                wr_ptr_reg <= commit_ptr_reg;
                frame_beats_reg <= 0;
            end else begin
                wr_ptr_reg <= wr_ptr_reg + 1;
                frame_beats_reg <= frame_beats_reg + 1;
            end
        end
    end
    if (rst) begin
        wr_ptr_reg <= 0;
        commit_ptr_reg <= 0;
        dwr_ptr_reg <= 0;
        frame_beats_reg <= 0;
        oversize_reg <= 1'b0;
        hits_reg <= 0;
    end
end

// ------------------------------------------------------------------------------------------
// Read side: the frame FIFO's registered read (R), its word and decision registered (S), then
// SI decrement and mark on the first beats into the output register (M)
// ------------------------------------------------------------------------------------------

wire                 rd_avail = rd_ptr_reg != commit_ptr_reg;
reg                  r_valid_reg = 1'b0;
reg                  s_valid_reg = 1'b0;
reg                  m_valid_reg = 1'b0;
wire                 s_go = s_valid_reg && (!m_valid_reg || m_axis_tready);
wire                 r_go = r_valid_reg && (!s_valid_reg || s_go);
wire                 rd_issue = rd_avail && (!r_valid_reg || r_go);
wire [MEM_WIDTH-1:0] rd_word;

wp_ram_sdp #(.WIDTH(MEM_WIDTH), .ADDR_WIDTH(ADDR_WIDTH), .NO_RW_CHECK(1))
    frame_mem_inst (
    .clk(clk),
    .wr_en(mem_we), .wr_addr(wr_ptr_reg[ADDR_WIDTH-1:0]),
    .wr_data({c_user_reg, c_last_reg, c_keep_reg, c_data_reg}),
    .rd_en(rd_issue), .rd_addr(rd_ptr_reg[ADDR_WIDTH-1:0]), .rd_data(rd_word)
);

reg [DATA_WIDTH-1:0] m_data_reg = 0;
reg [KEEP_WIDTH-1:0] m_keep_reg = 0;
reg                  m_last_reg = 1'b0;
reg [USER_WIDTH-1:0] m_user_reg = 0;
reg [1:0]            rd_beat_reg = 0;  // of the beat in R: 0, 1, 2 = later

assign m_axis_tdata = m_data_reg;
assign m_axis_tkeep = m_keep_reg;
assign m_axis_tvalid = m_valid_reg;
assign m_axis_tlast = m_last_reg;
assign m_axis_tuser = m_user_reg;

wire rd_word_last = rd_word[DATA_WIDTH + KEEP_WIDTH];

// the decision of the frame whose beat is in R: a block RAM read every cycle at the pointer's
// next value, so the word is there when the frame's first beat reaches R (its commit wrote it
// at least one cycle before the beat was read; a read of the word being written returns the
// old one, and the next cycle's read the new one)
wire [DEC_WIDTH-1:0] rd_dec;
wire [ADDR_WIDTH:0]  drd_next = drd_ptr_reg + {{ADDR_WIDTH{1'b0}}, r_go && rd_word_last};

wp_ram_sdp #(.WIDTH(DEC_WIDTH), .ADDR_WIDTH(ADDR_WIDTH)) dec_mem_inst (
    .clk(clk),
    .wr_en(dmem_we), .wr_addr(dwr_ptr_reg[ADDR_WIDTH-1:0]),
    .wr_data({c_si_dec, do_mark, c_fields_reg[FW-2:0]}),
    .rd_en(1'b1), .rd_addr(drd_next[ADDR_WIDTH-1:0]), .rd_data(rd_dec)
);

// stage S: the frame FIFO's word and the frame's decision registered (the block RAM outputs
// meet no logic before a flip-flop); M patches from these registers
reg [MEM_WIDTH-1:0] s_word_reg = 0;
reg [DEC_WIDTH-1:0] s_dec_reg = 0;
reg [1:0]           s_beat_reg = 0;

wire s_si_dec = s_dec_reg[31];
wire s_mark = s_dec_reg[30];
wire [5:0] s_l3 = s_dec_reg[29:24];
wire [7:0] s_tos = s_dec_reg[23:16];
wire [15:0] s_csum = s_dec_reg[15:0];

// the beat leaving the FIFO with SI decremented and TOS / checksum marked (beats 0 and 1 only)
function [DATA_WIDTH-1:0] rd_modify(input [DATA_WIDTH-1:0] d, input [1:0] beat, input si_dec,
    input mark, input [5:0] l3, input [7:0] tos_v, input [15:0] cs);
    integer b;
    reg [7:0] pos;
    begin
        rd_modify = d;
        for (b = 0; b < 32; b = b + 1) begin
            pos = {beat[0], 5'd0} + b;
            if (beat != 2'd2) begin
                if (beat == 2'd0 && b == `WP_NSH_SI_OFF && si_dec)
                    rd_modify[8*b +: 8] = d[8*b +: 8] - 8'd1;
                if (mark && pos == l3 + `WP_IPV4_TOS_OFF) rd_modify[8*b +: 8] = tos_v;
                if (mark && pos == l3 + `WP_IPV4_CSUM_OFF) rd_modify[8*b +: 8] = cs[15:8];
                if (mark && pos == l3 + (`WP_IPV4_CSUM_OFF + 1)) rd_modify[8*b +: 8] = cs[7:0];
            end
        end
    end
endfunction

wire [DATA_WIDTH-1:0] s_data_mod = rd_modify(s_word_reg[DATA_WIDTH-1:0], s_beat_reg, s_si_dec,
    s_mark, s_l3, s_tos, s_csum);

always @(posedge clk) begin
    if (rd_issue) r_valid_reg <= 1'b1;
    else if (r_go) r_valid_reg <= 1'b0;
    if (rd_issue) rd_ptr_reg <= rd_ptr_reg + 1;

    if (r_go) begin
        s_word_reg <= rd_word;
        s_dec_reg <= rd_dec;
        s_beat_reg <= rd_beat_reg;
        s_valid_reg <= 1'b1;
        if (rd_word_last) begin
            rd_beat_reg <= 0;
            drd_ptr_reg <= drd_ptr_reg + 1;
        end else if (rd_beat_reg != 2'd2) begin
            rd_beat_reg <= rd_beat_reg + 1;
        end
    end else if (s_go) begin
        s_valid_reg <= 1'b0;
    end

    if (m_valid_reg && m_axis_tready) m_valid_reg <= 1'b0;
    if (s_go) begin
        m_data_reg <= s_data_mod;
        m_keep_reg <= s_word_reg[DATA_WIDTH +: KEEP_WIDTH];
        m_last_reg <= s_word_reg[DATA_WIDTH + KEEP_WIDTH];
        m_user_reg <= s_word_reg[DATA_WIDTH + KEEP_WIDTH + 1 +: USER_WIDTH];
        m_valid_reg <= 1'b1;
    end
    if (rst) begin
        r_valid_reg <= 1'b0;
        s_valid_reg <= 1'b0;
        m_valid_reg <= 1'b0;
        rd_ptr_reg <= 0;
        drd_ptr_reg <= 0;
        rd_beat_reg <= 0;
    end
end

endmodule

`resetall
