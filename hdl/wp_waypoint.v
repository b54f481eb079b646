// wp_waypoint: the waypoint of Figure 5 — an internal interconnect plus PEs.
//
// An NSH frame (EtherType 0x894F, valid base + service path header) whose (SPI, SI) hits a
// valid entry of the NUM_ENTRIES dispatch table goes to PE ENTRY_PE with tuser dst_port =
// ENTRY_PORT; the PE serves it (and decrements SI — the rule: PEs decrement SI, the waypoint
// never changes the frame). Frames without NSH, malformed NSH and table misses go out unchanged
// with dst_port = DEFAULT_PORT; frames whose tuser pkt_len exceeds MTU are dropped. PE outputs
// and the bypass are merged frame by frame (round robin). Per-entry packet/byte counters.
//
// PE indices: 0 = wp_fw, 1 = wp_nat (inside), 2 .. 2+EXT_PES-1 = the external PE ports
// m_axis_pe_* / s_axis_pe_* (flattened, PE 2 in the lowest slice) and their register slots
// m_axil_pe_* (slot k+1 of the 16-bit AXI-Lite space for PE k, 4 KiB each).

`resetall
`timescale 1ns / 1ps
`default_nettype none

`include "wp_regmap.vh"
`include "wp_frame.vh"

module wp_waypoint #(
    // Dispatch table entries (1..64)
    parameter NUM_ENTRIES = 16,
    // Number of external PE ports (1..12); PE index 2 + i
    parameter EXT_PES = 1,
    // Firewall rules
    parameter FW_RULES = 8,
    // NAT mappings
    parameter NAT_MAPPINGS = 8,
    // Width of tdata (bits)
    parameter DATA_WIDTH = 256,
    // Width of tuser (bits)
    parameter USER_WIDTH = `WP_TUSER_WIDTH
) (
    input  wire                            clk,
    input  wire                            rst,

    input  wire [DATA_WIDTH-1:0]           s_axis_tdata,
    input  wire [DATA_WIDTH/8-1:0]         s_axis_tkeep,
    input  wire [USER_WIDTH-1:0]           s_axis_tuser,
    input  wire                            s_axis_tlast,
    input  wire                            s_axis_tvalid,
    output wire                            s_axis_tready,

    output wire [DATA_WIDTH-1:0]           m_axis_tdata,
    output wire [DATA_WIDTH/8-1:0]         m_axis_tkeep,
    output wire [USER_WIDTH-1:0]           m_axis_tuser,
    output wire                            m_axis_tlast,
    output wire                            m_axis_tvalid,
    input  wire                            m_axis_tready,

    // external PEs: frames to PE 2+i
    output wire [EXT_PES*DATA_WIDTH-1:0]   m_axis_pe_tdata,
    output wire [EXT_PES*DATA_WIDTH/8-1:0] m_axis_pe_tkeep,
    output wire [EXT_PES*USER_WIDTH-1:0]   m_axis_pe_tuser,
    output wire [EXT_PES-1:0]              m_axis_pe_tlast,
    output wire [EXT_PES-1:0]              m_axis_pe_tvalid,
    input  wire [EXT_PES-1:0]              m_axis_pe_tready,
    // external PEs: frames back from PE 2+i
    input  wire [EXT_PES*DATA_WIDTH-1:0]   s_axis_pe_tdata,
    input  wire [EXT_PES*DATA_WIDTH/8-1:0] s_axis_pe_tkeep,
    input  wire [EXT_PES*USER_WIDTH-1:0]   s_axis_pe_tuser,
    input  wire [EXT_PES-1:0]              s_axis_pe_tlast,
    input  wire [EXT_PES-1:0]              s_axis_pe_tvalid,
    output wire [EXT_PES-1:0]              s_axis_pe_tready,

    input  wire [15:0]                     s_axil_awaddr,
    input  wire [2:0]                      s_axil_awprot,
    input  wire                            s_axil_awvalid,
    output wire                            s_axil_awready,
    input  wire [31:0]                     s_axil_wdata,
    input  wire [3:0]                      s_axil_wstrb,
    input  wire                            s_axil_wvalid,
    output wire                            s_axil_wready,
    output wire [1:0]                      s_axil_bresp,
    output wire                            s_axil_bvalid,
    input  wire                            s_axil_bready,
    input  wire [15:0]                     s_axil_araddr,
    input  wire [2:0]                      s_axil_arprot,
    input  wire                            s_axil_arvalid,
    output wire                            s_axil_arready,
    output wire [31:0]                     s_axil_rdata,
    output wire [1:0]                      s_axil_rresp,
    output wire                            s_axil_rvalid,
    input  wire                            s_axil_rready,

    // external PEs: register blocks (slot 3+i)
    output wire [EXT_PES*`WP_BLOCK_ADDR_WIDTH-1:0] m_axil_pe_awaddr,
    output wire [EXT_PES*3-1:0]            m_axil_pe_awprot,
    output wire [EXT_PES-1:0]              m_axil_pe_awvalid,
    input  wire [EXT_PES-1:0]              m_axil_pe_awready,
    output wire [EXT_PES*32-1:0]           m_axil_pe_wdata,
    output wire [EXT_PES*4-1:0]            m_axil_pe_wstrb,
    output wire [EXT_PES-1:0]              m_axil_pe_wvalid,
    input  wire [EXT_PES-1:0]              m_axil_pe_wready,
    input  wire [EXT_PES*2-1:0]            m_axil_pe_bresp,
    input  wire [EXT_PES-1:0]              m_axil_pe_bvalid,
    output wire [EXT_PES-1:0]              m_axil_pe_bready,
    output wire [EXT_PES*`WP_BLOCK_ADDR_WIDTH-1:0] m_axil_pe_araddr,
    output wire [EXT_PES*3-1:0]            m_axil_pe_arprot,
    output wire [EXT_PES-1:0]              m_axil_pe_arvalid,
    input  wire [EXT_PES-1:0]              m_axil_pe_arready,
    input  wire [EXT_PES*32-1:0]           m_axil_pe_rdata,
    input  wire [EXT_PES*2-1:0]            m_axil_pe_rresp,
    input  wire [EXT_PES-1:0]              m_axil_pe_rvalid,
    output wire [EXT_PES-1:0]              m_axil_pe_rready
);

