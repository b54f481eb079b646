/*
 * wphw — small synchronous first-word-fall-through FIFO (used inside wp_chacha20).
 *
 * s_ready is "not full", m_valid is "not empty"; push and pop may happen in the same cycle.
 * The read port is asynchronous (distributed RAM).
 */

`resetall
`timescale 1ns / 1ps
`default_nettype none

module wp_chacha20_fifo #
(
    // Entry width in bits
    parameter WIDTH = 8,
    // Number of entries (power of two, at least 2)
    parameter DEPTH = 16
)
(
    input  wire             clk,
    input  wire             rst,

    input  wire [WIDTH-1:0] s_data,
    input  wire             s_valid,
    output wire             s_ready,

    output wire [WIDTH-1:0] m_data,
    output wire             m_valid,
    input  wire             m_ready,

    output wire [$clog2(DEPTH):0] count
);

localparam ADDR_WIDTH = $clog2(DEPTH);

initial begin
    if (DEPTH < 2 || (1 << ADDR_WIDTH) != DEPTH) begin
        $error("Error: DEPTH must be a power of two >= 2 (instance %m)");
        $finish;
    end
end

reg [WIDTH-1:0]    mem [0:DEPTH-1];
reg [ADDR_WIDTH:0] wr_ptr_reg = 0;
reg [ADDR_WIDTH:0] rd_ptr_reg = 0;

wire [ADDR_WIDTH:0] fill = wr_ptr_reg - rd_ptr_reg;
wire full = fill == DEPTH;
wire empty = wr_ptr_reg == rd_ptr_reg;

assign s_ready = !full;
assign m_valid = !empty;
assign m_data = mem[rd_ptr_reg[ADDR_WIDTH-1:0]];
assign count = fill;

always @(posedge clk) begin
    if (s_valid && !full) begin
        mem[wr_ptr_reg[ADDR_WIDTH-1:0]] <= s_data;
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
