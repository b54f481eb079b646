// wp_fifo: synchronous first-word-fall-through FIFO (valid/ready on both sides).
// Storage is a plain array (LUT RAM on 7-series); its read goes into a head register, so m_data
// comes from a flip-flop (issue #15: no RAM read in front of the consumer's logic). The head is
// loaded whenever it is empty or being popped and the array holds an entry, so a pop every
// cycle is sustained; an entry can be popped from the second cycle after its push. count is
// every entry held (array and head, up to DEPTH + 1). Push and pop may happen in one cycle.
// (wp_chacha20_fifo is the same in block RAM.)

`resetall
`timescale 1ns / 1ps
`default_nettype none

module wp_fifo #(
    // Width of one entry
    parameter WIDTH = 8,
    // log2 of the depth (entries)
    parameter DEPTH_LOG2 = 4,
    // 1: the producer never offers an entry while the FIFO is full (it counts credits), so a
    // push is s_valid alone (the write enable of every RAM cell is not behind the full flag)
    parameter NO_OVERFLOW = 0,
    // 1: one array entry is kept free (full at DEPTH - 1 entries in the array, DEPTH with the
    // head), so the array is written at the write pointer every cycle, pushed or not: the slot
    // written is never one that holds an entry, and no RAM cell's write enable depends on
    // s_valid or the full flag (only on the write pointer's flip-flops)
    parameter FREE_WRITE = 0,
    // the head register in this many slices, each loaded by a load enable of its own
    // (wp_head_reg's SLICES)
    parameter HEAD_SLICES = 1,
    // copies of m_ready: 1, or HEAD_SLICES (copy k loads head slice k; copy 0 also drives the
    // FIFO's own state). The consumer keeps the copies equal (asserted under FORMAL)
    parameter READY_W = 1
) (
    input  wire             clk,
    input  wire             rst,

    input  wire [WIDTH-1:0] s_data,
    input  wire             s_valid,
    output wire             s_ready,

    output wire [WIDTH-1:0] m_data,
    output wire             m_valid,
    input  wire [READY_W-1:0] m_ready,
    // the head's valid and data in the next cycle, given this cycle's m_ready (for a consumer
    // that decides its next ready a cycle ahead, into flip-flops: wp_pe_out's join)
    output wire             m_next_valid,
    output wire [WIDTH-1:0] m_next_data,

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
    if (READY_W != 1 && READY_W != HEAD_SLICES) begin
        $error("Error: READY_W must be 1 or HEAD_SLICES (instance %m)");
        $finish;
    end
end

reg [WIDTH-1:0] mem[0:DEPTH-1];
reg [DEPTH_LOG2:0] wr_ptr_reg = 0;
reg [DEPTH_LOG2:0] rd_ptr_reg = 0;
wire [WIDTH-1:0] head_data;
reg head_valid_reg = 1'b0;
// The entries in the array as a thermometer (fill_reg[i]: more than i), so "full" (s_ready is
// a flip-flop) and "holds an entry" are flip-flops and each bit's update is a shift by one
// (a subtraction of the pointers and compares had been the slowest path of this FIFO in a
// pipeline at 200 MHz on ECP5). DEPTH flip-flops: fine for the LUT RAM depths this is for.
reg [DEPTH-1:0] fill_reg = 0;

localparam FULL_BIT = FREE_WRITE != 0 ? DEPTH - 2 : DEPTH - 1;
wire full = fill_reg[FULL_BIT];
wire in_mem = fill_reg[0];
wire push = s_valid && (NO_OVERFLOW != 0 || !full);
wire ready = m_ready[0];
wire load = in_mem && (!head_valid_reg || ready);
wire [DEPTH_LOG2:0] used = wr_ptr_reg - rd_ptr_reg;
// one more entry (a push without a load) or one fewer (a load without a push)
wire [DEPTH-1:0] fill_next = push && !load ? {fill_reg[DEPTH-2:0], 1'b1}
                             : load && !push ? {1'b0, fill_reg[DEPTH-1:1]} : fill_reg;

// s_ready from a flip-flop of its own, loaded with !full's next value: the producer's logic
// hangs on it, the push and the fill update on `full`. With one flag for both, yosys shared the
// producer's "valid and ready" LUT with the push, placed it by the producer and routed it back
// (in wp_waypoint: nat's frame FIFO full -> nat_in_reg's valid -> the fill register, 3.35 and
// 2.97 ns nets, the ECP5 path at 784c3fc). Asserted equal to !full under FORMAL.
reg ready_reg = 1'b1;
assign s_ready = ready_reg;
assign m_valid = head_valid_reg;
assign m_data = head_data;
assign count = used + {{DEPTH_LOG2{1'b0}}, head_valid_reg};

always @(posedge clk) begin
    if (push || FREE_WRITE != 0) begin
        mem[wr_ptr_reg[DEPTH_LOG2-1:0]] <= s_data;
    end
    if (push) begin
        wr_ptr_reg <= wr_ptr_reg + 1;
    end
    if (load) begin
        rd_ptr_reg <= rd_ptr_reg + 1;
        head_valid_reg <= 1'b1;
    end else if (ready) begin
        head_valid_reg <= 1'b0;
    end
    fill_reg <= fill_next;
    if (rst) begin
        wr_ptr_reg <= 0;
        rd_ptr_reg <= 0;
        head_valid_reg <= 1'b0;
        fill_reg <= 0;
    end
end

(* keep *)
always @(posedge clk) begin
    ready_reg <= !fill_next[FULL_BIT];
    if (rst) ready_reg <= 1'b1;
end

`ifdef FORMAL
always @(*) assert (ready_reg == !full);
always @(*) assert (m_ready == {READY_W{ready}});
`endif

// the head register (the array read once, combinationally)
wire [WIDTH-1:0] rd_word = mem[rd_ptr_reg[DEPTH_LOG2-1:0]];
wp_head_reg #(.WIDTH(WIDTH), .SLICES(HEAD_SLICES), .READY_W(READY_W)) head_inst (
    .clk(clk), .rst(rst),
    .avail(in_mem), .word(rd_word),
    .valid(head_valid_reg), .ready(m_ready),
    .data(head_data)
);

assign m_next_valid = load || (head_valid_reg && !ready);
assign m_next_data = load ? rd_word : head_data;

`ifdef FORMAL
// m_next_valid / m_next_data are the head's next valid and data (after a cycle out of reset)
reg             f_past_ok = 1'b0;
reg             f_next_valid_q = 1'b0;
reg [WIDTH-1:0] f_next_data_q = 0;
always @(posedge clk) begin
    f_past_ok <= !rst;
    f_next_valid_q <= m_next_valid;
    f_next_data_q <= m_next_data;
end
always @(*) if (f_past_ok && !rst) assert (m_valid == f_next_valid_q && m_data == f_next_data_q);
`endif

endmodule

`resetall