localparam KEEP_WIDTH = DATA_WIDTH / 8;
localparam NUM_PES = `WP_PE_EXT_FIRST + EXT_PES;
// AXI-Lite slots of WP_BLOCK_SIZE bytes: slot 0 = the waypoint, slot k + 1 = PE k
localparam SLOT_AW = `WP_BLOCK_ADDR_WIDTH;
localparam SLOTS = 1 + NUM_PES;
localparam SLOT_FW = 1 + `WP_PE_FW;
localparam SLOT_NAT = 1 + `WP_PE_NAT;
localparam SLOT_EXT = 1 + `WP_PE_EXT_FIRST;
localparam TGT_BYPASS = NUM_PES;
localparam TGT_DROP = NUM_PES + 1;
localparam TW = $clog2(NUM_PES + 2);
// the register slices' data registers in 4 slices with their own control copies (wp_axis_reg
// SLICES): a consumer's ready reaches 4 enable LUTs, not ~600 flip-flops
localparam SLICE_COPIES = 4;
localparam ENT_BASE = `WP_WAYPOINT_REG_ENTRY_KEY;
localparam ENT_STRIDE = `WP_WAYPOINT_REG_ENTRY_KEY_STRIDE;
localparam CNT_BASE = `WP_WAYPOINT_REG_ENTRY_PKTS;
localparam CNT_STRIDE = `WP_WAYPOINT_REG_ENTRY_PKTS_STRIDE;

initial begin
    if (NUM_ENTRIES < 1 || NUM_ENTRIES > `WP_WAYPOINT_REG_ENTRY_KEY_COUNT) begin
        $error("Error: NUM_ENTRIES must be in 1..%0d (instance %m)", `WP_WAYPOINT_REG_ENTRY_KEY_COUNT);
        $finish;
    end
    if (EXT_PES < 1 || EXT_PES > 12) begin
        $error("Error: EXT_PES must be in 1..12 (instance %m)");
        $finish;
    end
    if (DATA_WIDTH != 256) begin
        $error("Error: DATA_WIDTH 256 expected (instance %m)");
        $finish;
    end
    if (USER_WIDTH < `WP_TUSER_DST_PORT_LSB + `WP_TUSER_DST_PORT_WIDTH) begin
        $error("Error: USER_WIDTH must hold the SUME tuser fields (instance %m)");
        $finish;
    end
end

// ---------------------------------------------------------------- register interconnect
wire [SLOTS*SLOT_AW-1:0] sp_awaddr, sp_araddr;
wire [SLOTS*3-1:0]  sp_awprot, sp_arprot;
wire [SLOTS-1:0]    sp_awvalid, sp_awready, sp_wvalid, sp_wready, sp_bvalid, sp_bready;
wire [SLOTS-1:0]    sp_arvalid, sp_arready, sp_rvalid, sp_rready;
wire [SLOTS*32-1:0] sp_wdata, sp_rdata;
wire [SLOTS*4-1:0]  sp_wstrb;
wire [SLOTS*2-1:0]  sp_bresp, sp_rresp;

wp_axil_split #(.M_COUNT(SLOTS), .ADDR_WIDTH(16), .SLOT_LSB(SLOT_AW)) split_inst (
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
    .m_axil_awaddr(sp_awaddr), .m_axil_awprot(sp_awprot), .m_axil_awvalid(sp_awvalid),
    .m_axil_awready(sp_awready), .m_axil_wdata(sp_wdata), .m_axil_wstrb(sp_wstrb),
    .m_axil_wvalid(sp_wvalid), .m_axil_wready(sp_wready), .m_axil_bresp(sp_bresp),
    .m_axil_bvalid(sp_bvalid), .m_axil_bready(sp_bready), .m_axil_araddr(sp_araddr),
    .m_axil_arprot(sp_arprot), .m_axil_arvalid(sp_arvalid), .m_axil_arready(sp_arready),
    .m_axil_rdata(sp_rdata), .m_axil_rresp(sp_rresp), .m_axil_rvalid(sp_rvalid),
    .m_axil_rready(sp_rready)
);

// slots SLOT_EXT.. -> external PE register ports
assign m_axil_pe_awaddr = sp_awaddr[SLOTS*SLOT_AW-1:SLOT_EXT*SLOT_AW];
assign m_axil_pe_awprot = sp_awprot[SLOTS*3-1:SLOT_EXT*3];
assign m_axil_pe_awvalid = sp_awvalid[SLOTS-1:SLOT_EXT];
assign sp_awready[SLOTS-1:SLOT_EXT] = m_axil_pe_awready;
assign m_axil_pe_wdata = sp_wdata[SLOTS*32-1:SLOT_EXT*32];
assign m_axil_pe_wstrb = sp_wstrb[SLOTS*4-1:SLOT_EXT*4];
assign m_axil_pe_wvalid = sp_wvalid[SLOTS-1:SLOT_EXT];
assign sp_wready[SLOTS-1:SLOT_EXT] = m_axil_pe_wready;
assign sp_bresp[SLOTS*2-1:SLOT_EXT*2] = m_axil_pe_bresp;
assign sp_bvalid[SLOTS-1:SLOT_EXT] = m_axil_pe_bvalid;
assign m_axil_pe_bready = sp_bready[SLOTS-1:SLOT_EXT];
assign m_axil_pe_araddr = sp_araddr[SLOTS*SLOT_AW-1:SLOT_EXT*SLOT_AW];
assign m_axil_pe_arprot = sp_arprot[SLOTS*3-1:SLOT_EXT*3];
assign m_axil_pe_arvalid = sp_arvalid[SLOTS-1:SLOT_EXT];
assign sp_arready[SLOTS-1:SLOT_EXT] = m_axil_pe_arready;
assign sp_rdata[SLOTS*32-1:SLOT_EXT*32] = m_axil_pe_rdata;
assign sp_rresp[SLOTS*2-1:SLOT_EXT*2] = m_axil_pe_rresp;
assign sp_rvalid[SLOTS-1:SLOT_EXT] = m_axil_pe_rvalid;
assign m_axil_pe_rready = sp_rready[SLOTS-1:SLOT_EXT];

// slot 0: the waypoint's own registers
wire               reg_wr_en;
wire [SLOT_AW-1:0] reg_wr_addr;
wire [31:0]        reg_wr_data;
wire [3:0]         reg_wr_strb;
wire               reg_rd_en;
wire [SLOT_AW-1:0] reg_rd_addr;
wire [31:0]        reg_rd_data;

wp_axil_regs #(.ADDR_WIDTH(SLOT_AW), .RD_LATENCY(4)) axil_regs_inst (
    .clk(clk), .rst(rst),
    .s_axil_awaddr(sp_awaddr[0 +: SLOT_AW]), .s_axil_awprot(sp_awprot[0 +: 3]),
    .s_axil_awvalid(sp_awvalid[0]), .s_axil_awready(sp_awready[0]),
    .s_axil_wdata(sp_wdata[0 +: 32]), .s_axil_wstrb(sp_wstrb[0 +: 4]),
    .s_axil_wvalid(sp_wvalid[0]), .s_axil_wready(sp_wready[0]),
    .s_axil_bresp(sp_bresp[0 +: 2]), .s_axil_bvalid(sp_bvalid[0]), .s_axil_bready(sp_bready[0]),
    .s_axil_araddr(sp_araddr[0 +: SLOT_AW]), .s_axil_arprot(sp_arprot[0 +: 3]),
    .s_axil_arvalid(sp_arvalid[0]), .s_axil_arready(sp_arready[0]),
    .s_axil_rdata(sp_rdata[0 +: 32]), .s_axil_rresp(sp_rresp[0 +: 2]),
    .s_axil_rvalid(sp_rvalid[0]), .s_axil_rready(sp_rready[0]),
    .reg_wr_en(reg_wr_en), .reg_wr_addr(reg_wr_addr), .reg_wr_data(reg_wr_data),
    .reg_wr_strb(reg_wr_strb), .reg_rd_en(reg_rd_en), .reg_rd_addr(reg_rd_addr),
    .reg_rd_data(reg_rd_data)
);

reg [7:0]  default_port_reg = 0;
reg [15:0] mtu_reg = `WP_WAYPOINT_REG_MTU_RESET;
reg [31:0] ent_key_reg[0:NUM_ENTRIES-1];
reg [`WP_WAYPOINT_REG_ENTRY_PE_WIDTH-1:0] ent_pe_reg[0:NUM_ENTRIES-1];
reg [7:0]  ent_port_reg[0:NUM_ENTRIES-1];
reg        ent_valid_reg[0:NUM_ENTRIES-1];
reg [63:0] ent_pkts_reg[0:NUM_ENTRIES-1];
reg [63:0] ent_bytes_reg[0:NUM_ENTRIES-1];
// each entry's increments for the cycle after (0 unless the beat hit it): the beat's byte count
// reaches 16 small registers, and each 64-bit add starts from its own entry's register
reg [5:0]  ent_binc_reg[0:NUM_ENTRIES-1];
reg        ent_pinc_reg[0:NUM_ENTRIES-1];
reg [63:0] nonnsh_pkts_reg = 0;
reg [63:0] miss_pkts_reg = 0;
reg [63:0] drop_pkts_reg = 0;

integer r, w;

// read mux in four register stages, as wp_fw's: wp_axil_regs (RD_LATENCY 4) holds reg_rd_addr
// four cycles before it takes reg_rd_data. R1: the address decode as one-hot selects, one
// flip-flop per (entry, word of its stride) and per (entry, counter), each the address compared
// with a constant (no subtraction, no index: each select drives only its own word's AND terms);
// the fixed registers one-hot. R2: per entry the addressed word (an AND-OR over its 4 words, 0
// when the entry is not addressed); per group of GRP entries the addressed counter (an AND-OR
// over its 2 * GRP counters); the fixed word and counter. R3: per group the OR of its entries'
// words; the OR of the groups' counters and the fixed counter. R4: the OR of the groups' words
// and the fixed word at wp_reg_rd's input registers (IN_REG), which picks the counter word and
// keeps the HI latch. A counter is read as it was in R2 (both its words from one cycle). R1 is
// the writes' decode too (below).
localparam NW = ENT_STRIDE / 4;  // words per entry stride: KEY, PE, PORT, CTRL
localparam NC = CNT_STRIDE / 8;  // counters per entry: PKTS, BYTES
localparam GRP = 4;              // entries per group of the read mux
localparam NGRP = (NUM_ENTRIES + GRP - 1) / GRP;

wire               rd_cnts;
wp_reg_arr #(.ADDR_WIDTH(SLOT_AW), .BASE(CNT_BASE), .STRIDE(CNT_STRIDE), .COUNT(NUM_ENTRIES))
    rd_cnt_inst (.addr(reg_rd_addr), .hit(rd_cnts), .idx(), .off());
// a 64-bit register is two words: the address of its LO word with bit 2 (HI) cleared
wire [SLOT_AW-1:0] rd_lo_addr = {reg_rd_addr[SLOT_AW-1:3], 3'b000};

// R1: word w of entry i selected (bit i*NW + w), counter c of entry i selected (bit i*NC + c);
// the fixed registers, one-hot: {NUM_PES, MTU, DEFAULT_PORT, CAPS, VERSION, ID} and the
// counters {DROP, MISS, NONNSH}_PKTS
reg [NUM_ENTRIES*NW-1:0] r1_wsel_reg = 0;
reg [NUM_ENTRIES*NC-1:0] r1_csel_reg = 0;
reg                      r1_cnts_reg = 1'b0;
reg [5:0]                r1_fix_reg = 0;
reg [2:0]                r1_fcnt_reg = 0;
reg                      r1_ctrl_reg = 1'b0;  // CTRL (write only: the write's decode)

always @(posedge clk) begin
    for (r = 0; r < NUM_ENTRIES; r = r + 1) begin
        for (w = 0; w < NW; w = w + 1) begin
            r1_wsel_reg[r*NW + w] <= reg_rd_addr == ENT_BASE + r * ENT_STRIDE + 4 * w;
        end
        for (w = 0; w < NC; w = w + 1) begin
            r1_csel_reg[r*NC + w] <= rd_lo_addr == CNT_BASE + r * CNT_STRIDE + 8 * w;
        end
    end
    r1_cnts_reg <= rd_cnts;
    r1_fix_reg <= {reg_rd_addr == `WP_WAYPOINT_REG_NUM_PES, reg_rd_addr == `WP_WAYPOINT_REG_MTU,
                   reg_rd_addr == `WP_WAYPOINT_REG_DEFAULT_PORT,
                   reg_rd_addr == `WP_WAYPOINT_REG_CAPS, reg_rd_addr == `WP_WAYPOINT_REG_VERSION,
                   reg_rd_addr == `WP_WAYPOINT_REG_ID};
    r1_fcnt_reg <= {rd_lo_addr == `WP_WAYPOINT_REG_DROP_PKTS,
                    rd_lo_addr == `WP_WAYPOINT_REG_MISS_PKTS,
                    rd_lo_addr == `WP_WAYPOINT_REG_NONNSH_PKTS};
    r1_ctrl_reg <= reg_rd_addr == `WP_WAYPOINT_REG_CTRL;
end

// entry i: ENTRY_KEY / _PE / _PORT / _CTRL; counters ENTRY_PKTS / _BYTES. A write has no
// address decode of its own: wp_axil_regs reads a register before it writes it (the strobe
// merge) through the same address register (reg_wr_addr is reg_rd_addr), held from the take
// through reg_wr_en, so the read decode's R1 one-hots above name the write's (entry, word), the
// fixed register and CTRL from two cycles after the take, four before reg_wr_en (RD_LATENCY
// 4). Each register's enable is reg_wr_en AND one R1 bit. (Before, the write compared the
// address and decoded the entry index in the cycle of reg_wr_en, in front of every enable.)
wire        clear = reg_wr_en && r1_ctrl_reg && reg_wr_data[`WP_WAYPOINT_REG_CTRL_CLEAR_LSB];

