// Formal wrapper for a stream PE (wp_fw, wp_nat, wp_chacha20, wp_ids: same port names), chosen
// with `read -formal -DWP_PE=<module>`; its parameters are set with chparam on that module.
// With `-DWP_WAYPOINT` it wraps wp_waypoint instead (one entry, one external PE port, its fw and
// nat inside): the external PE's return stream idle, its output always ready, and asserted:
// nothing is sent to the external PE and its AXI-Lite master stays idle (no entry is valid at
// reset).
//
// Environment: AXI-Stream rules on the input (wp_axis_check ASSUME=1), fair back-pressure on
// the output (wp_fair), the AXI-Lite port idle (registers at their reset values), and every
// frame's EtherType 0x88B5 (IEEE local experimental): a frame no PE touches, so at reset every
// PE must pass it unchanged, and wp_axis_track checks exactly that (every beat once, in order,
// unchanged) plus bounded liveness. SYM_BYTES / SYM_USER narrow the symbolic payload. Output: the AXI-Stream rules as assertions.

`include "wp_regmap.vh"
`default_nettype none

module fv_wp_pe #(
    parameter LIVE = 24,
    // payload kept symbolic: tdata bytes 0..SYM_BYTES-1 and tuser bits 0..SYM_USER-1; the rest
    // is assumed zero (keeps the SAT problem small enough for CI depths)
    parameter SYM_BYTES = 32,
    parameter SYM_USER = 128
) (
    input wire         clk,
    input wire         rst,
    input wire [255:0] s_tdata,
    input wire [31:0]  s_tkeep,
    input wire [127:0] s_tuser,
    input wire         s_tlast,
    input wire         s_tvalid,
    input wire         m_tready
);

wire         s_tready;
wire [255:0] m_tdata;
wire [31:0]  m_tkeep;
wire [127:0] m_tuser;
wire         m_tlast, m_tvalid;
wire         awready, wready, bvalid, arready, rvalid;
wire [1:0]   bresp, rresp;
wire [31:0]  rdata;

`ifdef WP_WAYPOINT
wire         pe_tvalid, pe_tlast, pe_s_tready;
wire [255:0] pe_tdata;
wire [31:0]  pe_tkeep;
wire [127:0] pe_tuser;
wire         pe_awvalid, pe_wvalid, pe_bready, pe_arvalid, pe_rready;
wire [`WP_BLOCK_ADDR_WIDTH-1:0] pe_awaddr, pe_araddr;
wire [2:0]   pe_awprot, pe_arprot;
wire [31:0]  pe_wdata;
wire [3:0]   pe_wstrb;

