// Time-0 check for wp_axis_arb: every input is a constant, so no input ever changes. Icarus
// (-g2012) never runs an always @* block whose inputs keep their initial values; the RTL must
// still drive defined outputs from time 0 (sim/test_time0.py looks for x / z in the output).
`resetall
`timescale 1ns / 1ps
`default_nettype none

module tb_wp_axis_arb;
reg clk = 0, rst = 0;
reg [1:0] v = 0;
wire mv; wire [1:0] rdy; wire [255:0] md; wire [31:0] mk; wire [127:0] mu; wire ml;
wp_axis_arb #(.S_COUNT(2)) dut(.clk(clk), .rst(rst), .s_axis_tdata(512'd0), .s_axis_tkeep(64'd0),
  .s_axis_tuser(256'd0), .s_axis_tlast(2'd0), .s_axis_tvalid(v), .s_axis_tready(rdy),
  .m_axis_tdata(md), .m_axis_tkeep(mk), .m_axis_tuser(mu), .m_axis_tlast(ml), .m_axis_tvalid(mv),
  .m_axis_tready(1'b1));
initial begin #1 $display("m_axis_tvalid=%b s_axis_tready=%b", mv, rdy); end
endmodule

`resetall
