// wp_reg_copies: COPIES registers that always hold the same value (d, loaded while en), kept
// apart by synthesis. A value that many LUTs across the chip read (a parsed field every
// rule's compare reads, a select driving hundreds of muxes) is read from one copy per group
// of readers, so no single flip-flop drives a net to all of them: each copy can be placed
// beside its group. `keep` on each copy's always block keeps yosys from merging the identical
// registers (on the reg it does not). Used by wp_hdr_parse (its q, q0 and IHL copies), wp_fw
// and wp_nat (their E0 key copies) and wp_pe_out (its take copies, the one user of rst: a
// reset on the flip-flops' own reset input, not in the logic in front of them).

`resetall
`timescale 1ns / 1ps
`default_nettype none

module wp_reg_copies #(
    // Width of the value
    parameter WIDTH = 1,
    // Number of copies
    parameter COPIES = 2
) (
    input  wire                      clk,
    // clear every copy (synchronous, before en; tie it low for none)
    input  wire                      rst,

    // load d into every copy while en (tie it high for a plain register)
    input  wire                      en,
    input  wire [WIDTH-1:0]          d,

    // copy c at c*WIDTH
    output wire [COPIES*WIDTH-1:0]   q
);

initial begin
    if (WIDTH < 1 || COPIES < 1) begin
        $error("Error: WIDTH and COPIES must be at least 1 (instance %m)");
        $finish;
    end
end

genvar gc;
generate
    for (gc = 0; gc < COPIES; gc = gc + 1) begin : g_copy
        reg [WIDTH-1:0] copy_reg = 0;
        (* keep *)
        always @(posedge clk) begin
            if (en) copy_reg <= d;
            if (rst) copy_reg <= 0;
        end
        assign q[gc*WIDTH +: WIDTH] = copy_reg;
    end
endgenerate

endmodule

`resetall
