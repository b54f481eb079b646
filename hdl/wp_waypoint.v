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
    parameter USER_WIDTH = 128
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
    output wire [EXT_PES*12-1:0]           m_axil_pe_awaddr,
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
    output wire [EXT_PES*12-1:0]           m_axil_pe_araddr,
    output wire [EXT_PES*3-1:0]            m_axil_pe_arprot,
    output wire [EXT_PES-1:0]              m_axil_pe_arvalid,
    input  wire [EXT_PES-1:0]              m_axil_pe_arready,
    input  wire [EXT_PES*32-1:0]           m_axil_pe_rdata,
    input  wire [EXT_PES*2-1:0]            m_axil_pe_rresp,
    input  wire [EXT_PES-1:0]              m_axil_pe_rvalid,
    output wire [EXT_PES-1:0]              m_axil_pe_rready
);

localparam KEEP_WIDTH = DATA_WIDTH / 8;
localparam NUM_PES = 2 + EXT_PES;
localparam SLOTS = 1 + NUM_PES;
localparam TGT_BYPASS = NUM_PES;
localparam TGT_DROP = NUM_PES + 1;
localparam TW = $clog2(NUM_PES + 2);
localparam IDX_W = NUM_ENTRIES > 1 ? $clog2(NUM_ENTRIES) : 1;
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
    if (DATA_WIDTH != 256 || ENT_STRIDE != 16 || CNT_STRIDE != 16) begin
        $error("Error: DATA_WIDTH 256 and register strides 16 expected (instance %m)");
        $finish;
    end
end

// ---------------------------------------------------------------- register interconnect
wire [SLOTS*12-1:0] sp_awaddr, sp_araddr;
wire [SLOTS*3-1:0]  sp_awprot, sp_arprot;
wire [SLOTS-1:0]    sp_awvalid, sp_awready, sp_wvalid, sp_wready, sp_bvalid, sp_bready;
wire [SLOTS-1:0]    sp_arvalid, sp_arready, sp_rvalid, sp_rready;
wire [SLOTS*32-1:0] sp_wdata, sp_rdata;
wire [SLOTS*4-1:0]  sp_wstrb;
wire [SLOTS*2-1:0]  sp_bresp, sp_rresp;

wp_axil_split #(.M_COUNT(SLOTS), .ADDR_WIDTH(16), .SLOT_LSB(12)) split_inst (
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

// slots 3.. -> external PE register ports
assign m_axil_pe_awaddr = sp_awaddr[SLOTS*12-1:36];
assign m_axil_pe_awprot = sp_awprot[SLOTS*3-1:9];
assign m_axil_pe_awvalid = sp_awvalid[SLOTS-1:3];
assign sp_awready[SLOTS-1:3] = m_axil_pe_awready;
assign m_axil_pe_wdata = sp_wdata[SLOTS*32-1:96];
assign m_axil_pe_wstrb = sp_wstrb[SLOTS*4-1:12];
assign m_axil_pe_wvalid = sp_wvalid[SLOTS-1:3];
assign sp_wready[SLOTS-1:3] = m_axil_pe_wready;
assign sp_bresp[SLOTS*2-1:6] = m_axil_pe_bresp;
assign sp_bvalid[SLOTS-1:3] = m_axil_pe_bvalid;
assign m_axil_pe_bready = sp_bready[SLOTS-1:3];
assign m_axil_pe_araddr = sp_araddr[SLOTS*12-1:36];
assign m_axil_pe_arprot = sp_arprot[SLOTS*3-1:9];
assign m_axil_pe_arvalid = sp_arvalid[SLOTS-1:3];
assign sp_arready[SLOTS-1:3] = m_axil_pe_arready;
assign sp_rdata[SLOTS*32-1:96] = m_axil_pe_rdata;
assign sp_rresp[SLOTS*2-1:6] = m_axil_pe_rresp;
assign sp_rvalid[SLOTS-1:3] = m_axil_pe_rvalid;
assign m_axil_pe_rready = sp_rready[SLOTS-1:3];

// slot 0: the waypoint's own registers
wire        reg_wr_en;
wire [11:0] reg_wr_addr;
wire [31:0] reg_wr_data;
wire [3:0]  reg_wr_strb;
wire        reg_rd_en;
wire [11:0] reg_rd_addr;
wire [31:0] reg_rd_data;