wp_waypoint #(.NUM_ENTRIES(1), .EXT_PES(1), .FW_RULES(1), .NAT_MAPPINGS(1)) dut (
    .clk(clk), .rst(rst),
    .s_axis_tdata(s_tdata), .s_axis_tkeep(s_tkeep), .s_axis_tuser(s_tuser),
    .s_axis_tlast(s_tlast), .s_axis_tvalid(s_tvalid), .s_axis_tready(s_tready),
    .m_axis_tdata(m_tdata), .m_axis_tkeep(m_tkeep), .m_axis_tuser(m_tuser),
    .m_axis_tlast(m_tlast), .m_axis_tvalid(m_tvalid), .m_axis_tready(m_tready),
    .m_axis_pe_tdata(pe_tdata), .m_axis_pe_tkeep(pe_tkeep), .m_axis_pe_tuser(pe_tuser),
    .m_axis_pe_tlast(pe_tlast), .m_axis_pe_tvalid(pe_tvalid), .m_axis_pe_tready(1'b1),
    .s_axis_pe_tdata(256'd0), .s_axis_pe_tkeep(32'd0), .s_axis_pe_tuser(128'd0),
    .s_axis_pe_tlast(1'b0), .s_axis_pe_tvalid(1'b0), .s_axis_pe_tready(pe_s_tready),
    .s_axil_awaddr(16'd0), .s_axil_awprot(3'd0), .s_axil_awvalid(1'b0),
    .s_axil_awready(awready), .s_axil_wdata(32'd0), .s_axil_wstrb(4'd0),
    .s_axil_wvalid(1'b0), .s_axil_wready(wready), .s_axil_bresp(bresp),
    .s_axil_bvalid(bvalid), .s_axil_bready(1'b1), .s_axil_araddr(16'd0),
    .s_axil_arprot(3'd0), .s_axil_arvalid(1'b0), .s_axil_arready(arready),
    .s_axil_rdata(rdata), .s_axil_rresp(rresp), .s_axil_rvalid(rvalid), .s_axil_rready(1'b1),
    .m_axil_pe_awaddr(pe_awaddr), .m_axil_pe_awprot(pe_awprot), .m_axil_pe_awvalid(pe_awvalid),
    .m_axil_pe_awready(1'b0), .m_axil_pe_wdata(pe_wdata), .m_axil_pe_wstrb(pe_wstrb),
    .m_axil_pe_wvalid(pe_wvalid), .m_axil_pe_wready(1'b0), .m_axil_pe_bresp(2'd0),
    .m_axil_pe_bvalid(1'b0), .m_axil_pe_bready(pe_bready), .m_axil_pe_araddr(pe_araddr),
    .m_axil_pe_arprot(pe_arprot), .m_axil_pe_arvalid(pe_arvalid), .m_axil_pe_arready(1'b0),
    .m_axil_pe_rdata(32'd0), .m_axil_pe_rresp(2'd0), .m_axil_pe_rvalid(1'b0),
    .m_axil_pe_rready(pe_rready)
);

// no dispatch entry at reset: nothing goes to the external PE; its register port stays idle
always @* if (!rst) assert(!pe_tvalid && !pe_awvalid && !pe_wvalid && !pe_arvalid);
`else
`WP_PE dut (
    .clk(clk), .rst(rst),
    .s_axis_tdata(s_tdata), .s_axis_tkeep(s_tkeep), .s_axis_tuser(s_tuser),
    .s_axis_tlast(s_tlast), .s_axis_tvalid(s_tvalid), .s_axis_tready(s_tready),
    .m_axis_tdata(m_tdata), .m_axis_tkeep(m_tkeep), .m_axis_tuser(m_tuser),
    .m_axis_tlast(m_tlast), .m_axis_tvalid(m_tvalid), .m_axis_tready(m_tready),
    .s_axil_awaddr(12'd0), .s_axil_awprot(3'd0), .s_axil_awvalid(1'b0),
    .s_axil_awready(awready), .s_axil_wdata(32'd0), .s_axil_wstrb(4'd0),
    .s_axil_wvalid(1'b0), .s_axil_wready(wready), .s_axil_bresp(bresp),
    .s_axil_bvalid(bvalid), .s_axil_bready(1'b1), .s_axil_araddr(12'd0),
    .s_axil_arprot(3'd0), .s_axil_arvalid(1'b0), .s_axil_arready(arready),
    .s_axil_rdata(rdata), .s_axil_rresp(rresp), .s_axil_rvalid(rvalid), .s_axil_rready(1'b1)
);
`endif

// frames the PE must pass: EtherType 0x88B5 in the first beat
reg in_first = 1'b1;
always @(posedge clk) begin
    if (s_tvalid && s_tready) in_first <= s_tlast;
    if (rst) in_first <= 1'b1;
end
always @* begin
    if (s_tvalid && in_first) assume(s_tdata[12*8 +: 8] == 8'h88 && s_tdata[13*8 +: 8] == 8'hB5);
    if (SYM_BYTES < 32) assume((s_tdata >> (SYM_BYTES * 8)) == 0);
    if (SYM_USER < 128) assume((s_tuser >> SYM_USER) == 0);
end

wp_fair fair (.clk(clk), .rst(rst), .ready(m_tready));
wp_axis_check #(.ASSUME(1)) in_chk (
    .clk(clk), .rst(rst), .tdata(s_tdata), .tkeep(s_tkeep), .tuser(s_tuser), .tlast(s_tlast),
    .tvalid(s_tvalid), .tready(s_tready));
wp_axis_check #(.ASSUME(0)) out_chk (
    .clk(clk), .rst(rst), .tdata(m_tdata), .tkeep(m_tkeep), .tuser(m_tuser), .tlast(m_tlast),
    .tvalid(m_tvalid), .tready(m_tready));
wp_axis_track #(.CHECK_DATA(1), .LIVE(LIVE), .LIVE_BEATS(0)) track (
    .clk(clk), .rst(rst),
    .s_tdata(s_tdata), .s_tkeep(s_tkeep), .s_tuser(s_tuser), .s_tlast(s_tlast),
    .s_tvalid(s_tvalid), .s_tready(s_tready),
    .m_tdata(m_tdata), .m_tkeep(m_tkeep), .m_tuser(m_tuser), .m_tlast(m_tlast),
    .m_tvalid(m_tvalid), .m_tready(m_tready));

// the AXI-Lite port is idle: it must stay quiet
always @* if (!rst) assert(!bvalid && !rvalid && !awready && !wready && !arready);

endmodule
