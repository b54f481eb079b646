/*
 * wphw — synchronous first-word-fall-through FIFO (used inside wp_chacha20), in block RAM.
 *
 * The entries are kept in wp_ram_sdp (registered read): the RAM's output register is the
 * FIFO's head, loaded whenever it is empty or being popped and the RAM holds an entry, so a
 * pop every cycle is sustained. An entry can be popped from the second cycle after its push
 * (one cycle later than an asynchronous-read FIFO). s_ready is "fewer than DEPTH entries in
 * the RAM"; m_valid is "the head holds an entry"; count is every entry held (RAM and head,
 * up to DEPTH + 1). Push and pop may happen in the same cycle.
 */

`resetall
`timescale 1ns / 1ps
`default_nettype none

module wp_chacha20_fifo #
(
    // Entry width in bits
    parameter WIDTH = 8,
    // Number of entries in the RAM (power of two, at least 2)
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

    output wire [$clog2(DEPTH)+1:0] count
);

localparam ADDR_WIDTH = $clog2(DEPTH);

initial begin
    if (DEPTH < 2 || (1 << ADDR_WIDTH) != DEPTH) begin
        $error("Error: DEPTH must be a power of two >= 2 (instance %m)");
        $finish;
    end
end

reg [ADDR_WIDTH:0] wr_ptr_reg = 0;
reg [ADDR_WIDTH:0] rd_ptr_reg = 0;
reg                head_valid_reg = 1'b0;

wire [ADDR_WIDTH:0] fill = wr_ptr_reg - rd_ptr_reg;
wire full = fill == DEPTH;
wire in_ram = wr_ptr_reg != rd_ptr_reg;
wire push = s_valid && !full;
wire load = in_ram && (!head_valid_reg || m_ready);

assign s_ready = !full;
assign m_valid = head_valid_reg;
assign count = {1'b0, fill} + {{(ADDR_WIDTH+1){1'b0}}, head_valid_reg};

wp_ram_sdp #(.WIDTH(WIDTH), .ADDR_WIDTH(ADDR_WIDTH)) ram_inst (
    .clk(clk),
    .wr_en(push), .wr_addr(wr_ptr_reg[ADDR_WIDTH-1:0]), .wr_data(s_data),
    .rd_en(load), .rd_addr(rd_ptr_reg[ADDR_WIDTH-1:0]), .rd_data(m_data)
);

always @(posedge clk) begin
    if (push) wr_ptr_reg <= wr_ptr_reg + 1;
    if (load) begin
        rd_ptr_reg <= rd_ptr_reg + 1;
        head_valid_reg <= 1'b1;
    end else if (m_ready) begin
        head_valid_reg <= 1'b0;
    end
    if (rst) begin
        wr_ptr_reg <= 0;
        rd_ptr_reg <= 0;
        head_valid_reg <= 1'b0;
    end
end

endmodule

`resetall
