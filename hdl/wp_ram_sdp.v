// wp_ram_sdp: simple dual-port RAM, one write port and one read port with a registered read.
//
// Written the way synthesis maps to block RAM (7-series RAMB18/RAMB36 in simple dual-port mode,
// ECP5 DP16KD): the read data is the RAM's own output register, loaded when rd_en is high and
// held otherwise. A read of the address written in the same cycle returns the old word.
// ram_style = "block" (yosys and Vivado): without it yosys maps shallow memories (16-64
// words, e.g. wp_chacha20's FIFOs) to LUT RAM, which costs LUTs the waypoint's budget needs.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module wp_ram_sdp #(
    // width of one word
    parameter WIDTH = 8,
    // log2 of the depth (words)
    parameter ADDR_WIDTH = 9
) (
    input  wire                  clk,

    input  wire                  wr_en,
    input  wire [ADDR_WIDTH-1:0] wr_addr,
    input  wire [WIDTH-1:0]      wr_data,

    input  wire                  rd_en,
    input  wire [ADDR_WIDTH-1:0] rd_addr,
    output reg  [WIDTH-1:0]      rd_data
);

initial begin
    if (WIDTH < 1) begin
        $error("Error: WIDTH must be at least 1 (instance %m)");
        $finish;
    end
    if (ADDR_WIDTH < 1 || ADDR_WIDTH > 16) begin
        $error("Error: ADDR_WIDTH must be in 1..16 (instance %m)");
        $finish;
    end
end

(* ram_style = "block" *)
reg [WIDTH-1:0] mem [0:(1 << ADDR_WIDTH)-1];

always @(posedge clk) begin
    if (wr_en) mem[wr_addr] <= wr_data;
    if (rd_en) rd_data <= mem[rd_addr];
end

endmodule

`resetall
