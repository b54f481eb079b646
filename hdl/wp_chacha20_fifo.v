/*
 * wphw — synchronous first-word-fall-through FIFO (used inside wp_chacha20), in block RAM.
 *
 * The entries are kept in wp_ram_sdp (registered read). OUT_REG = 0: the RAM's output register
 * is the FIFO's head, loaded whenever it is empty or being popped and the RAM holds an entry,
 * so a pop every cycle is sustained; an entry can be popped from the second cycle after its
 * push. OUT_REG = 1: the RAM's read register is copied, every cycle, into a second register
 * (Q: wp_ram_sdp's OUT_REG, which vendor flows put in the block RAM's output register, so the
 * RAM array's slow clock-to-out ends in the RAM; yosys leaves it in the fabric and
 * bench/ecp5_outreg.py moves it there for the ECP5 bench. Before Q the read data met the
 * ring's LUT RAM write port: wp_chacha20's ECP5 path at 41ee654, 7.46 ns), Q feeds a ring of four
 * (LUT RAM), and a fabric register after the ring is the head (m_data and m_valid come from
 * flip-flops). The RAM is read (its enable and address) when the entries past it leave room:
 * head + ring + Q + RAM output <= 4, kept as a thermometer in flip-flops (one more on a read,
 * one fewer on a pop), never on this cycle's m_ready: the pop reaches only the head's enable,
 * the ring's read index and the thermometer, not the block RAM's pins (at e368258 and bcf6ce2
 * the consumer's pop -> the RAM's read enable was wp_chacha20's slowest ECP5 path, 82 %
 * routing to the RAM column). Still a pop every cycle (the ring of four covers the two cycles
 * a read takes to reach it); an entry can be popped from the fifth cycle after its push.
 * s_ready is "fewer than DEPTH entries in the RAM"; m_valid is "the head holds an entry"; count
 * is every entry held (RAM, its output register and, with OUT_REG, Q, the ring and the head:
 * up to DEPTH + 1 (+ 4)). Push and pop may happen in the same cycle.
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
    parameter NO_OVERFLOW = 0,
    // OUT_REG: the head register in this many slices, each loaded by an enable of its own
    // (wp_head_reg's SLICES, as wp_fifo's)
    parameter HEAD_SLICES = 1
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

// the RAM holds an entry (= wr_ptr_reg != rd_ptr_reg) in a flip-flop: the pointers' compare
// was in front of the RAM's read enable (4 levels, then a 3.97 ns net to the block RAM
// column: wp_chacha20's ECP5 path at aeaf6e7, seed 1)
reg                in_ram_reg = 1'b0;

wire [ADDR_WIDTH:0] fill = wr_ptr_reg - rd_ptr_reg;
wire full = fill == DEPTH;
wire in_ram = in_ram_reg;
wire push = s_valid && (NO_OVERFLOW != 0 || !full);
wire [WIDTH-1:0] ram_data;
// the RAM's output register is taken (by the head register, or by the consumer)
wire ram_take;
// OUT_REG: the entries past the RAM leave room for one more (from flip-flops only)
wire ram_room;
wire load = in_ram && (!ram_valid_reg || ram_take) && ram_room;
// OUT_REG: the RAM reads whenever it holds an entry (its read enable is the flip-flop
// in_ram_reg, no logic); a word read without a load is never taken (ram_valid_reg marks the
// loads' words). It never reads the address being written: in_ram_reg means 1..DEPTH entries,
// and a push into a full RAM is excluded (NO_OVERFLOW's promise, or !full). Without OUT_REG
// the RAM's output register is the head and must hold: it reads on a load only.
wire rd_en = OUT_REG != 0 ? in_ram_reg : load;

assign s_ready = !full;

wp_ram_sdp #(.WIDTH(WIDTH), .ADDR_WIDTH(ADDR_WIDTH), .NO_RW_CHECK(1), .OUT_REG(OUT_REG)) ram_inst (
    .clk(clk),
    .wr_en(push), .wr_addr(wr_ptr_reg[ADDR_WIDTH-1:0]), .wr_data(s_data),
    .rd_en(rd_en), .rd_addr(rd_ptr_reg[ADDR_WIDTH-1:0]), .rd_data(ram_data)
);

always @(posedge clk) begin
    // one entry or more after this cycle: fill + push - load >= 1
    in_ram_reg <= push || fill >= 2 || (in_ram_reg && !load);
    if (push) wr_ptr_reg <= wr_ptr_reg + 1;
    if (load) begin
        rd_ptr_reg <= rd_ptr_reg + 1;
        ram_valid_reg <= 1'b1;
    end else if (ram_take) begin
        ram_valid_reg <= 1'b0;
    end
    if (rst) begin
        in_ram_reg <= 1'b0;
        wr_ptr_reg <= 0;
        rd_ptr_reg <= 0;
        ram_valid_reg <= 1'b0;
    end
end

`ifdef FORMAL
always @(*) assert (in_ram_reg == (wr_ptr_reg != rd_ptr_reg));
`endif

generate
    if (OUT_REG) begin : g_out_reg
        // Q's data is ram_data (wp_ram_sdp's OUT_REG); this is whether it holds an entry
        reg             q_valid_reg = 1'b0;
        reg [WIDTH-1:0] ring_reg [0:3];
        reg [1:0]       ring_wr_reg = 0;
        reg [1:0]       ring_rd_reg = 0;
        reg [2:0]       ring_cnt_reg = 0;  // 0..4
        wire [WIDTH-1:0] out_data;
        reg             out_valid_reg = 1'b0;
        // entries past the RAM (its output register, Q, the ring, the head) as a thermometer:
        // past_reg[k] = more than k; reads stop at 5
        reg [4:0]       past_reg = 0;
        wire head_load = ring_cnt_reg != 0 && (!out_valid_reg || m_ready);
        wire pop = out_valid_reg && m_ready;
        // the RAM's output register moves into Q in the cycle after the read, always
        assign ram_take = ram_valid_reg;
        // load (above) ANDs in_ram and "not ram_valid or ram_take" = 1
        assign ram_room = !past_reg[4];
        assign m_data = out_data;
        assign m_valid = out_valid_reg;
        // (each term widened to count's ADDR_WIDTH + 2 bits by the assignment's context)
        assign count = {1'b0, fill} + ram_valid_reg + q_valid_reg + ring_cnt_reg + out_valid_reg;
        always @(posedge clk) begin
            // Q loads every cycle (no enable): its 'valid' says whether it holds an entry
            q_valid_reg <= ram_valid_reg;
            if (q_valid_reg) begin
                ring_reg[ring_wr_reg] <= ram_data;
                ring_wr_reg <= ring_wr_reg + 2'd1;
            end
            if (head_load) begin
                ring_rd_reg <= ring_rd_reg + 2'd1;
                out_valid_reg <= 1'b1;
            end else if (m_ready) begin
                out_valid_reg <= 1'b0;
            end
            ring_cnt_reg <= ring_cnt_reg + {2'b00, q_valid_reg} - {2'b00, head_load};
            if (load && !pop) past_reg <= {past_reg[3:0], 1'b1};
            else if (pop && !load) past_reg <= {1'b0, past_reg[4:1]};
            if (rst) begin
                q_valid_reg <= 1'b0;
                ring_wr_reg <= 0;
                ring_rd_reg <= 0;
                ring_cnt_reg <= 0;
                out_valid_reg <= 1'b0;
                past_reg <= 0;
            end
        end
        // the head's data (the ring read once, combinationally)
        wp_head_reg #(.WIDTH(WIDTH), .SLICES(HEAD_SLICES)) head_inst (
            .clk(clk), .rst(rst),
            .avail(ring_cnt_reg != 0), .word(ring_reg[ring_rd_reg]),
            .valid(out_valid_reg), .ready(m_ready),
            .data(out_data)
        );
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