initial begin
    for (r = 0; r < NUM_ENTRIES; r = r + 1) begin
        ent_key_reg[r] = 0; ent_pe_reg[r] = 0; ent_port_reg[r] = 0; ent_valid_reg[r] = 0;
        ent_pkts_reg[r] = 0; ent_bytes_reg[r] = 0; ent_binc_reg[r] = 0; ent_pinc_reg[r] = 0;
    end
end

localparam W_KEY = (`WP_WAYPOINT_REG_ENTRY_KEY - ENT_BASE) / 4;
localparam W_PE = (`WP_WAYPOINT_REG_ENTRY_PE - ENT_BASE) / 4;
localparam W_PORT = (`WP_WAYPOINT_REG_ENTRY_PORT - ENT_BASE) / 4;
localparam W_CTRL = (`WP_WAYPOINT_REG_ENTRY_CTRL - ENT_BASE) / 4;

always @(posedge clk) begin
    if (reg_wr_en) begin
        // r1_fix_reg: {NUM_PES, MTU, DEFAULT_PORT, CAPS, VERSION, ID}
        if (r1_fix_reg[3]) default_port_reg <= reg_wr_data[`WP_WAYPOINT_REG_DEFAULT_PORT_WIDTH-1:0];
        if (r1_fix_reg[4]) mtu_reg <= reg_wr_data[`WP_WAYPOINT_REG_MTU_WIDTH-1:0];
        for (r = 0; r < NUM_ENTRIES; r = r + 1) begin
            if (r1_wsel_reg[r*NW + W_KEY]) ent_key_reg[r] <= reg_wr_data;
            if (r1_wsel_reg[r*NW + W_PE])
                ent_pe_reg[r] <= reg_wr_data[`WP_WAYPOINT_REG_ENTRY_PE_WIDTH-1:0];
            if (r1_wsel_reg[r*NW + W_PORT])
                ent_port_reg[r] <= reg_wr_data[`WP_WAYPOINT_REG_ENTRY_PORT_WIDTH-1:0];
            if (r1_wsel_reg[r*NW + W_CTRL])
                ent_valid_reg[r] <= reg_wr_data[`WP_WAYPOINT_REG_ENTRY_CTRL_VALID_LSB];
        end
    end
    if (rst) begin
        default_port_reg <= 0;
        mtu_reg <= `WP_WAYPOINT_REG_MTU_RESET;
        for (r = 0; r < NUM_ENTRIES; r = r + 1) ent_valid_reg[r] <= 1'b0;
    end
end


// each entry's stride as NW words and its counters as NC (unused bits 0); a function behind a
// continuous assignment (Icarus runs no always @* whose inputs keep their initial values)
function [NW*32-1:0] stride_words(input [31:0] key, input [3:0] pe, input [7:0] port,
                                  input valid);
    begin
        stride_words = 0;
        stride_words[(`WP_WAYPOINT_REG_ENTRY_KEY - ENT_BASE)*8 +: 32] = key;
        stride_words[(`WP_WAYPOINT_REG_ENTRY_PE - ENT_BASE)*8 +: 4] = pe;
        stride_words[(`WP_WAYPOINT_REG_ENTRY_PORT - ENT_BASE)*8 +: 8] = port;
        stride_words[(`WP_WAYPOINT_REG_ENTRY_CTRL - ENT_BASE)*8 +: 1] = valid;
    end
endfunction

function [NC*64-1:0] stride_cnts(input [63:0] pkts, input [63:0] bytes);
    begin
        stride_cnts = 0;
        stride_cnts[(`WP_WAYPOINT_REG_ENTRY_PKTS - CNT_BASE)*8 +: 64] = pkts;
        stride_cnts[(`WP_WAYPOINT_REG_ENTRY_BYTES - CNT_BASE)*8 +: 64] = bytes;
    end
endfunction

wire [NUM_ENTRIES*NW*32-1:0] ent_words;
wire [NUM_ENTRIES*NC*64-1:0] ent_cnts;
genvar gr;
generate
    for (gr = 0; gr < NUM_ENTRIES; gr = gr + 1) begin : g_rd_words
        assign ent_words[gr*NW*32 +: NW*32] = stride_words(ent_key_reg[gr], ent_pe_reg[gr],
            ent_port_reg[gr], ent_valid_reg[gr]);
        assign ent_cnts[gr*NC*64 +: NC*64] = stride_cnts(ent_pkts_reg[gr], ent_bytes_reg[gr]);
    end
endgenerate

// R2: per entry, the selected word (AND-OR over its NW words; 0 when none is selected); per
// group, the selected counter; the fixed word and counter
reg [NUM_ENTRIES*32-1:0] r2_eword_reg = 0;
reg [NGRP*64-1:0]        r2_gcnt_reg = 0;
reg                      r2_cnts_reg = 1'b0;
reg [31:0]               r2_fix_reg = 0;
reg [63:0]               r2_fcnt_reg = 0;
reg                      r2_fsel_reg = 1'b0;
reg [31:0]               eword;
reg [63:0]               gcnt;
integer                  j;

always @(posedge clk) begin
    for (r = 0; r < NUM_ENTRIES; r = r + 1) begin
        eword = 0;
        for (w = 0; w < NW; w = w + 1) begin
            eword = eword | ({32{r1_wsel_reg[r*NW + w]}} & ent_words[(r*NW + w)*32 +: 32]);
        end
        r2_eword_reg[r*32 +: 32] <= eword;
    end
    for (j = 0; j < NGRP; j = j + 1) begin
        gcnt = 0;
        for (r = j * GRP * NC; r < (j * GRP + GRP) * NC && r < NUM_ENTRIES * NC; r = r + 1) begin
            gcnt = gcnt | ({64{r1_csel_reg[r]}} & ent_cnts[r*64 +: 64]);
        end
        r2_gcnt_reg[j*64 +: 64] <= gcnt;
    end
    r2_cnts_reg <= r1_cnts_reg;
    r2_fix_reg <= ({32{r1_fix_reg[0]}} & `WP_WAYPOINT_BLOCK_ID)
                  | ({32{r1_fix_reg[1]}} & `WP_WAYPOINT_BLOCK_VERSION)
                  | ({32{r1_fix_reg[2]}} & NUM_ENTRIES)
                  | ({32{r1_fix_reg[3]}} & {24'd0, default_port_reg})
                  | ({32{r1_fix_reg[4]}} & {16'd0, mtu_reg})
                  | ({32{r1_fix_reg[5]}} & NUM_PES);
    r2_fcnt_reg <= ({64{r1_fcnt_reg[0]}} & nonnsh_pkts_reg)
                   | ({64{r1_fcnt_reg[1]}} & miss_pkts_reg)
                   | ({64{r1_fcnt_reg[2]}} & drop_pkts_reg);
    r2_fsel_reg <= |r1_fcnt_reg;
end

// R3, R4: the OR of the groups (wp_reg_rd_or)
wp_reg_rd_or #(.ADDR_WIDTH(SLOT_AW), .COUNT(NUM_ENTRIES), .GRP(GRP)) reg_rd_inst (
    .clk(clk), .rd_en(reg_rd_en), .rd_addr(reg_rd_addr),
    .elem_word(r2_eword_reg), .grp_cnt(r2_gcnt_reg), .fix_word(r2_fix_reg),
    .fix_cnt(r2_fcnt_reg), .cnt_sel(r2_cnts_reg || r2_fsel_reg), .rd_data(reg_rd_data)
);

// ---------------------------------------------------------------- dispatch
// The dispatch is a four-stage pipeline of plain registers (no enables: each stage's logic ends
// at a flip-flop that loads every cycle), each stage a few LUT levels deep (issue #15):
//   A  the input beat: Ethernet + NSH decode (wp_nsh_dec), key == ENTRY_KEY per entry, MTU
//      check, byte count
//   B  the lowest matching entry, one-hot (wp_first_onehot)
//   C  that entry's PE / port by AND-OR over the one-hot vector, the target
//   D  the beat with its target; it is written to the dispatch FIFO (wp_fifo) and the
//      counters count it
// The FIFO's head is the demux to the PEs and the bypass (its target one-hot in the entry).
// The input takes a beat only while the beats taken and not yet popped from the FIFO leave it
// room (a credit count, registered), so the pipeline never has to stop: a PE's ready reaches
// only the FIFO's head, never the stages or s_axis_tready (the waypoint's critical path on ECP5
// had been nat's full flag through every stage's enable to the input). Latency: a beat taken in
// cycle t is in A at t + 1, written to the FIFO from D at t + 4, at its head at t + 6;
// every PE (fw and nat too) takes it through a register slice, a cycle more.
// The decision is made on a frame's first beat and kept in tgt_reg / port_reg for its other
// beats. A frame "holds" a header when it is not its last beat or tkeep covers the header
// (tkeep is contiguous from byte 0, as on every wphw stream).
localparam FIFO_LOG2 = 4;          // the dispatch FIFO: 16 entries (one LUT RAM deep)
localparam CREDITS = 1 << FIFO_LOG2;
localparam NUM_TGT = NUM_PES + 2;  // PEs, the bypass, drop
localparam BEAT_W = DATA_WIDTH + KEEP_WIDTH + USER_WIDTH + 1;

// beats taken and not yet popped from the dispatch FIFO (in the stages or in the FIFO), and
// room for one more: set from the count of the cycle before, which is at most one below this
// cycle's, so the count never exceeds CREDITS (the FIFO never overflows)
reg [FIFO_LOG2:0]    used_reg = 0;
reg                  room_reg = 1'b0;

reg                  a_valid_reg = 1'b0;
reg [DATA_WIDTH-1:0] a_tdata_reg = 0;
reg [KEEP_WIDTH-1:0] a_tkeep_reg = 0;
reg [USER_WIDTH-1:0] a_tuser_reg = 0;
reg                  a_tlast_reg = 1'b0;
reg                  a_first_reg = 1'b1;
reg                  in_frame_reg = 1'b0;

reg                  b_valid_reg = 1'b0;
reg [DATA_WIDTH-1:0] b_tdata_reg = 0;
reg [KEEP_WIDTH-1:0] b_tkeep_reg = 0;
reg [USER_WIDTH-1:0] b_tuser_reg = 0;
reg                  b_tlast_reg = 1'b0;
reg                  b_first_reg = 1'b0;
reg [NUM_ENTRIES-1:0] b_match_reg = 0;
reg                  b_nsh_reg = 1'b0;
reg                  b_nsh_valid_reg = 1'b0;
reg                  b_oversize_reg = 1'b0;
reg [5:0]            b_bytes_reg = 0;

reg                  c_valid_reg = 1'b0;
reg [DATA_WIDTH-1:0] c_tdata_reg = 0;
reg [KEEP_WIDTH-1:0] c_tkeep_reg = 0;
reg [USER_WIDTH-1:0] c_tuser_reg = 0;
reg                  c_tlast_reg = 1'b0;
reg                  c_first_reg = 1'b0;
reg [NUM_ENTRIES-1:0] c_onehot_reg = 0;
reg                  c_nsh_reg = 1'b0;
reg                  c_nsh_valid_reg = 1'b0;
reg                  c_oversize_reg = 1'b0;
reg [5:0]            c_bytes_reg = 0;

reg                  d_valid_reg = 1'b0;
reg [DATA_WIDTH-1:0] d_tdata_reg = 0;
reg [KEEP_WIDTH-1:0] d_tkeep_reg = 0;
reg [USER_WIDTH-1:0] d_tuser_reg = 0;
reg                  d_tlast_reg = 1'b0;
reg                  d_first_reg = 1'b0;
reg [5:0]            d_bytes_reg = 0;
// the frame's decision (written by its first beat, kept for the others)
reg [TW-1:0]         tgt_reg = 0;
reg [7:0]            port_reg = 0;
// the entry the frame hit, one-hot (0: none): each entry's counters add on their own bit, so
// no counter is read through a mux by an index before its add
reg [NUM_ENTRIES-1:0] hit_oh_reg = 0;
// the counters' reset (rst, or CTRL.CLEAR written the cycle before) from one flip-flop
reg                  cnt_rst_reg = 1'b0;
reg                  cnt_drop_reg = 1'b0;
reg                  cnt_miss_reg = 1'b0;
reg                  cnt_nonnsh_reg = 1'b0;

// ---- stage A
wire [5:0] a_bytes;
wp_keep_count #(.KEEP_WIDTH(KEEP_WIDTH)) keep_count_inst (.keep(a_tkeep_reg), .count(a_bytes));

wire        a_nsh, a_nsh_valid;
wire [31:0] a_key;

wp_nsh_dec nsh_dec_inst (
    .hdr(a_tdata_reg[`WP_NSH_END*8-1:0]),
    .has_eth(!a_tlast_reg || a_tkeep_reg[`WP_ETH_HDR_LEN-1]),
    .has_nsh(!a_tlast_reg || a_tkeep_reg[`WP_NSH_END-1]),
    .eth_type(), .eth_ipv4(), .nsh(a_nsh), .nsh_valid(a_nsh_valid), .nsh_ip(),
    .hdr_ok(), .ip_ok(), .ip_next(), .hdr_ip_ok(), .ip_cand(),
    .nsh_len(), .nsh_md(), .nsh_next(), .spi(), .si(), .key(a_key), .l3_q()
);

wire [`WP_TUSER_PKT_LEN_WIDTH-1:0] a_pkt_len =
    a_tuser_reg[`WP_TUSER_PKT_LEN_LSB +: `WP_TUSER_PKT_LEN_WIDTH];

// per-entry match; continuous assignments (not always @*), so the lookup is defined from
// time 0 in every simulator
wire [NUM_ENTRIES-1:0] a_match;
genvar ge;
generate
    for (ge = 0; ge < NUM_ENTRIES; ge = ge + 1) begin : g_lk
        assign a_match[ge] = ent_valid_reg[ge] && ent_key_reg[ge] == a_key;
    end
endgenerate

// ---- stage B: the lowest matching index wins
wire [NUM_ENTRIES-1:0] b_onehot;
wp_first_onehot #(.WIDTH(NUM_ENTRIES)) lk_first_inst (.v(b_match_reg), .onehot(b_onehot));

// ---- stage C: the entry's fields by AND-OR over the one-hot vector (the entry arrays are
// flattened into the function's arguments, so a register write re-evaluates it)
localparam PE_W = `WP_WAYPOINT_REG_ENTRY_PE_WIDTH;
wire [NUM_ENTRIES*PE_W-1:0] ent_pe_flat;
wire [NUM_ENTRIES*8-1:0]    ent_port_flat;
generate
    for (ge = 0; ge < NUM_ENTRIES; ge = ge + 1) begin : g_flat
        assign ent_pe_flat[ge*PE_W +: PE_W] = ent_pe_reg[ge];
        assign ent_port_flat[ge*8 +: 8] = ent_port_reg[ge];
    end
endgenerate

// {ok (the entry's PE exists), port, pe}
function [TW+8:0] entry_sel(input [NUM_ENTRIES-1:0] oh,
                                  input [NUM_ENTRIES*PE_W-1:0] pes,
                                  input [NUM_ENTRIES*8-1:0] ports);
    integer i;
    reg [PE_W-1:0] pe;
    reg [7:0] port;
    reg ok;
    begin
        pe = 0; port = 0; ok = 1'b0;
        for (i = 0; i < NUM_ENTRIES; i = i + 1) begin
            if (oh[i]) begin
                pe = pe | pes[i*PE_W +: PE_W];
                port = port | ports[i*8 +: 8];
                ok = ok | (pes[i*PE_W +: PE_W] < NUM_PES);
            end
        end
        entry_sel = {ok, port, pe[TW-1:0]};
    end
endfunction

wire [TW+8:0]    c_sel = entry_sel(c_onehot_reg, ent_pe_flat, ent_port_flat);
wire [TW-1:0]    c_pe = c_sel[TW-1:0];
wire [7:0]       c_port_ent = c_sel[TW +: 8];
// a valid NSH frame hitting an entry whose PE exists
wire             c_ok = c_nsh_valid_reg && c_sel[TW+8];
wire [TW-1:0]    c_tgt = c_oversize_reg ? TGT_DROP[TW-1:0]
                       : c_ok ? c_pe : TGT_BYPASS[TW-1:0];

// ---- stage D -> the dispatch FIFO; its head -> the demux (outputs 0..NUM_PES-1 = PEs,
// NUM_PES = bypass, NUM_PES + 1 = drop: popped without being offered)
wire [NUM_PES:0] dm_ready;
wire             take = s_axis_tvalid && room_reg;
assign s_axis_tready = room_reg;

// the target one-hot, decoded as the beat is written
wire [NUM_TGT-1:0] d_tgt_oh;
wire [NUM_TGT-1:0] h_tgt_oh;
wire [BEAT_W-1:0]  h_beat;
wire               h_valid;
wire [DATA_WIDTH-1:0] h_tdata = h_beat[DATA_WIDTH-1:0];
wire [KEEP_WIDTH-1:0] h_tkeep = h_beat[DATA_WIDTH +: KEEP_WIDTH];
wire [USER_WIDTH-1:0] h_tuser = h_beat[DATA_WIDTH+KEEP_WIDTH +: USER_WIDTH];
wire                  h_tlast = h_beat[BEAT_W-1];
// the head leaves when its target takes it (a dropped beat at once)
wire               pop_ready = |(h_tgt_oh & {1'b1, dm_ready});
wire               pop = h_valid && pop_ready;
// tuser with dst_port set (on every beat of the frame)
function [USER_WIDTH-1:0] set_dst_port(input [USER_WIDTH-1:0] u, input [7:0] port);
    begin
        set_dst_port = u;
        set_dst_port[`WP_TUSER_DST_PORT_LSB +: `WP_TUSER_DST_PORT_WIDTH] = port;
    end
endfunction
wire [USER_WIDTH-1:0] d_tuser_out = set_dst_port(d_tuser_reg, port_reg);

always @(posedge clk) begin
    a_valid_reg <= take;
    a_tdata_reg <= s_axis_tdata;
    a_tkeep_reg <= s_axis_tkeep;
    a_tuser_reg <= s_axis_tuser;
    a_tlast_reg <= s_axis_tlast;
    a_first_reg <= !in_frame_reg;
    if (take) in_frame_reg <= !s_axis_tlast;
    b_valid_reg <= a_valid_reg;
    b_tdata_reg <= a_tdata_reg;
    b_tkeep_reg <= a_tkeep_reg;
    b_tuser_reg <= a_tuser_reg;
    b_tlast_reg <= a_tlast_reg;
    b_first_reg <= a_first_reg;
    b_match_reg <= a_match;
    b_nsh_reg <= a_nsh;
    b_nsh_valid_reg <= a_nsh_valid;
    b_oversize_reg <= a_pkt_len > mtu_reg;
    b_bytes_reg <= a_bytes;
    c_valid_reg <= b_valid_reg;
    c_tdata_reg <= b_tdata_reg;
    c_tkeep_reg <= b_tkeep_reg;
    c_tuser_reg <= b_tuser_reg;
    c_tlast_reg <= b_tlast_reg;
    c_first_reg <= b_first_reg;
    c_onehot_reg <= b_onehot;
    c_nsh_reg <= b_nsh_reg;
    c_nsh_valid_reg <= b_nsh_valid_reg;
    c_oversize_reg <= b_oversize_reg;
    c_bytes_reg <= b_bytes_reg;
    d_valid_reg <= c_valid_reg;
    d_tdata_reg <= c_tdata_reg;
    d_tkeep_reg <= c_tkeep_reg;
    d_tuser_reg <= c_tuser_reg;
    d_tlast_reg <= c_tlast_reg;
    d_first_reg <= c_first_reg;
    d_bytes_reg <= c_bytes_reg;
    if (c_valid_reg && c_first_reg) begin
        tgt_reg <= c_tgt;
        port_reg <= c_ok ? c_port_ent : default_port_reg;
        hit_oh_reg <= c_onehot_reg & {NUM_ENTRIES{c_ok && !c_oversize_reg}};
        cnt_drop_reg <= c_oversize_reg;
        cnt_miss_reg <= !c_oversize_reg && !c_ok && c_nsh_reg;
        cnt_nonnsh_reg <= !c_oversize_reg && !c_ok && !c_nsh_reg;
    end
    // a beat at D loads its entry's increments, which the counters add a cycle later; a beat
    // that meets the reset loads none, so CLEAR drops the same beats as when D added directly
    for (r = 0; r < NUM_ENTRIES; r = r + 1) begin
        ent_binc_reg[r] <= d_bytes_reg & {6{d_valid_reg && hit_oh_reg[r] && !cnt_rst_reg}};
        ent_pinc_reg[r] <= d_valid_reg && d_first_reg && hit_oh_reg[r] && !cnt_rst_reg;
        ent_bytes_reg[r] <= ent_bytes_reg[r] + {58'd0, ent_binc_reg[r]};
        ent_pkts_reg[r] <= ent_pkts_reg[r] + {63'd0, ent_pinc_reg[r]};
    end
    if (d_valid_reg) begin
        if (d_first_reg) begin
            if (cnt_drop_reg) drop_pkts_reg <= drop_pkts_reg + 1;
            if (cnt_miss_reg) miss_pkts_reg <= miss_pkts_reg + 1;
            if (cnt_nonnsh_reg) nonnsh_pkts_reg <= nonnsh_pkts_reg + 1;
        end
    end
    cnt_rst_reg <= rst || clear;
    if (cnt_rst_reg) begin
        nonnsh_pkts_reg <= 0;
        miss_pkts_reg <= 0;
        drop_pkts_reg <= 0;
        for (r = 0; r < NUM_ENTRIES; r = r + 1) begin
            ent_pkts_reg[r] <= 0;
            ent_bytes_reg[r] <= 0;
        end
    end
    used_reg <= used_reg + {{FIFO_LOG2{1'b0}}, take} - {{FIFO_LOG2{1'b0}}, pop};
    room_reg <= used_reg <= CREDITS - 2;
    if (rst) begin
        used_reg <= 0;
        room_reg <= 1'b0;
        a_valid_reg <= 1'b0;
        in_frame_reg <= 1'b0;
        b_valid_reg <= 1'b0;
        c_valid_reg <= 1'b0;
        d_valid_reg <= 1'b0;
    end
end

wire [NUM_PES:0]   dm_valid;
genvar g;
generate
for (g = 0; g < NUM_TGT; g = g + 1) begin : demux
    assign d_tgt_oh[g] = tgt_reg == g;
    if (g <= NUM_PES) begin : out
        assign dm_valid[g] = h_valid && h_tgt_oh[g];
    end
end
endgenerate

// never full: at most CREDITS beats are taken and not yet popped
wp_fifo #(.WIDTH(NUM_TGT + BEAT_W), .DEPTH_LOG2(FIFO_LOG2), .NO_OVERFLOW(1)) dispatch_fifo_inst (
    .clk(clk),
    .rst(rst),
    .s_data({d_tgt_oh, d_tlast_reg, d_tuser_out, d_tkeep_reg, d_tdata_reg}),
    .s_valid(d_valid_reg),
    .s_ready(),
    .m_data({h_tgt_oh, h_beat}),
    .m_valid(h_valid),
    .m_ready(pop_ready),
    .m_next_valid(),
    .m_next_data(),
    .count()
);

// ---------------------------------------------------------------- PEs
wire [(NUM_PES+1)*DATA_WIDTH-1:0] mg_tdata;
wire [(NUM_PES+1)*KEEP_WIDTH-1:0] mg_tkeep;
wire [(NUM_PES+1)*USER_WIDTH-1:0] mg_tuser;
wire [NUM_PES:0]                  mg_tlast, mg_tvalid, mg_tready;
// fw's and nat's outputs, before their register slices into the merge (below)
wire [DATA_WIDTH-1:0] fw_tdata, nat_tdata;
wire [KEEP_WIDTH-1:0] fw_tkeep, nat_tkeep;
wire [USER_WIDTH-1:0] fw_tuser, nat_tuser;
wire                  fw_tlast, fw_tvalid, fw_tready, nat_tlast, nat_tvalid, nat_tready;

// fw's and nat's inputs through register slices, as the external PEs' (below): the dispatch
// FIFO's pop reads the slices' readies (flip-flops placed beside the head), not the PEs' input
// FIFOs' full flags (the waypoint's ECP5 path at 688d0e0 began at nat's frame FIFO `full`,
// 5 levels and 84 % routing into the dispatch FIFO's fill)
wire [DATA_WIDTH-1:0] fw_in_tdata, nat_in_tdata;
wire [KEEP_WIDTH-1:0] fw_in_tkeep, nat_in_tkeep;
wire [USER_WIDTH-1:0] fw_in_tuser, nat_in_tuser;
wire                  fw_in_tlast, fw_in_tvalid, fw_in_tready;
wire                  nat_in_tlast, nat_in_tvalid, nat_in_tready;
wp_axis_reg #(.WIDTH(DATA_WIDTH + KEEP_WIDTH + USER_WIDTH + 1), .SLICES(SLICE_COPIES))
    fw_in_reg_inst (
    .clk(clk), .rst(rst),
    .s_data({h_tlast, h_tuser, h_tkeep, h_tdata}),
    .s_valid(dm_valid[`WP_PE_FW]), .s_ready(dm_ready[`WP_PE_FW]),
    .m_data({fw_in_tlast, fw_in_tuser, fw_in_tkeep, fw_in_tdata}),
    .m_valid(fw_in_tvalid), .m_ready(fw_in_tready)
);
wp_axis_reg #(.WIDTH(DATA_WIDTH + KEEP_WIDTH + USER_WIDTH + 1), .SLICES(SLICE_COPIES))
    nat_in_reg_inst (
    .clk(clk), .rst(rst),
    .s_data({h_tlast, h_tuser, h_tkeep, h_tdata}),
    .s_valid(dm_valid[`WP_PE_NAT]), .s_ready(dm_ready[`WP_PE_NAT]),
    .m_data({nat_in_tlast, nat_in_tuser, nat_in_tkeep, nat_in_tdata}),
    .m_valid(nat_in_tvalid), .m_ready(nat_in_tready)
);

wp_fw #(.NUM_RULES(FW_RULES), .DATA_WIDTH(DATA_WIDTH), .USER_WIDTH(USER_WIDTH)) fw_inst (
    .clk(clk), .rst(rst),
    .s_axis_tdata(fw_in_tdata), .s_axis_tkeep(fw_in_tkeep), .s_axis_tuser(fw_in_tuser),
    .s_axis_tlast(fw_in_tlast), .s_axis_tvalid(fw_in_tvalid), .s_axis_tready(fw_in_tready),
    .m_axis_tdata(fw_tdata), .m_axis_tkeep(fw_tkeep), .m_axis_tuser(fw_tuser),
    .m_axis_tlast(fw_tlast), .m_axis_tvalid(fw_tvalid), .m_axis_tready(fw_tready),
    .s_axil_awaddr(sp_awaddr[SLOT_FW*SLOT_AW +: SLOT_AW]), .s_axil_awprot(sp_awprot[SLOT_FW*3 +: 3]),
    .s_axil_awvalid(sp_awvalid[SLOT_FW]), .s_axil_awready(sp_awready[SLOT_FW]),
    .s_axil_wdata(sp_wdata[SLOT_FW*32 +: 32]), .s_axil_wstrb(sp_wstrb[SLOT_FW*4 +: 4]),
    .s_axil_wvalid(sp_wvalid[SLOT_FW]), .s_axil_wready(sp_wready[SLOT_FW]),
    .s_axil_bresp(sp_bresp[SLOT_FW*2 +: 2]), .s_axil_bvalid(sp_bvalid[SLOT_FW]),
    .s_axil_bready(sp_bready[SLOT_FW]),
    .s_axil_araddr(sp_araddr[SLOT_FW*SLOT_AW +: SLOT_AW]), .s_axil_arprot(sp_arprot[SLOT_FW*3 +: 3]),
    .s_axil_arvalid(sp_arvalid[SLOT_FW]), .s_axil_arready(sp_arready[SLOT_FW]),
    .s_axil_rdata(sp_rdata[SLOT_FW*32 +: 32]), .s_axil_rresp(sp_rresp[SLOT_FW*2 +: 2]),
    .s_axil_rvalid(sp_rvalid[SLOT_FW]), .s_axil_rready(sp_rready[SLOT_FW])
);

wp_nat #(.NUM_MAPPINGS(NAT_MAPPINGS), .DATA_WIDTH(DATA_WIDTH), .USER_WIDTH(USER_WIDTH)) nat_inst (
    .clk(clk), .rst(rst),
    .s_axis_tdata(nat_in_tdata), .s_axis_tkeep(nat_in_tkeep), .s_axis_tuser(nat_in_tuser),
    .s_axis_tlast(nat_in_tlast), .s_axis_tvalid(nat_in_tvalid), .s_axis_tready(nat_in_tready),
    .m_axis_tdata(nat_tdata), .m_axis_tkeep(nat_tkeep), .m_axis_tuser(nat_tuser),
    .m_axis_tlast(nat_tlast), .m_axis_tvalid(nat_tvalid), .m_axis_tready(nat_tready),
    .s_axil_awaddr(sp_awaddr[SLOT_NAT*SLOT_AW +: SLOT_AW]), .s_axil_awprot(sp_awprot[SLOT_NAT*3 +: 3]),
    .s_axil_awvalid(sp_awvalid[SLOT_NAT]), .s_axil_awready(sp_awready[SLOT_NAT]),
    .s_axil_wdata(sp_wdata[SLOT_NAT*32 +: 32]), .s_axil_wstrb(sp_wstrb[SLOT_NAT*4 +: 4]),
    .s_axil_wvalid(sp_wvalid[SLOT_NAT]), .s_axil_wready(sp_wready[SLOT_NAT]),
    .s_axil_bresp(sp_bresp[SLOT_NAT*2 +: 2]), .s_axil_bvalid(sp_bvalid[SLOT_NAT]),
    .s_axil_bready(sp_bready[SLOT_NAT]),
    .s_axil_araddr(sp_araddr[SLOT_NAT*SLOT_AW +: SLOT_AW]), .s_axil_arprot(sp_arprot[SLOT_NAT*3 +: 3]),
    .s_axil_arvalid(sp_arvalid[SLOT_NAT]), .s_axil_arready(sp_arready[SLOT_NAT]),
    .s_axil_rdata(sp_rdata[SLOT_NAT*32 +: 32]), .s_axil_rresp(sp_rresp[SLOT_NAT*2 +: 2]),
    .s_axil_rvalid(sp_rvalid[SLOT_NAT]), .s_axil_rready(sp_rready[SLOT_NAT])
);

// fw's and nat's outputs into the merge through register slices, as the external PEs' returns
// and the bypass: the merge's grant logic reads the valids of flip-flops placed beside it, not
// those of the PEs' output FIFOs (the waypoint's ECP5 path at d05bac9 began at nat's output
// FIFO head, a 2.46 ns net across the device into the grant logic)
wp_axis_reg #(.WIDTH(DATA_WIDTH + KEEP_WIDTH + USER_WIDTH + 1), .SLICES(SLICE_COPIES))
    fw_ret_reg_inst (
    .clk(clk), .rst(rst),
    .s_data({fw_tlast, fw_tuser, fw_tkeep, fw_tdata}),
    .s_valid(fw_tvalid), .s_ready(fw_tready),
    .m_data({mg_tlast[`WP_PE_FW], mg_tuser[`WP_PE_FW*USER_WIDTH +: USER_WIDTH],
             mg_tkeep[`WP_PE_FW*KEEP_WIDTH +: KEEP_WIDTH], mg_tdata[`WP_PE_FW*DATA_WIDTH +: DATA_WIDTH]}),
    .m_valid(mg_tvalid[`WP_PE_FW]), .m_ready(mg_tready[`WP_PE_FW])
);
wp_axis_reg #(.WIDTH(DATA_WIDTH + KEEP_WIDTH + USER_WIDTH + 1), .SLICES(SLICE_COPIES))
    nat_ret_reg_inst (
    .clk(clk), .rst(rst),
    .s_data({nat_tlast, nat_tuser, nat_tkeep, nat_tdata}),
    .s_valid(nat_tvalid), .s_ready(nat_tready),
    .m_data({mg_tlast[`WP_PE_NAT], mg_tuser[`WP_PE_NAT*USER_WIDTH +: USER_WIDTH],
             mg_tkeep[`WP_PE_NAT*KEEP_WIDTH +: KEEP_WIDTH], mg_tdata[`WP_PE_NAT*DATA_WIDTH +: DATA_WIDTH]}),
    .m_valid(mg_tvalid[`WP_PE_NAT]), .m_ready(mg_tready[`WP_PE_NAT])
);

// external PEs
generate
for (g = 0; g < EXT_PES; g = g + 1) begin : ext
    localparam P = `WP_PE_EXT_FIRST + g;
    // through a register slice: the PE's tready (logic of the PE, outside this module) reaches
    // a flip-flop here, not the dispatch FIFO's head
    wp_axis_reg #(.WIDTH(DATA_WIDTH + KEEP_WIDTH + USER_WIDTH + 1), .SLICES(SLICE_COPIES))
        pe_reg_inst (
        .clk(clk), .rst(rst),
        .s_data({h_tlast, h_tuser, h_tkeep, h_tdata}),
        .s_valid(dm_valid[P]), .s_ready(dm_ready[P]),
        .m_data({m_axis_pe_tlast[g], m_axis_pe_tuser[g*USER_WIDTH +: USER_WIDTH],
                 m_axis_pe_tkeep[g*KEEP_WIDTH +: KEEP_WIDTH],
                 m_axis_pe_tdata[g*DATA_WIDTH +: DATA_WIDTH]}),
        .m_valid(m_axis_pe_tvalid[g]), .m_ready(m_axis_pe_tready[g])
    );
    // and back through a register slice: the merge's grant logic (its ready) reaches a
    // flip-flop here, not the PE's output logic
    wp_axis_reg #(.WIDTH(DATA_WIDTH + KEEP_WIDTH + USER_WIDTH + 1), .SLICES(SLICE_COPIES))
        pe_ret_reg_inst (
        .clk(clk), .rst(rst),
        .s_data({s_axis_pe_tlast[g], s_axis_pe_tuser[g*USER_WIDTH +: USER_WIDTH],
                 s_axis_pe_tkeep[g*KEEP_WIDTH +: KEEP_WIDTH],
                 s_axis_pe_tdata[g*DATA_WIDTH +: DATA_WIDTH]}),
        .s_valid(s_axis_pe_tvalid[g]), .s_ready(s_axis_pe_tready[g]),
        .m_data({mg_tlast[P], mg_tuser[P*USER_WIDTH +: USER_WIDTH],
                 mg_tkeep[P*KEEP_WIDTH +: KEEP_WIDTH], mg_tdata[P*DATA_WIDTH +: DATA_WIDTH]}),
        .m_valid(mg_tvalid[P]), .m_ready(mg_tready[P])
    );
end
endgenerate

// bypass, through a register slice: its ready is a flip-flop, not the merge's grant logic
// (which would otherwise sit in front of the dispatch FIFO's head)
wp_axis_reg #(.WIDTH(DATA_WIDTH + KEEP_WIDTH + USER_WIDTH + 1), .SLICES(SLICE_COPIES))
    bypass_reg_inst (
    .clk(clk), .rst(rst),
    .s_data({h_tlast, h_tuser, h_tkeep, h_tdata}),
    .s_valid(dm_valid[NUM_PES]), .s_ready(dm_ready[NUM_PES]),
    .m_data({mg_tlast[NUM_PES], mg_tuser[NUM_PES*USER_WIDTH +: USER_WIDTH],
             mg_tkeep[NUM_PES*KEEP_WIDTH +: KEEP_WIDTH], mg_tdata[NUM_PES*DATA_WIDTH +: DATA_WIDTH]}),
    .m_valid(mg_tvalid[NUM_PES]), .m_ready(mg_tready[NUM_PES])
);

// ---------------------------------------------------------------- merge
wp_axis_arb #(.S_COUNT(NUM_PES + 1), .DATA_WIDTH(DATA_WIDTH), .USER_WIDTH(USER_WIDTH)) arb_inst (
    .clk(clk), .rst(rst),
    .s_axis_tdata(mg_tdata), .s_axis_tkeep(mg_tkeep), .s_axis_tuser(mg_tuser),
    .s_axis_tlast(mg_tlast), .s_axis_tvalid(mg_tvalid), .s_axis_tready(mg_tready),
    .m_axis_tdata(m_axis_tdata), .m_axis_tkeep(m_axis_tkeep), .m_axis_tuser(m_axis_tuser),
    .m_axis_tlast(m_axis_tlast), .m_axis_tvalid(m_axis_tvalid), .m_axis_tready(m_axis_tready)
);

endmodule

`resetall
