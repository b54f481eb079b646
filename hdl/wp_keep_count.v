// wp_keep_count: the number of bytes in a beat, from a tkeep that is contiguous from byte 0
// (combinational).
//
// Every wphw stream carries packed frames: tkeep all ones on a frame's beats but the last,
// and on the last a run of ones from byte 0 (the formal jobs assume it on every input). For
// such a "thermometer" tkeep the count is found without an adder tree: bit b of the count is set
// when the run ends inside the upper half of a 2^(b+1)-byte block, i.e. when
// keep[m*2^(b+1) + 2^b - 1] is set and keep[(m+1)*2^(b+1) - 1] is not, for some m; the top bit
// is keep[KEEP_WIDTH-1] (a full beat). Two LUT levels for 32 bytes, where a popcount is an
// adder tree with carry chains (issue #15). A tkeep with holes gives a wrong count.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module wp_keep_count #(
    // tkeep width (a power of two, >= 2)
    parameter KEEP_WIDTH = 32
) (
    input  wire [KEEP_WIDTH-1:0]         keep,
    output wire [$clog2(KEEP_WIDTH):0]   count
);

localparam CW = $clog2(KEEP_WIDTH);

initial begin
    if (KEEP_WIDTH < 2 || (1 << CW) != KEEP_WIDTH) begin
        $error("Error: KEEP_WIDTH must be a power of two >= 2 (instance %m)");
        $finish;
    end
end

genvar b, m;
generate
    for (b = 0; b < CW; b = b + 1) begin : g_bit
        localparam BLOCKS = KEEP_WIDTH >> (b + 1);
        wire [BLOCKS-1:0] ends_high;
        for (m = 0; m < BLOCKS; m = m + 1) begin : g_block
            assign ends_high[m] = keep[m * (2 << b) + (1 << b) - 1]
                                  && !keep[(m + 1) * (2 << b) - 1];
        end
        assign count[b] = |ends_high;
    end
endgenerate

assign count[CW] = keep[KEEP_WIDTH-1];

endmodule

`resetall
