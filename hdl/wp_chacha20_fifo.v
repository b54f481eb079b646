/*
 * wphw — synchronous first-word-fall-through FIFO (used inside wp_chacha20), in block RAM.
 *
 * The entries are kept in wp_ram_sdp (registered read). OUT_REG = 0: the RAM's output register
 * is the FIFO's head, loaded whenever it is empty or being popped and the RAM holds an entry,
 * so a pop every cycle is sustained; an entry can be popped from the second cycle after its
 * push. OUT_REG = 1: the RAM's output register feeds a ring of three fabric registers, and a
 * fabric register after the ring is the head (m_data and m_valid come from flip-flops, not from
 * the block RAM's slow clock-to-out). The RAM is read (its enable and address) when the
 * entries past it, counted in flip-flops, leave room (head + ring + RAM output <= 3), never on
 * this cycle's m_ready: the pop reaches only the head's enable and the ring's read index, not
 * the block RAM's pins (at e368258 and bcf6ce2 the consumer's pop -> the RAM's read enable was
 * wp_chacha20's slowest ECP5 path, 82 % routing to the RAM column). Still a pop every cycle
 * (the ring of three covers the cycle the room is seen late); an entry can be popped from the
 * fourth cycle after its push. s_ready is "fewer than DEPTH entries in the RAM"; m_valid is
 * "the head holds an entry"; count is every entry held (RAM, its output register and, with
 * OUT_REG, the ring and the head: up to DEPTH + 1 (+ 4)). Push and pop may happen in the same
 * cycle.
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
    parameter OUT_REG = 0,
    // 1: the producer never offers an entry while the RAM is full (wp_chacha20's ingress keeps
    // a margin), so a push is s_valid alone: the RAM's write enable is not behind the pointers'
    // subtract and compare (at 056d427 that was wp_chacha20's ECP5 path, 8 levels into the
    // descriptor FIFO's block RAM)
    parameter NO_OVERFLOW = 0
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
wire push = s_valid && (NO_OVERFLOW != 0 || !full);
wire [WIDTH-1:0] ram_data;
// the RAM's output register is taken (by the head register, or by the consumer)
wire ram_take;
// OUT_REG: the entries past the RAM leave room for one more (from flip-flops only)
wire ram_room;
wire load = in_ram && (!ram_valid_reg || ram_take) && ram_room;

assign s_ready = !full;

wp_ram_sdp #(.WIDTH(WIDTH), .ADDR_WIDTH(ADDR_WIDTH), .NO_RW_CHECK(1)) ram_inst (
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

// room[{h, v, c}] = h + v + c <= 3 (head valid, RAM output valid, ring count 0..3)
function [15:0] room_table(input integer unused);
    integer i;
    begin
        for (i = 0; i < 16; i = i + 1) room_table[i] = i[3] + i[2] + i[1:0] <= 3;
    end
endfunction

generate
    if (OUT_REG) begin : g_out_reg
        reg [WIDTH-1:0] ring_reg [0:2];
        reg [1:0]       ring_wr_reg = 0;   // 0..2
        reg [1:0]       ring_rd_reg = 0;   // 0..2
        reg [1:0]       ring_cnt_reg = 0;  // 0..3
        reg [WIDTH-1:0] out_data_reg = 0;
        reg             out_valid_reg = 1'b0;
        wire head_load = ring_cnt_reg != 0 && (!out_valid_reg || m_ready);
        // the RAM's output register moves into the ring in the cycle after the read, always
        assign ram_take = ram_valid_reg;
        // the RAM is read when head + ring + RAM output <= 3 (flip-flops only; load, below,
        // ANDs in_ram and "not ram_valid or ram_take" = 1)
        // as a 16-entry table of {head, RAM output, ring count}: one LUT4 (a `<=` on their sum
        // would be an adder and a carry chain)
        localparam [15:0] ROOM = room_table(0);
        assign ram_room = ROOM[{out_valid_reg, ram_valid_reg, ring_cnt_reg}];
        assign m_data = out_data_reg;
        assign m_valid = out_valid_reg;
        assign count = {1'b0, fill} + {{(ADDR_WIDTH+1){1'b0}}, ram_valid_reg}
            + {{ADDR_WIDTH{1'b0}}, ring_cnt_reg} + {{(ADDR_WIDTH+1){1'b0}}, out_valid_reg};
        always @(posedge clk) begin
            if (ram_valid_reg) begin
                ring_reg[ring_wr_reg] <= ram_data;
                ring_wr_reg <= ring_wr_reg == 2'd2 ? 2'd0 : ring_wr_reg + 2'd1;
            end
            if (head_load) begin
                out_data_reg <= ring_reg[ring_rd_reg];
                ring_rd_reg <= ring_rd_reg == 2'd2 ? 2'd0 : ring_rd_reg + 2'd1;
                out_valid_reg <= 1'b1;
            end else if (m_ready) begin
                out_valid_reg <= 1'b0;
            end
            ring_cnt_reg <= ring_cnt_reg + {1'b0, ram_valid_reg} - {1'b0, head_load};
            if (rst) begin
                ring_wr_reg <= 0;
                ring_rd_reg <= 0;
                ring_cnt_reg <= 0;
                out_valid_reg <= 1'b0;
            end
        end
    end else begin : g_no_out_reg
        assign ram_room = 1'b1;
        assign ram_take = m_ready;
        assign m_data = ram_data;
        assign m_valid = ram_valid_reg;
        assign count = {1'b0, fill} + {{(ADDR_WIDTH+1){1'b0}}, ram_valid_reg};
    end
endgenerate

endmodule

`resetall