wp_axil_regs #(.ADDR_WIDTH(12)) axil_regs_inst (
    .clk(clk), .rst(rst),
    .s_axil_awaddr(sp_awaddr[0 +: 12]), .s_axil_awprot(sp_awprot[0 +: 3]),
    .s_axil_awvalid(sp_awvalid[0]), .s_axil_awready(sp_awready[0]),
    .s_axil_wdata(sp_wdata[0 +: 32]), .s_axil_wstrb(sp_wstrb[0 +: 4]),
    .s_axil_wvalid(sp_wvalid[0]), .s_axil_wready(sp_wready[0]),
    .s_axil_bresp(sp_bresp[0 +: 2]), .s_axil_bvalid(sp_bvalid[0]), .s_axil_bready(sp_bready[0]),
    .s_axil_araddr(sp_araddr[0 +: 12]), .s_axil_arprot(sp_arprot[0 +: 3]),
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
reg [3:0]  ent_pe_reg[0:NUM_ENTRIES-1];
reg [7:0]  ent_port_reg[0:NUM_ENTRIES-1];
reg        ent_valid_reg[0:NUM_ENTRIES-1];
reg [63:0] ent_pkts_reg[0:NUM_ENTRIES-1];
reg [63:0] ent_bytes_reg[0:NUM_ENTRIES-1];
reg [63:0] nonnsh_pkts_reg = 0;
reg [63:0] miss_pkts_reg = 0;
reg [63:0] drop_pkts_reg = 0;
reg [31:0] rd_hi_reg = 0;

wire [11:0] wr_rel = reg_wr_addr - ENT_BASE;
wire        wr_ent = reg_wr_addr >= ENT_BASE && reg_wr_addr < ENT_BASE + NUM_ENTRIES * ENT_STRIDE;
wire [IDX_W-1:0] wr_idx = wr_rel >> 4;
wire        clear = reg_wr_en && reg_wr_addr == `WP_WAYPOINT_REG_CTRL
                    && reg_wr_data[`WP_WAYPOINT_REG_CTRL_CLEAR_LSB];

integer r;
initial begin
    for (r = 0; r < NUM_ENTRIES; r = r + 1) begin
        ent_key_reg[r] = 0; ent_pe_reg[r] = 0; ent_port_reg[r] = 0; ent_valid_reg[r] = 0;
        ent_pkts_reg[r] = 0; ent_bytes_reg[r] = 0;
    end
end

