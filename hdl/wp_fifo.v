// wp_fifo: synchronous first-word-fall-through FIFO (valid/ready on both sides).
// Storage is a plain array read combinationally (LUT RAM on 7-series).

`resetall
`timescale 1ns / 1ps
`default_nettype none

module wp_fifo #(
    // Width of one entry
    parameter WIDTH = 8,
    // log2 of the depth (entries)
    parameter DEPTH_LOG2 = 4
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

localparam DEPTH = 1 << DEPTH_LOG2;

initial begin
    if (WIDTH < 1) begin
        $error("Error: WIDTH must be at least 1 (instance %m)");
        $finish;
    end
    if (DEPTH_LOG2 < 1 || DEPTH_LOG2 > 12) begin
        $error("Error: DEPTH_LOG2 must be in 1..12 (instance %m)");
        $finish;
    end
end

reg [WIDTH-1:0] mem[0:DEPTH-1];
reg [DEPTH_LOG2:0] wr_ptr_reg = 0;
reg [DEPTH_LOG2:0] rd_ptr_reg = 0;

wire [DEPTH_LOG2:0] used = wr_ptr_reg - rd_ptr_reg;
wire full = used[DEPTH_LOG2];
wire empty = wr_ptr_reg == rd_ptr_reg;

assign s_ready = !full;
assign m_valid = !empty;
assign m_data = mem[rd_ptr_reg[DEPTH_LOG2-1:0]];
assign count = used;

always @(posedge clk) begin
    if (s_valid && !full) begin
        mem[wr_ptr_reg[DEPTH_LOG2-1:0]] <= s_data;
        wr_ptr_reg <= wr_ptr_reg + 1;
    end
    if (m_ready && !empty) begin
        rd_ptr_reg <= rd_ptr_reg + 1;
    end
    if (rst) begin
        wr_ptr_reg <= 0;
        rd_ptr_reg <= 0;
    end
end

endmodule

`resetall
