// wp_cosim_top: wp_waypoint with its external PEs wired in, as the plan's FPGA layout expects
// (wphw/netfpga/plan.py DEFAULT_LAYOUT): PE 0 = wp_fw and PE 1 = wp_nat (inside wp_waypoint),
// PE 2 = wp_chacha20 (register slot 3, encrypt), PE 3 = wp_ids (slot 4), PE 4 = a second
// wp_chacha20 (slot 5, decrypt), so one waypoint can encrypt and decrypt; each ChaCha20's mode
// can be changed through CONFIG.DECRYPT. The external PEs' buffer sizes are parameters (the long
// run gives the IDS a frame buffer smaller than the largest frame: its OVERSIZE path).
// Simulation top for sim/test_plan_registers.py, sim/test_wp_all.py and the co-simulated PE
// (sim/cosim_bridge.py); not a board wrapper.
`resetall
`timescale 1ns / 1ps
`default_nettype none

`include "wp_regmap.vh"
`include "wp_frame.vh"

module wp_cosim_top #(
    // Dispatch table entries (1..64)
    parameter NUM_ENTRIES = 16,
    // Firewall rules
    parameter FW_RULES = 8,
    // NAT mappings
    parameter NAT_MAPPINGS = 8,
    // IDS signatures
    parameter IDS_SIGS = 4,
    // IDS frame buffer in 32-byte beats (longer frames are dropped as OVERSIZE)
    parameter IDS_FRAME_DEPTH = 512,
    // ChaCha20 data FIFO depth in beats (both instances)
    parameter CHACHA_FIFO_DEPTH = 128,
    // ChaCha20 keystream FIFO depth in 64-byte blocks (both instances)
    parameter CHACHA_KS_DEPTH = 64
) (
    input  wire          clk,
    input  wire          rst,

    input  wire [255:0]  s_axis_tdata,
    input  wire [31:0]   s_axis_tkeep,
    input  wire [`WP_TUSER_WIDTH-1:0] s_axis_tuser,
    input  wire          s_axis_tlast,
    input  wire          s_axis_tvalid,
    output wire          s_axis_tready,

    output wire [255:0]  m_axis_tdata,
    output wire [31:0]   m_axis_tkeep,
    output wire [`WP_TUSER_WIDTH-1:0] m_axis_tuser,
    output wire          m_axis_tlast,
    output wire          m_axis_tvalid,
    input  wire          m_axis_tready,

    input  wire [15:0]   s_axil_awaddr,
    input  wire [2:0]    s_axil_awprot,
    input  wire          s_axil_awvalid,
    output wire          s_axil_awready,
    input  wire [31:0]   s_axil_wdata,
    input  wire [3:0]    s_axil_wstrb,
    input  wire          s_axil_wvalid,
    output wire          s_axil_wready,
    output wire [1:0]    s_axil_bresp,
    output wire          s_axil_bvalid,
    input  wire          s_axil_bready,
    input  wire [15:0]   s_axil_araddr,
    input  wire [2:0]    s_axil_arprot,
    input  wire          s_axil_arvalid,
    output wire          s_axil_arready,
    output wire [31:0]   s_axil_rdata,
    output wire [1:0]    s_axil_rresp,
    output wire          s_axil_rvalid,
    input  wire          s_axil_rready
);

localparam EXT = 3;
// PE register ports: one register block each; tuser: the SUME width (wp_frame.vh)
localparam AW = `WP_BLOCK_ADDR_WIDTH;
localparam UW = `WP_TUSER_WIDTH;

wire [EXT*256-1:0] pe_in_tdata, pe_out_tdata;
wire [EXT*32-1:0]  pe_in_tkeep, pe_out_tkeep;
wire [EXT*UW-1:0]  pe_in_tuser, pe_out_tuser;
wire [EXT-1:0]     pe_in_tlast, pe_in_tvalid, pe_in_tready;
wire [EXT-1:0]     pe_out_tlast, pe_out_tvalid, pe_out_tready;

wire [EXT*AW-1:0]  pa_awaddr, pa_araddr;
wire [EXT*3-1:0]   pa_awprot, pa_arprot;
wire [EXT-1:0]     pa_awvalid, pa_awready, pa_wvalid, pa_wready, pa_bvalid, pa_bready;
wire [EXT-1:0]     pa_arvalid, pa_arready, pa_rvalid, pa_rready;
wire [EXT*32-1:0]  pa_wdata, pa_rdata;
wire [EXT*4-1:0]   pa_wstrb;
wire [EXT*2-1:0]   pa_bresp, pa_rresp;

wp_waypoint #(
    .NUM_ENTRIES(NUM_ENTRIES),
    .EXT_PES(EXT),
    .FW_RULES(FW_RULES),
    .NAT_MAPPINGS(NAT_MAPPINGS),
    .USER_WIDTH(UW)
) waypoint_inst (
    .clk(clk), .rst(rst),
    .s_axis_tdata(s_axis_tdata), .s_axis_tkeep(s_axis_tkeep), .s_axis_tuser(s_axis_tuser),
    .s_axis_tlast(s_axis_tlast), .s_axis_tvalid(s_axis_tvalid), .s_axis_tready(s_axis_tready),
    .m_axis_tdata(m_axis_tdata), .m_axis_tkeep(m_axis_tkeep), .m_axis_tuser(m_axis_tuser),
    .m_axis_tlast(m_axis_tlast), .m_axis_tvalid(m_axis_tvalid), .m_axis_tready(m_axis_tready),
    .m_axis_pe_tdata(pe_in_tdata), .m_axis_pe_tkeep(pe_in_tkeep),
    .m_axis_pe_tuser(pe_in_tuser), .m_axis_pe_tlast(pe_in_tlast),
    .m_axis_pe_tvalid(pe_in_tvalid), .m_axis_pe_tready(pe_in_tready),
    .s_axis_pe_tdata(pe_out_tdata), .s_axis_pe_tkeep(pe_out_tkeep),
    .s_axis_pe_tuser(pe_out_tuser), .s_axis_pe_tlast(pe_out_tlast),
    .s_axis_pe_tvalid(pe_out_tvalid), .s_axis_pe_tready(pe_out_tready),
    .s_axil_awaddr(s_axil_awaddr), .s_axil_awprot(s_axil_awprot),
    .s_axil_awvalid(s_axil_awvalid), .s_axil_awready(s_axil_awready),
    .s_axil_wdata(s_axil_wdata), .s_axil_wstrb(s_axil_wstrb),
    .s_axil_wvalid(s_axil_wvalid), .s_axil_wready(s_axil_wready),
    .s_axil_bresp(s_axil_bresp), .s_axil_bvalid(s_axil_bvalid), .s_axil_bready(s_axil_bready),
    .s_axil_araddr(s_axil_araddr), .s_axil_arprot(s_axil_arprot),
    .s_axil_arvalid(s_axil_arvalid), .s_axil_arready(s_axil_arready),
    .s_axil_rdata(s_axil_rdata), .s_axil_rresp(s_axil_rresp),
    .s_axil_rvalid(s_axil_rvalid), .s_axil_rready(s_axil_rready),
    .m_axil_pe_awaddr(pa_awaddr), .m_axil_pe_awprot(pa_awprot),
    .m_axil_pe_awvalid(pa_awvalid), .m_axil_pe_awready(pa_awready),
    .m_axil_pe_wdata(pa_wdata), .m_axil_pe_wstrb(pa_wstrb),
    .m_axil_pe_wvalid(pa_wvalid), .m_axil_pe_wready(pa_wready),
    .m_axil_pe_bresp(pa_bresp), .m_axil_pe_bvalid(pa_bvalid), .m_axil_pe_bready(pa_bready),
    .m_axil_pe_araddr(pa_araddr), .m_axil_pe_arprot(pa_arprot),
    .m_axil_pe_arvalid(pa_arvalid), .m_axil_pe_arready(pa_arready),
    .m_axil_pe_rdata(pa_rdata), .m_axil_pe_rresp(pa_rresp),
    .m_axil_pe_rvalid(pa_rvalid), .m_axil_pe_rready(pa_rready)
);

`define WP_COSIM_PE_PORTS(i) \
    .clk(clk), .rst(rst), \
    .s_axis_tdata(pe_in_tdata[i*256 +: 256]), .s_axis_tkeep(pe_in_tkeep[i*32 +: 32]), \
    .s_axis_tvalid(pe_in_tvalid[i]), .s_axis_tready(pe_in_tready[i]), \
    .s_axis_tlast(pe_in_tlast[i]), .s_axis_tuser(pe_in_tuser[i*UW +: UW]), \
    .m_axis_tdata(pe_out_tdata[i*256 +: 256]), .m_axis_tkeep(pe_out_tkeep[i*32 +: 32]), \
    .m_axis_tvalid(pe_out_tvalid[i]), .m_axis_tready(pe_out_tready[i]), \
    .m_axis_tlast(pe_out_tlast[i]), .m_axis_tuser(pe_out_tuser[i*UW +: UW]), \
    .s_axil_awaddr(pa_awaddr[i*AW +: AW]), .s_axil_awprot(pa_awprot[i*3 +: 3]), \
    .s_axil_awvalid(pa_awvalid[i]), .s_axil_awready(pa_awready[i]), \
    .s_axil_wdata(pa_wdata[i*32 +: 32]), .s_axil_wstrb(pa_wstrb[i*4 +: 4]), \
    .s_axil_wvalid(pa_wvalid[i]), .s_axil_wready(pa_wready[i]), \
    .s_axil_bresp(pa_bresp[i*2 +: 2]), .s_axil_bvalid(pa_bvalid[i]), \
    .s_axil_bready(pa_bready[i]), \
    .s_axil_araddr(pa_araddr[i*AW +: AW]), .s_axil_arprot(pa_arprot[i*3 +: 3]), \
    .s_axil_arvalid(pa_arvalid[i]), .s_axil_arready(pa_arready[i]), \
    .s_axil_rdata(pa_rdata[i*32 +: 32]), .s_axil_rresp(pa_rresp[i*2 +: 2]), \
    .s_axil_rvalid(pa_rvalid[i]), .s_axil_rready(pa_rready[i])

// PE 2: ChaCha20, encrypt
wp_chacha20 #(
    .DECRYPT(0),
    .USER_WIDTH(UW),
    .FIFO_DEPTH(CHACHA_FIFO_DEPTH),
    .KS_DEPTH(CHACHA_KS_DEPTH)
) encrypt_inst (`WP_COSIM_PE_PORTS(0));

// PE 3: IDS
wp_ids #(
    .NUM_SIGS(IDS_SIGS),
    .USER_WIDTH(UW),
    .FRAME_DEPTH(IDS_FRAME_DEPTH)
) ids_inst (`WP_COSIM_PE_PORTS(1));

// PE 4: ChaCha20, decrypt
wp_chacha20 #(
    .DECRYPT(1),
    .USER_WIDTH(UW),
    .FIFO_DEPTH(CHACHA_FIFO_DEPTH),
    .KS_DEPTH(CHACHA_KS_DEPTH)
) decrypt_inst (`WP_COSIM_PE_PORTS(2));

`undef WP_COSIM_PE_PORTS

endmodule

`resetall