always @(posedge clk) begin
    if (reg_wr_en) begin
        case (reg_wr_addr)
            `WP_WAYPOINT_REG_DEFAULT_PORT: default_port_reg <= reg_wr_data[7:0];
            `WP_WAYPOINT_REG_MTU: mtu_reg <= reg_wr_data[15:0];
            default: ;
        endcase
        if (wr_ent) begin
            case (wr_rel[3:0])
                `WP_WAYPOINT_REG_ENTRY_KEY - ENT_BASE: ent_key_reg[wr_idx] <= reg_wr_data;
                `WP_WAYPOINT_REG_ENTRY_PE - ENT_BASE: ent_pe_reg[wr_idx] <= reg_wr_data[3:0];
                `WP_WAYPOINT_REG_ENTRY_PORT - ENT_BASE: ent_port_reg[wr_idx] <= reg_wr_data[7:0];
                `WP_WAYPOINT_REG_ENTRY_CTRL - ENT_BASE:
                    ent_valid_reg[wr_idx] <= reg_wr_data[`WP_WAYPOINT_REG_ENTRY_CTRL_VALID_LSB];
                default: ;
            endcase
        end
    end
    if (rst) begin
        default_port_reg <= 0;
        mtu_reg <= `WP_WAYPOINT_REG_MTU_RESET;
        for (r = 0; r < NUM_ENTRIES; r = r + 1) ent_valid_reg[r] <= 1'b0;
    end
end

wire [11:0] rd_rel = reg_rd_addr - ENT_BASE;
wire        rd_ent = reg_rd_addr >= ENT_BASE && reg_rd_addr < ENT_BASE + NUM_ENTRIES * ENT_STRIDE;
wire [IDX_W-1:0] rd_idx = rd_rel >> 4;
wire [11:0] rd_crel = reg_rd_addr - CNT_BASE;
wire        rd_cnts = reg_rd_addr >= CNT_BASE && reg_rd_addr < CNT_BASE + NUM_ENTRIES * CNT_STRIDE;
wire [IDX_W-1:0] rd_cidx = rd_crel >> 4;

// a function behind continuous assignments (not always @*), so the mux is defined from time 0
// in every simulator (Icarus -g2012 never runs an always @* block whose inputs keep their
// initial values). Result: {is_cnt, cnt[63:0], data[31:0]}.
function [96:0] rd_mux(
    input [11:0] addr, input ent, input [3:0] rel, input cnts, input cnt_bytes,
    input [63:0] ent_pkts, input [63:0] ent_bytes, input [63:0] nonnsh, input [63:0] miss,
    input [63:0] drop, input [7:0] dport, input [15:0] mtu, input [31:0] key, input [3:0] pe,
    input [7:0] port, input valid, input [31:0] hi
);
    reg [31:0] data;
    reg [63:0] cnt;
    reg        is_cnt;
    begin
        data = 32'd0;
        cnt = 64'd0;
        is_cnt = 1'b0;
        case ({addr[11:3], 3'b000})
            `WP_WAYPOINT_REG_NONNSH_PKTS: begin cnt = nonnsh; is_cnt = 1'b1; end
            `WP_WAYPOINT_REG_MISS_PKTS: begin cnt = miss; is_cnt = 1'b1; end
            `WP_WAYPOINT_REG_DROP_PKTS: begin cnt = drop; is_cnt = 1'b1; end
            default: ;
        endcase
        if (cnts) begin
            cnt = cnt_bytes ? ent_bytes : ent_pkts;
            is_cnt = 1'b1;
        end
        case (addr)
            `WP_WAYPOINT_REG_ID: data = `WP_WAYPOINT_BLOCK_ID;
            `WP_WAYPOINT_REG_VERSION: data = `WP_WAYPOINT_BLOCK_VERSION;
            `WP_WAYPOINT_REG_CAPS: data = NUM_ENTRIES;
            `WP_WAYPOINT_REG_DEFAULT_PORT: data = dport;
            `WP_WAYPOINT_REG_MTU: data = mtu;
            `WP_WAYPOINT_REG_NUM_PES: data = NUM_PES;
            default: ;
        endcase
        if (ent) begin
            case (rel)
                `WP_WAYPOINT_REG_ENTRY_KEY - ENT_BASE: data = key;
                `WP_WAYPOINT_REG_ENTRY_PE - ENT_BASE: data = pe;
                `WP_WAYPOINT_REG_ENTRY_PORT - ENT_BASE: data = port;
                `WP_WAYPOINT_REG_ENTRY_CTRL - ENT_BASE: data = valid;
                default: ;
            endcase
        end
        if (is_cnt) data = addr[2] ? hi : cnt[31:0];
        rd_mux = {is_cnt, cnt, data};
    end
endfunction

wire [96:0] rd_result = rd_mux(reg_rd_addr, rd_ent, rd_rel[3:0], rd_cnts, rd_crel[3],
    ent_pkts_reg[rd_cidx], ent_bytes_reg[rd_cidx], nonnsh_pkts_reg, miss_pkts_reg,
    drop_pkts_reg, default_port_reg, mtu_reg, ent_key_reg[rd_idx], ent_pe_reg[rd_idx],
    ent_port_reg[rd_idx], ent_valid_reg[rd_idx], rd_hi_reg);
wire        rd_is_cnt = rd_result[96];
wire [63:0] rd_cnt = rd_result[95:32];
assign reg_rd_data = rd_result[31:0];

always @(posedge clk) begin
    if (reg_rd_en && rd_is_cnt && !reg_rd_addr[2]) rd_hi_reg <= rd_cnt[63:32];
end

// ---------------------------------------------------------------- dispatch
function [5:0] popcount(input [KEEP_WIDTH-1:0] k);
    integer i;
    begin
        popcount = 0;
        for (i = 0; i < KEEP_WIDTH; i = i + 1) popcount = popcount + k[i];
    end
endfunction

reg                  d0_valid_reg = 1'b0;
reg [DATA_WIDTH-1:0] d0_tdata_reg = 0;
reg [KEEP_WIDTH-1:0] d0_tkeep_reg = 0;
reg [USER_WIDTH-1:0] d0_tuser_reg = 0;
reg                  d0_tlast_reg = 1'b0;
reg                  d0_first_reg = 1'b1;
reg                  in_frame_reg = 1'b0;
reg [TW-1:0]         tgt_reg = 0;
reg [7:0]            port_reg = 0;
reg                  hit_reg = 1'b0;
reg [IDX_W-1:0]      idx_reg = 0;

// lookup on the frame's first beat
wire [15:0] d0_type = {d0_tdata_reg[12*8 +: 8], d0_tdata_reg[13*8 +: 8]};
wire [5:0]  d0_bytes = popcount(d0_tkeep_reg);
wire        d0_eth = !d0_tlast_reg || d0_bytes >= 6'd14;
wire        d0_nsh = d0_eth && d0_type == 16'h894F;
wire        d0_nsh_valid = d0_nsh && (!d0_tlast_reg || d0_bytes >= 6'd22)
                           && d0_tdata_reg[14*8+6 +: 2] == 2'd0
                           && d0_tdata_reg[15*8 +: 6] >= 6'd2
                           && (d0_tdata_reg[16*8 +: 4] == 4'd1 || d0_tdata_reg[16*8 +: 4] == 4'd2);
wire [31:0] d0_key = {d0_tdata_reg[18*8 +: 8], d0_tdata_reg[19*8 +: 8],
                      d0_tdata_reg[20*8 +: 8], d0_tdata_reg[21*8 +: 8]};
wire        d0_oversize = d0_tuser_reg[15:0] > mtu_reg;

// per-entry match, then the lowest matching index; continuous assignments (not always @*),
// so the lookup is defined from time 0 in every simulator
wire [NUM_ENTRIES-1:0] lk_match;
genvar ge;
generate
    for (ge = 0; ge < NUM_ENTRIES; ge = ge + 1) begin : g_lk
        assign lk_match[ge] = ent_valid_reg[ge] && ent_key_reg[ge] == d0_key;
    end
endgenerate

function [IDX_W:0] lk_first(input [NUM_ENTRIES-1:0] v);
    integer i;
    begin
        lk_first = 0;
        for (i = NUM_ENTRIES - 1; i >= 0; i = i - 1) begin
            if (v[i]) begin
                lk_first[IDX_W-1:0] = i;
                lk_first[IDX_W] = 1'b1;
            end
        end
    end
endfunction

wire [IDX_W:0]   lk_result = lk_first(lk_match);
wire [IDX_W-1:0] lk_idx = lk_result[IDX_W-1:0];
wire             lk_hit = lk_result[IDX_W];

wire lk_ok = d0_nsh_valid && lk_hit && ent_pe_reg[lk_idx] < NUM_PES;
wire [TW-1:0] lk_tgt = d0_oversize ? TGT_DROP[TW-1:0]
                     : lk_ok ? ent_pe_reg[lk_idx][TW-1:0] : TGT_BYPASS[TW-1:0];
wire [TW-1:0] cur_tgt = d0_first_reg ? lk_tgt : tgt_reg;
wire [7:0]    cur_port = d0_first_reg ? (lk_ok ? ent_port_reg[lk_idx] : default_port_reg) : port_reg;
wire          cur_hit = d0_first_reg ? (lk_ok && !d0_oversize) : hit_reg;
wire [IDX_W-1:0] cur_idx = d0_first_reg ? lk_idx : idx_reg;

// demux: outputs 0..NUM_PES-1 = PEs, NUM_PES = bypass
wire [NUM_PES:0] dm_ready;
wire             d0_fire = d0_valid_reg && (cur_tgt == TGT_DROP || dm_ready[cur_tgt]);
assign s_axis_tready = !d0_valid_reg || d0_fire;
wire [USER_WIDTH-1:0] d0_tuser_out = {d0_tuser_reg[USER_WIDTH-1:32], cur_port, d0_tuser_reg[23:0]};

always @(posedge clk) begin
    if (s_axis_tready) begin
        d0_valid_reg <= s_axis_tvalid;
        if (s_axis_tvalid) begin
            d0_tdata_reg <= s_axis_tdata;
            d0_tkeep_reg <= s_axis_tkeep;
            d0_tuser_reg <= s_axis_tuser;
            d0_tlast_reg <= s_axis_tlast;
            d0_first_reg <= !in_frame_reg;
            in_frame_reg <= !s_axis_tlast;
        end
    end
    if (d0_fire) begin
        tgt_reg <= cur_tgt;
        port_reg <= cur_port;
        hit_reg <= cur_hit;
        idx_reg <= cur_idx;
        if (cur_hit) begin
            ent_bytes_reg[cur_idx] <= ent_bytes_reg[cur_idx] + d0_bytes;
            if (d0_first_reg) ent_pkts_reg[cur_idx] <= ent_pkts_reg[cur_idx] + 1;
        end
        if (d0_first_reg) begin
            if (d0_oversize) drop_pkts_reg <= drop_pkts_reg + 1;
            else if (!lk_ok && d0_nsh) miss_pkts_reg <= miss_pkts_reg + 1;
            else if (!lk_ok) nonnsh_pkts_reg <= nonnsh_pkts_reg + 1;
        end
    end
    if (rst || clear) begin
        nonnsh_pkts_reg <= 0;
        miss_pkts_reg <= 0;
        drop_pkts_reg <= 0;
        for (r = 0; r < NUM_ENTRIES; r = r + 1) begin
            ent_pkts_reg[r] <= 0;
            ent_bytes_reg[r] <= 0;
        end
    end
    if (rst) begin
        d0_valid_reg <= 1'b0;
        d0_first_reg <= 1'b1;
        in_frame_reg <= 1'b0;
    end
end

wire [NUM_PES:0] dm_valid;
genvar g;
generate
for (g = 0; g <= NUM_PES; g = g + 1) begin : demux
    assign dm_valid[g] = d0_valid_reg && cur_tgt == g;
end
endgenerate

// ---------------------------------------------------------------- PEs
wire [(NUM_PES+1)*DATA_WIDTH-1:0] mg_tdata;
wire [(NUM_PES+1)*KEEP_WIDTH-1:0] mg_tkeep;
wire [(NUM_PES+1)*USER_WIDTH-1:0] mg_tuser;
wire [NUM_PES:0]                  mg_tlast, mg_tvalid, mg_tready;

wp_fw #(.NUM_RULES(FW_RULES), .DATA_WIDTH(DATA_WIDTH), .USER_WIDTH(USER_WIDTH)) fw_inst (
    .clk(clk), .rst(rst),
    .s_axis_tdata(d0_tdata_reg), .s_axis_tkeep(d0_tkeep_reg), .s_axis_tuser(d0_tuser_out),
    .s_axis_tlast(d0_tlast_reg), .s_axis_tvalid(dm_valid[0]), .s_axis_tready(dm_ready[0]),
    .m_axis_tdata(mg_tdata[0 +: DATA_WIDTH]), .m_axis_tkeep(mg_tkeep[0 +: KEEP_WIDTH]),
    .m_axis_tuser(mg_tuser[0 +: USER_WIDTH]), .m_axis_tlast(mg_tlast[0]),
    .m_axis_tvalid(mg_tvalid[0]), .m_axis_tready(mg_tready[0]),
    .s_axil_awaddr(sp_awaddr[12 +: 12]), .s_axil_awprot(sp_awprot[3 +: 3]),
    .s_axil_awvalid(sp_awvalid[1]), .s_axil_awready(sp_awready[1]),
    .s_axil_wdata(sp_wdata[32 +: 32]), .s_axil_wstrb(sp_wstrb[4 +: 4]),
    .s_axil_wvalid(sp_wvalid[1]), .s_axil_wready(sp_wready[1]),
    .s_axil_bresp(sp_bresp[2 +: 2]), .s_axil_bvalid(sp_bvalid[1]), .s_axil_bready(sp_bready[1]),
    .s_axil_araddr(sp_araddr[12 +: 12]), .s_axil_arprot(sp_arprot[3 +: 3]),
    .s_axil_arvalid(sp_arvalid[1]), .s_axil_arready(sp_arready[1]),
    .s_axil_rdata(sp_rdata[32 +: 32]), .s_axil_rresp(sp_rresp[2 +: 2]),
    .s_axil_rvalid(sp_rvalid[1]), .s_axil_rready(sp_rready[1])
);

wp_nat #(.NUM_MAPPINGS(NAT_MAPPINGS), .DATA_WIDTH(DATA_WIDTH), .USER_WIDTH(USER_WIDTH)) nat_inst (
    .clk(clk), .rst(rst),
    .s_axis_tdata(d0_tdata_reg), .s_axis_tkeep(d0_tkeep_reg), .s_axis_tuser(d0_tuser_out),
    .s_axis_tlast(d0_tlast_reg), .s_axis_tvalid(dm_valid[1]), .s_axis_tready(dm_ready[1]),
    .m_axis_tdata(mg_tdata[DATA_WIDTH +: DATA_WIDTH]), .m_axis_tkeep(mg_tkeep[KEEP_WIDTH +: KEEP_WIDTH]),
    .m_axis_tuser(mg_tuser[USER_WIDTH +: USER_WIDTH]), .m_axis_tlast(mg_tlast[1]),
    .m_axis_tvalid(mg_tvalid[1]), .m_axis_tready(mg_tready[1]),
    .s_axil_awaddr(sp_awaddr[24 +: 12]), .s_axil_awprot(sp_awprot[6 +: 3]),
    .s_axil_awvalid(sp_awvalid[2]), .s_axil_awready(sp_awready[2]),
    .s_axil_wdata(sp_wdata[64 +: 32]), .s_axil_wstrb(sp_wstrb[8 +: 4]),
    .s_axil_wvalid(sp_wvalid[2]), .s_axil_wready(sp_wready[2]),
    .s_axil_bresp(sp_bresp[4 +: 2]), .s_axil_bvalid(sp_bvalid[2]), .s_axil_bready(sp_bready[2]),
    .s_axil_araddr(sp_araddr[24 +: 12]), .s_axil_arprot(sp_arprot[6 +: 3]),
    .s_axil_arvalid(sp_arvalid[2]), .s_axil_arready(sp_arready[2]),
    .s_axil_rdata(sp_rdata[64 +: 32]), .s_axil_rresp(sp_rresp[4 +: 2]),
    .s_axil_rvalid(sp_rvalid[2]), .s_axil_rready(sp_rready[2])
);

// external PEs
generate
for (g = 0; g < EXT_PES; g = g + 1) begin : ext
    assign m_axis_pe_tdata[g*DATA_WIDTH +: DATA_WIDTH] = d0_tdata_reg;
    assign m_axis_pe_tkeep[g*KEEP_WIDTH +: KEEP_WIDTH] = d0_tkeep_reg;
    assign m_axis_pe_tuser[g*USER_WIDTH +: USER_WIDTH] = d0_tuser_out;
    assign m_axis_pe_tlast[g] = d0_tlast_reg;
    assign m_axis_pe_tvalid[g] = dm_valid[2+g];
    assign dm_ready[2+g] = m_axis_pe_tready[g];
    assign mg_tdata[(2+g)*DATA_WIDTH +: DATA_WIDTH] = s_axis_pe_tdata[g*DATA_WIDTH +: DATA_WIDTH];
    assign mg_tkeep[(2+g)*KEEP_WIDTH +: KEEP_WIDTH] = s_axis_pe_tkeep[g*KEEP_WIDTH +: KEEP_WIDTH];
    assign mg_tuser[(2+g)*USER_WIDTH +: USER_WIDTH] = s_axis_pe_tuser[g*USER_WIDTH +: USER_WIDTH];
    assign mg_tlast[2+g] = s_axis_pe_tlast[g];
    assign mg_tvalid[2+g] = s_axis_pe_tvalid[g];
    assign s_axis_pe_tready[g] = mg_tready[2+g];
end
endgenerate

// bypass
assign mg_tdata[NUM_PES*DATA_WIDTH +: DATA_WIDTH] = d0_tdata_reg;
assign mg_tkeep[NUM_PES*KEEP_WIDTH +: KEEP_WIDTH] = d0_tkeep_reg;
assign mg_tuser[NUM_PES*USER_WIDTH +: USER_WIDTH] = d0_tuser_out;
assign mg_tlast[NUM_PES] = d0_tlast_reg;
assign mg_tvalid[NUM_PES] = dm_valid[NUM_PES];
assign dm_ready[NUM_PES] = mg_tready[NUM_PES];

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
