// wp_fifo: synchronous first-word-fall-through FIFO (valid/ready on both sides).
// Storage is a plain array (LUT RAM on 7-series); its read goes into a head register, so m_data
// comes from a flip-flop (issue #15: no RAM read in front of the consumer's logic), in slices
// of at most 64 bits, each with its own load enable from its own flip-flops. The head is
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
    // 1: head slice k (of HEAD_SLICE bits) is loaded with m_ready_copy[k] in place of m_ready:
    // copies of the consumer's ready, each equal to m_ready whenever m_valid is high, kept
    // by the consumer in flip-flops of their own (m_ready still moves the pointers)
    parameter READY_COPIES = 0,
    // copies of m_valid (flip-flops of their own) on m_valid_copy
    parameter VALID_COPIES = 1
) (
    input  wire             clk,
    input  wire             rst,

    input  wire [WIDTH-1:0] s_data,
    input  wire             s_valid,
    output wire             s_ready,

    output wire [WIDTH-1:0] m_data,
    output wire             m_valid,
    input  wire             m_ready,
    input  wire [(WIDTH+63)/64-1:0] m_ready_copy,
    output wire [VALID_COPIES-1:0]  m_valid_copy,

    output wire [DEPTH_LOG2:0] count
);

localparam DEPTH = 1 << DEPTH_LOG2;
// The head register in slices of at most HEAD_SLICE bits, each loaded by its own enable from
// its own copies of head_valid and "holds an entry" (issue #15: one enable for a head of ~400
// bits was a net of ~200 slices, the path on ECP5); m_ready reaches every slice's enable
localparam HEAD_SLICE = 64;      // as in the width of m_ready_copy
localparam HEAD_COPIES = (WIDTH + HEAD_SLICE - 1) / HEAD_SLICE;

initial begin
    if (WIDTH < 1) begin
        $error("Error: WIDTH must be at least 1 (instance %m)");
        $finish;
    end
    if (VALID_COPIES < 1) begin
        $error("Error: VALID_COPIES must be at least 1 (instance %m)");
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
reg head_valid_reg = 1'b0;
// The entries in the array as a thermometer (fill_reg[i]: more than i), so "full" (s_ready is
// a flip-flop) and "holds an entry" are flip-flops and each bit's update is a shift by one
// (a subtraction of the pointers and compares had been the slowest path of this FIFO in a
// pipeline at 200 MHz on ECP5). DEPTH flip-flops: fine for the LUT RAM depths this is for.
reg [DEPTH-1:0] fill_reg = 0;

wire full = fill_reg[FREE_WRITE != 0 ? DEPTH-2 : DEPTH-1];
wire in_mem = fill_reg[0];
wire push = s_valid && (NO_OVERFLOW != 0 || !full);
wire load = in_mem && (!head_valid_reg || m_ready);
wire [DEPTH_LOG2:0] used = wr_ptr_reg - rd_ptr_reg;
wire [WIDTH-1:0] rd_data = mem[rd_ptr_reg[DEPTH_LOG2-1:0]];
// next head_valid and next "holds an entry" (fill_reg[0])
wire head_valid_next = load || (head_valid_reg && !m_ready);
wire in_mem_next = (push && !load) || (load && !push ? fill_reg[1] : in_mem);

assign s_ready = !full;
assign m_valid = head_valid_reg;
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
    end
    head_valid_reg <= head_valid_next;
    // one more entry (a push without a load) or one fewer (a load without a push)
    if (push && !load) fill_reg <= {fill_reg[DEPTH-2:0], 1'b1};
    else if (load && !push) fill_reg <= {1'b0, fill_reg[DEPTH-1:1]};
    if (rst) begin
        wr_ptr_reg <= 0;
        rd_ptr_reg <= 0;
        head_valid_reg <= 1'b0;
        fill_reg <= 0;
    end
end

genvar k;
generate
    for (k = 0; k < HEAD_COPIES; k = k + 1) begin : head_slice
        localparam LO = k * HEAD_SLICE;
        localparam W = WIDTH - LO < HEAD_SLICE ? WIDTH - LO : HEAD_SLICE;
        wire load_k;
        if (HEAD_COPIES == 1) begin : one
            assign load_k = READY_COPIES != 0 ? in_mem && (!head_valid_reg || m_ready_copy[0])
                                              : load;
        end else begin : copy
            reg valid_reg = 1'b0;
            reg in_mem_reg = 1'b0;
            wire ready_k = READY_COPIES != 0 ? m_ready_copy[k] : m_ready;
            assign load_k = in_mem_reg && (!valid_reg || ready_k);
            // keep on the block, not on the regs: yosys merges equal flip-flops otherwise
            (* keep *)
            always @(posedge clk) begin
                valid_reg <= head_valid_next;
                in_mem_reg <= in_mem_next;
                if (rst) begin
                    valid_reg <= 1'b0;
                    in_mem_reg <= 1'b0;
                end
            end
        end
        reg [W-1:0] head_reg = 0;
        assign m_data[LO +: W] = head_reg;
        always @(posedge clk) begin
            if (load_k) head_reg <= rd_data[LO +: W];
        end
    end
    for (k = 0; k < VALID_COPIES; k = k + 1) begin : valid_copy
        if (k == 0) begin : first
            assign m_valid_copy[k] = head_valid_reg;
        end else begin : copy
            reg valid_reg = 1'b0;
            assign m_valid_copy[k] = valid_reg;
            (* keep *)
            always @(posedge clk) begin
                valid_reg <= head_valid_next;
                if (rst) valid_reg <= 1'b0;
            end
        end
    end
endgenerate

endmodule

`resetall
