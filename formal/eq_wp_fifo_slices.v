// Bounded equivalence of wp_fifo's head in slices (HEAD_SLICES > 1) with the one-register head
// (sim/test_formal.py: test_fifo_head_slices_equiv): yosys `miter -equiv` of the two, every
// input free every cycle, `sat -seq` from the initial state for as many cycles as it takes to
// fill the FIFO and drain it again.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module eq_ref_wp_fifo #(
    parameter WIDTH = 4,
    parameter DEPTH_LOG2 = 2,
    parameter NO_OVERFLOW = 0,
    parameter FREE_WRITE = 0,
    parameter HEAD_SLICES = 2
) (
    input  wire             clk,
    input  wire             rst,
    input  wire [WIDTH-1:0] s_data,
    input  wire             s_valid,
    output wire             s_ready,
    output wire [WIDTH-1:0] m_data,
    output wire             m_valid,
    input  wire             m_ready,
    output wire [DEPTH_LOG2:0] count
);
wp_fifo #(.WIDTH(WIDTH), .DEPTH_LOG2(DEPTH_LOG2), .NO_OVERFLOW(NO_OVERFLOW),
    .FREE_WRITE(FREE_WRITE), .HEAD_SLICES(1)) fifo_inst (
    .clk(clk), .rst(rst), .s_data(s_data), .s_valid(s_valid), .s_ready(s_ready),
    .m_data(m_data), .m_valid(m_valid), .m_ready(m_ready), .count(count)
);
endmodule

module eq_wp_fifo #(
    parameter WIDTH = 4,
    parameter DEPTH_LOG2 = 2,
    parameter NO_OVERFLOW = 0,
    parameter FREE_WRITE = 0,
    parameter HEAD_SLICES = 2
) (
    input  wire             clk,
    input  wire             rst,
    input  wire [WIDTH-1:0] s_data,
    input  wire             s_valid,
    output wire             s_ready,
    output wire [WIDTH-1:0] m_data,
    output wire             m_valid,
    input  wire             m_ready,
    output wire [DEPTH_LOG2:0] count
);
wp_fifo #(.WIDTH(WIDTH), .DEPTH_LOG2(DEPTH_LOG2), .NO_OVERFLOW(NO_OVERFLOW),
    .FREE_WRITE(FREE_WRITE), .HEAD_SLICES(HEAD_SLICES)) fifo_inst (
    .clk(clk), .rst(rst), .s_data(s_data), .s_valid(s_valid), .s_ready(s_ready),
    .m_data(m_data), .m_valid(m_valid), .m_ready(m_ready), .count(count)
);
endmodule

`resetall
