// wp_head_reg: the head register of a first-word-fall-through FIFO (the entry its consumer
// sees), shared by wp_fifo and wp_chacha20_fifo. It loads `word` whenever the storage behind
// it offers an entry (`avail`) and the head is empty or being taken: load = avail && (!valid
// || ready), `valid` being the caller's head-valid flag, whose next state the caller keeps as
// load ? 1 : ready ? 0 : valid.
//
// SLICES > 1: the register in that many slices, each loaded by a load enable of its own, built
// from a copy of the head's valid flag kept in a flip-flop of its own (the same next state as
// the caller's): the consumer's ready then reaches WIDTH / SLICES flip-flop enables per net,
// not WIDTH (wp_nat's action FIFO, 124 bits: its head load was wp_nat's ECP5 path at c0ebbe1,
// one 3.14 ns net; wp_chacha20's descriptor FIFO's, 3.27 ns, at aeaf6e7). Equal to one register
// on every output: sim/test_formal.py test_fifo_head_slices_equiv (through wp_fifo).
//
// READY_W = SLICES: `ready` is one copy per slice (slice k loads by ready[k]), each from a
// flip-flop of the consumer's that it keeps equal to the others (wp_pe_out's join: the take, a
// flip-flop per slice, reaches a slice's enable through one LUT, not through a net to every
// slice first). The caller asserts the copies equal (wp_fifo, under FORMAL).

`resetall
`timescale 1ns / 1ps
`default_nettype none

module wp_head_reg #(
    // Width of one entry
    parameter WIDTH = 8,
    // the register in this many slices (1: one register, loaded by the caller's flag)
    parameter SLICES = 1,
    // copies of the consumer's ready: 1, or SLICES (one per slice)
    parameter READY_W = 1
) (
    input  wire             clk,
    input  wire             rst,

    // the storage behind the head offers an entry (word)
    input  wire             avail,
    input  wire [WIDTH-1:0] word,
    // the caller's head-valid flag and the consumer's ready
    input  wire             valid,
    input  wire [READY_W-1:0] ready,

    output reg  [WIDTH-1:0] data = 0
);

initial begin
    if (SLICES < 1 || SLICES > WIDTH) begin
        $error("Error: SLICES must be in 1..WIDTH (instance %m)");
        $finish;
    end
    if (READY_W != 1 && READY_W != SLICES) begin
        $error("Error: READY_W must be 1 or SLICES (instance %m)");
        $finish;
    end
end

localparam SLICE_W = (WIDTH + SLICES - 1) / SLICES;
genvar gs;
generate
    if (SLICES == 1) begin : g_one
        always @(posedge clk) begin
            if (avail && (!valid || ready[0])) data <= word;
        end
    end else begin : g_slices
        for (gs = 0; gs < SLICES; gs = gs + 1) begin : g_slice
            localparam LO = gs * SLICE_W;
            localparam W = WIDTH - LO < SLICE_W ? WIDTH - LO : SLICE_W;
            // this slice's copy of the caller's valid flag (same next state); keep on the
            // always block keeps yosys from merging the identical copies
            reg valid_copy_reg = 1'b0;
            wire ready_slice = ready[READY_W == 1 ? 0 : gs];
            wire load_slice = avail && (!valid_copy_reg || ready_slice);
            (* keep *)
            always @(posedge clk) begin
                if (load_slice) valid_copy_reg <= 1'b1;
                else if (ready_slice) valid_copy_reg <= 1'b0;
                if (rst) valid_copy_reg <= 1'b0;
            end
            always @(posedge clk) begin
                if (load_slice) data[LO +: W] <= word[LO +: W];
            end
`ifdef FORMAL
            always @(*) assert (valid_copy_reg == valid);
`endif
        end
    end
endgenerate

endmodule

`resetall
