// wp_waypoint_sume: NetFPGA SUME names around wp_waypoint (thin wrapper, no logic but reset
// polarity). Plugs between the SUME input arbiter and output queues; the AXI-Lite slave sits on
// the SUME register interconnect (16-bit window, see docs/regmap.md). The external PE ports are
// brought out with SUME-style names for the external PEs (or tied off by the project top).

`resetall
`timescale 1ns / 1ps
`default_nettype none

`include "wp_regmap.vh"
`include "wp_frame.vh"

module wp_waypoint_sume #(
    // Dispatch table entries
    parameter NUM_ENTRIES = 16,
    // External PE ports (PE index 2..)
    parameter EXT_PES = 1,
    // Firewall rules
    parameter FW_RULES = 16,
    // NAT mappings
    parameter NAT_MAPPINGS = 16,
    // SUME data path widths
    parameter C_M_AXIS_DATA_WIDTH = 256,
    parameter C_S_AXIS_DATA_WIDTH = 256,
    parameter C_M_AXIS_TUSER_WIDTH = `WP_TUSER_WIDTH,
    parameter C_S_AXIS_TUSER_WIDTH = `WP_TUSER_WIDTH,
    parameter C_S_AXI_ADDR_WIDTH = 16,
    parameter C_S_AXI_DATA_WIDTH = 32
) (
    input  wire                                      axis_aclk,
    input  wire                                      axis_resetn,

    input  wire [C_S_AXIS_DATA_WIDTH-1:0]            s_axis_tdata,
    input  wire [C_S_AXIS_DATA_WIDTH/8-1:0]          s_axis_tkeep,
    input  wire [C_S_AXIS_TUSER_WIDTH-1:0]           s_axis_tuser,
    input  wire                                      s_axis_tvalid,
    output wire                                      s_axis_tready,
    input  wire                                      s_axis_tlast,

    output wire [C_M_AXIS_DATA_WIDTH-1:0]            m_axis_tdata,
    output wire [C_M_AXIS_DATA_WIDTH/8-1:0]          m_axis_tkeep,
    output wire [C_M_AXIS_TUSER_WIDTH-1:0]           m_axis_tuser,
    output wire                                      m_axis_tvalid,
    input  wire                                      m_axis_tready,
    output wire                                      m_axis_tlast,

    output wire [EXT_PES*C_M_AXIS_DATA_WIDTH-1:0]    m_axis_pe_tdata,
    output wire [EXT_PES*C_M_AXIS_DATA_WIDTH/8-1:0]  m_axis_pe_tkeep,
    output wire [EXT_PES*C_M_AXIS_TUSER_WIDTH-1:0]   m_axis_pe_tuser,
    output wire [EXT_PES-1:0]                        m_axis_pe_tlast,
    output wire [EXT_PES-1:0]                        m_axis_pe_tvalid,
    input  wire [EXT_PES-1:0]                        m_axis_pe_tready,
    input  wire [EXT_PES*C_S_AXIS_DATA_WIDTH-1:0]    s_axis_pe_tdata,
    input  wire [EXT_PES*C_S_AXIS_DATA_WIDTH/8-1:0]  s_axis_pe_tkeep,
    input  wire [EXT_PES*C_S_AXIS_TUSER_WIDTH-1:0]   s_axis_pe_tuser,
    input  wire [EXT_PES-1:0]                        s_axis_pe_tlast,
    input  wire [EXT_PES-1:0]                        s_axis_pe_tvalid,
    output wire [EXT_PES-1:0]                        s_axis_pe_tready,

    input  wire                                      S_AXI_ACLK,
    input  wire                                      S_AXI_ARESETN,
    input  wire [C_S_AXI_ADDR_WIDTH-1:0]             S_AXI_AWADDR,
    input  wire                                      S_AXI_AWVALID,
    output wire                                      S_AXI_AWREADY,
    input  wire [C_S_AXI_DATA_WIDTH-1:0]             S_AXI_WDATA,
    input  wire [C_S_AXI_DATA_WIDTH/8-1:0]           S_AXI_WSTRB,
    input  wire                                      S_AXI_WVALID,
    output wire                                      S_AXI_WREADY,
    output wire [1:0]                                S_AXI_BRESP,
    output wire                                      S_AXI_BVALID,
    input  wire                                      S_AXI_BREADY,
    input  wire [C_S_AXI_ADDR_WIDTH-1:0]             S_AXI_ARADDR,
    input  wire                                      S_AXI_ARVALID,
    output wire                                      S_AXI_ARREADY,
    output wire [C_S_AXI_DATA_WIDTH-1:0]             S_AXI_RDATA,
    output wire [1:0]                                S_AXI_RRESP,
    output wire                                      S_AXI_RVALID,
    input  wire                                      S_AXI_RREADY,

    output wire [EXT_PES*`WP_BLOCK_ADDR_WIDTH-1:0]   M_AXI_PE_AWADDR,
    output wire [EXT_PES-1:0]                        M_AXI_PE_AWVALID,
    input  wire [EXT_PES-1:0]                        M_AXI_PE_AWREADY,
    output wire [EXT_PES*32-1:0]                     M_AXI_PE_WDATA,
    output wire [EXT_PES*4-1:0]                      M_AXI_PE_WSTRB,
    output wire [EXT_PES-1:0]                        M_AXI_PE_WVALID,
    input  wire [EXT_PES-1:0]                        M_AXI_PE_WREADY,
    input  wire [EXT_PES*2-1:0]                      M_AXI_PE_BRESP,
    input  wire [EXT_PES-1:0]                        M_AXI_PE_BVALID,
    output wire [EXT_PES-1:0]                        M_AXI_PE_BREADY,
    output wire [EXT_PES*`WP_BLOCK_ADDR_WIDTH-1:0]   M_AXI_PE_ARADDR,
    output wire [EXT_PES-1:0]                        M_AXI_PE_ARVALID,
    input  wire [EXT_PES-1:0]                        M_AXI_PE_ARREADY,
    input  wire [EXT_PES*32-1:0]                     M_AXI_PE_RDATA,
    input  wire [EXT_PES*2-1:0]                      M_AXI_PE_RRESP,
    input  wire [EXT_PES-1:0]                        M_AXI_PE_RVALID,
    output wire [EXT_PES-1:0]                        M_AXI_PE_RREADY
);

// SUME runs the register interface on axis_aclk in the reference designs; one clock here.
wp_waypoint #(
    .NUM_ENTRIES(NUM_ENTRIES), .EXT_PES(EXT_PES), .FW_RULES(FW_RULES),
    .NAT_MAPPINGS(NAT_MAPPINGS), .DATA_WIDTH(C_S_AXIS_DATA_WIDTH),
    .USER_WIDTH(C_S_AXIS_TUSER_WIDTH)
) core (
    .clk(axis_aclk), .rst(!axis_resetn || !S_AXI_ARESETN),
    .s_axis_tdata(s_axis_tdata), .s_axis_tkeep(s_axis_tkeep), .s_axis_tuser(s_axis_tuser),
    .s_axis_tlast(s_axis_tlast), .s_axis_tvalid(s_axis_tvalid), .s_axis_tready(s_axis_tready),
    .m_axis_tdata(m_axis_tdata), .m_axis_tkeep(m_axis_tkeep), .m_axis_tuser(m_axis_tuser),
    .m_axis_tlast(m_axis_tlast), .m_axis_tvalid(m_axis_tvalid), .m_axis_tready(m_axis_tready),
    .m_axis_pe_tdata(m_axis_pe_tdata), .m_axis_pe_tkeep(m_axis_pe_tkeep),
    .m_axis_pe_tuser(m_axis_pe_tuser), .m_axis_pe_tlast(m_axis_pe_tlast),
    .m_axis_pe_tvalid(m_axis_pe_tvalid), .m_axis_pe_tready(m_axis_pe_tready),
    .s_axis_pe_tdata(s_axis_pe_tdata), .s_axis_pe_tkeep(s_axis_pe_tkeep),
    .s_axis_pe_tuser(s_axis_pe_tuser), .s_axis_pe_tlast(s_axis_pe_tlast),
    .s_axis_pe_tvalid(s_axis_pe_tvalid), .s_axis_pe_tready(s_axis_pe_tready),
    .s_axil_awaddr(S_AXI_AWADDR), .s_axil_awprot(3'd0), .s_axil_awvalid(S_AXI_AWVALID),
    .s_axil_awready(S_AXI_AWREADY), .s_axil_wdata(S_AXI_WDATA), .s_axil_wstrb(S_AXI_WSTRB),
    .s_axil_wvalid(S_AXI_WVALID), .s_axil_wready(S_AXI_WREADY), .s_axil_bresp(S_AXI_BRESP),
    .s_axil_bvalid(S_AXI_BVALID), .s_axil_bready(S_AXI_BREADY), .s_axil_araddr(S_AXI_ARADDR),
    .s_axil_arprot(3'd0), .s_axil_arvalid(S_AXI_ARVALID), .s_axil_arready(S_AXI_ARREADY),
    .s_axil_rdata(S_AXI_RDATA), .s_axil_rresp(S_AXI_RRESP), .s_axil_rvalid(S_AXI_RVALID),
    .s_axil_rready(S_AXI_RREADY),
    .m_axil_pe_awaddr(M_AXI_PE_AWADDR), .m_axil_pe_awprot(), .m_axil_pe_awvalid(M_AXI_PE_AWVALID),
    .m_axil_pe_awready(M_AXI_PE_AWREADY), .m_axil_pe_wdata(M_AXI_PE_WDATA),
    .m_axil_pe_wstrb(M_AXI_PE_WSTRB), .m_axil_pe_wvalid(M_AXI_PE_WVALID),
    .m_axil_pe_wready(M_AXI_PE_WREADY), .m_axil_pe_bresp(M_AXI_PE_BRESP),
    .m_axil_pe_bvalid(M_AXI_PE_BVALID), .m_axil_pe_bready(M_AXI_PE_BREADY),
    .m_axil_pe_araddr(M_AXI_PE_ARADDR), .m_axil_pe_arprot(), .m_axil_pe_arvalid(M_AXI_PE_ARVALID),
    .m_axil_pe_arready(M_AXI_PE_ARREADY), .m_axil_pe_rdata(M_AXI_PE_RDATA),
    .m_axil_pe_rresp(M_AXI_PE_RRESP), .m_axil_pe_rvalid(M_AXI_PE_RVALID),
    .m_axil_pe_rready(M_AXI_PE_RREADY)
);

endmodule

`resetall
