// wp_prefix_dec: the first half of an IPv4 prefix mask (wp_prefix_mask.v): the length decoded
// into 15 bits, for a register before wp_prefix_mask (combinational).

`resetall
`timescale 1ns / 1ps
`default_nettype none

module wp_prefix_dec (
    input  wire [5:0]  plen,
    // {plen[5], hi >= 3, hi >= 2, hi >= 1, hi == 3, hi == 2, hi == 1, hi == 0,
    //  lo >= 7, ..., lo >= 1} with hi = plen[4:3], lo = plen[2:0]
    output wire [14:0] dec
);

wire [1:0] hi = plen[4:3];
wire [2:0] lo = plen[2:0];
genvar g;
generate
    for (g = 1; g < 8; g = g + 1) begin : g_lo
        assign dec[g - 1] = lo >= g;
    end
    for (g = 0; g < 4; g = g + 1) begin : g_hi
        assign dec[7 + g] = hi == g;
    end
    for (g = 1; g < 4; g = g + 1) begin : g_hi_th
        assign dec[10 + g] = hi >= g;
    end
endgenerate
assign dec[14] = plen[5];

endmodule

`resetall
