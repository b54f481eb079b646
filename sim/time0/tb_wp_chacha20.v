// Time-0 check for wp_chacha20: every input is a constant, so no input ever changes. Icarus
// (-g2012) never runs an always @* block whose inputs keep their initial values; the RTL must
// still drive defined outputs from time 0 (sim/test_time0.py looks for x / z in the output).
`resetall
`timescale 1ns / 1ps
`default_nettype none

module tb_wp_chacha20;
reg clk = 0;
always #2.5 clk = ~clk;
wire [255:0] md; wire [31:0] mk; wire mv, ml, sr; wire [127:0] mu;
wire awr, wr, bv, arr, rv; wire [1:0] br, rr; wire [31:0] rd;
wp_chacha20 dut(.clk(clk), .rst(1'b0),
  .s_axis_tdata(256'd0), .s_axis_tkeep(32'd0), .s_axis_tvalid(1'b0), .s_axis_tready(sr),
  .s_axis_tlast(1'b0), .s_axis_tuser(128'd0),
  .m_axis_tdata(md), .m_axis_tkeep(mk), .m_axis_tvalid(mv), .m_axis_tready(1'b1),
  .m_axis_tlast(ml), .m_axis_tuser(mu),
  .s_axil_awaddr(12'd0), .s_axil_awprot(3'd0), .s_axil_awvalid(1'b0), .s_axil_awready(awr),
  .s_axil_wdata(32'd0), .s_axil_wstrb(4'd0), .s_axil_wvalid(1'b0), .s_axil_wready(wr),
  .s_axil_bresp(br), .s_axil_bvalid(bv), .s_axil_bready(1'b1), .s_axil_araddr(12'd0),
  .s_axil_arprot(3'd0), .s_axil_arvalid(1'b0), .s_axil_arready(arr), .s_axil_rdata(rd),
  .s_axil_rresp(rr), .s_axil_rvalid(rv), .s_axil_rready(1'b1));
initial begin #1 $display("t=1 m_axis_tvalid=%b s_axis_tready=%b", mv, sr);
  #20 $display("t=21 m_axis_tvalid=%b s_axis_tready=%b", mv, sr); $finish; end
endmodule

`resetall
