// Formal wrapper: wp_axis_reg carrying a narrow AXI-Stream (the slice is width-generic).

`default_nettype none

module fv_wp_axis_reg #(
    parameter DW = 32,
    parameter UW = 4,
    parameter LIVE = 4,
    // the slice's SLICES (its data registers in slices with their own control copies)
    parameter SLICES = 1
) (
    input wire          clk,
    input wire          rst,
    input wire [DW-1:0] s_tdata,
    input wire [DW/8-1:0] s_tkeep,
    input wire [UW-1:0] s_tuser,
    input wire          s_tlast,
    input wire          s_tvalid,
    input wire          m_tready
);

localparam W = DW + DW / 8 + UW + 1;

wire          s_tready;
wire [W-1:0]  m_data;
wire          m_tvalid;
wire [DW-1:0] m_tdata = m_data[DW-1:0];
wire [DW/8-1:0] m_tkeep = m_data[DW +: DW/8];
wire [UW-1:0] m_tuser = m_data[DW+DW/8 +: UW];
wire          m_tlast = m_data[W-1];

wp_axis_reg #(.WIDTH(W), .SLICES(SLICES)) dut (
    .clk(clk), .rst(rst),
    .s_data({s_tlast, s_tuser, s_tkeep, s_tdata}), .s_valid(s_tvalid), .s_ready(s_tready),
    .m_data(m_data), .m_valid(m_tvalid), .m_ready(m_tready)
);

wp_fair fair (.clk(clk), .rst(rst), .ready(m_tready));
wp_axis_check #(.ASSUME(1), .DATA_WIDTH(DW), .USER_WIDTH(UW)) in_chk (
    .clk(clk), .rst(rst), .tdata(s_tdata), .tkeep(s_tkeep), .tuser(s_tuser), .tlast(s_tlast),
    .tvalid(s_tvalid), .tready(s_tready));
wp_axis_check #(.ASSUME(0), .DATA_WIDTH(DW), .USER_WIDTH(UW)) out_chk (
    .clk(clk), .rst(rst), .tdata(m_tdata), .tkeep(m_tkeep), .tuser(m_tuser), .tlast(m_tlast),
    .tvalid(m_tvalid), .tready(m_tready));
wp_axis_track #(.DATA_WIDTH(DW), .USER_WIDTH(UW), .CHECK_DATA(1), .LIVE(LIVE), .LIVE_BEATS(1))
    track (
    .clk(clk), .rst(rst),
    .s_tdata(s_tdata), .s_tkeep(s_tkeep), .s_tuser(s_tuser), .s_tlast(s_tlast),
    .s_tvalid(s_tvalid), .s_tready(s_tready),
    .m_tdata(m_tdata), .m_tkeep(m_tkeep), .m_tuser(m_tuser), .m_tlast(m_tlast),
    .m_tvalid(m_tvalid), .m_tready(m_tready));

endmodule
