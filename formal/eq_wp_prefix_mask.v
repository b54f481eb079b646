// Equivalence check of wp_prefix_dec + wp_prefix_mask against the definition of a prefix mask
// (sim/test_formal.py: test_prefix_mask_equiv): yosys `miter -equiv` of eq_ref_wp_prefix_mask
// and eq_wp_prefix_mask, proved with `sat -prove trigger 0` for all 64 lengths.

`resetall
`timescale 1ns / 1ps
`default_nettype none

// the definition: bit i is set when plen >= 32 - i (32 and more: all ones)
module eq_ref_wp_prefix_mask (
    input  wire [5:0]  plen,
    output wire [31:0] mask
);
genvar i;
generate
    for (i = 0; i < 32; i = i + 1) begin : g_bit
        assign mask[i] = plen >= 32 - i;
    end
endgenerate
endmodule

module eq_wp_prefix_mask (
    input  wire [5:0]  plen,
    output wire [31:0] mask
);
wire [14:0] dec;
wp_prefix_dec dec_inst (.plen(plen), .dec(dec));
wp_prefix_mask mask_inst (.dec(dec), .mask(mask));
endmodule

`resetall
