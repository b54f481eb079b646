// Equivalence check of wp_oc_add.vh (oc_add; oc_part then oc_fin) against the definition of 16-bit
// ones' complement addition (sim/test_formal.py: test_oc_add_equiv): yosys `miter -equiv` of
// eq_ref_wp_oc_add and eq_wp_oc_add, proved with `sat -prove trigger 0` for all 2^32 inputs.

`resetall
`timescale 1ns / 1ps
`default_nettype none

// the definition (RFC 1071): the exact sum, its carry added back in
module eq_ref_wp_oc_add (
    input  wire [15:0] x,
    input  wire [15:0] y,
    output wire [15:0] r,
    output wire [15:0] r2
);
wire [16:0] s = {1'b0, x} + {1'b0, y};
assign r = s[15:0] + {15'd0, s[16]};
assign r2 = r;
endmodule

module eq_wp_oc_add (
    input  wire [15:0] x,
    input  wire [15:0] y,
    output wire [15:0] r,
    output wire [15:0] r2
);
`include "wp_oc_add.vh"
assign r = oc_add(x, y);
assign r2 = oc_fin(oc_part(x, y));
endmodule

`resetall
