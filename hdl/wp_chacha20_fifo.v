/*
 * wphw — synchronous first-word-fall-through FIFO (used inside wp_chacha20), in block RAM.
 *
 * The entries are kept in wp_ram_sdp (registered read). OUT_REG = 0: the RAM's output register
 * is the FIFO's head, loaded whenever it is empty or being popped and the RAM holds an entry,
 * so a pop every cycle is sustained; an entry can be popped from the second cycle after its
 * push. OUT_REG = 1: a fabric register after it is the head (m_data and m_valid come from
 * flip-flops, not from the block RAM's slow clock-to-out; one cycle later: from the third
 * cycle after the push), still a pop every cycle. s_ready is "fewer than DEPTH entries in the
 * RAM"; m_valid is "the head holds an entry"; count is every entry held (RAM, its output
 * register and, with OUT_REG, the head: up to DEPTH + 1 + OUT_REG). Push and pop may happen in
 * the same cycle.
 */

`resetall
`timescale 1ns / 1ps
`default_nettype none

module wp_chacha20_fifo #
(
    // Entry width in bits
    parameter WIDTH = 8,
    // Number of entries in the RAM (power of two, at least 2)
    parameter DEPTH = 16,
    // 1: a fabric register after the RAM's output register is the head
    parameter OUT_REG = 0
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
reg                ram_valid_reg = 1'b0;  // the RAM's output register holds an entry

wire [ADDR_WIDTH:0] fill = wr_ptr_reg - rd_ptr_reg;
wire full = fill == DEPTH;
wire in_ram = wr_ptr_reg != rd_ptr_reg;
wire push = s_valid && !full;
wire [WIDTH-1:0] ram_data;
// the RAM's output register is taken (by the head register, or by the consumer)
wire ram_take;
wire load = in_ram && (!ram_valid_reg || ram_take);

assign s_ready = !full;

wp_ram_sdp #(.WIDTH(WIDTH), .ADDR_WIDTH(ADDR_WIDTH)) ram_inst (
    .clk(clk),
    .wr_en(push), .wr_addr(wr_ptr_reg[ADDR_WIDTH-1:0]), .wr_data(s_data),
    .rd_en(load), .rd_addr(rd_ptr_reg[ADDR_WIDTH-1:0]), .rd_data(ram_data)
);

always @(posedge clk) begin
    if (push) wr_ptr_reg <= wr_ptr_reg + 1;
    if (load) begin
        rd_ptr_reg <= rd_ptr_reg + 1;
        ram_valid_reg <= 1'b1;
    end else if (ram_take) begin
        ram_valid_reg <= 1'b0;
    end
    if (rst) begin
        wr_ptr_reg <= 0;
        rd_ptr_reg <= 0;
        ram_valid_reg <= 1'b0;
    end
end

generate
    if (OUT_REG) begin : g_out_reg
        reg [WIDTH-1:0] out_data_reg = 0;
        reg             out_valid_reg = 1'b0;
        assign ram_take = ram_valid_reg && (!out_valid_reg || m_ready);
        assign m_data = out_data_reg;
        assign m_valid = out_valid_reg;
        assign count = {1'b0, fill} + {{(ADDR_WIDTH+1){1'b0}}, ram_valid_reg}
            + {{(ADDR_WIDTH+1){1'b0}}, out_valid_reg};
        always @(posedge clk) begin
            if (ram_take) begin
                out_data_reg <= ram_data;
                out_valid_reg <= 1'b1;
            end else if (m_ready) begin
                out_valid_reg <= 1'b0;
            end
            if (rst) out_valid_reg <= 1'b0;
        end
    end else begin : g_no_out_reg
        assign ram_take = m_ready;
        assign m_data = ram_data;
        assign m_valid = ram_valid_reg;
        assign count = {1'b0, fill} + {{(ADDR_WIDTH+1){1'b0}}, ram_valid_reg};
    end
endgenerate

endmodule

`resetall
