// wp_prefix_mask (with wp_prefix_dec.v): the 32-bit mask of an IPv4 prefix length in two
// halves, for a register between them (combinational each).
//
// The mask of a length plen (0..63; 32 and more: all ones) has bit i set when plen >= 32 - i.
// As one function of the 6 bits of plen it is 3-4 LUT4 levels on ECP5 (wp_fw's path at
// 3220689 and, as 64-entry constant tables, at fdebca9: 195.7 MHz). Split: wp_prefix_dec turns
// plen into 15 bits (plen[5]; plen[4:3] as a thermometer and one-hot; plen[2:0] as a
// thermometer), one small function each; wp_prefix_mask makes each mask bit from at most four
// of them (one LUT4):
//     v = 32 - i (1..32), vh = v / 8, vl = v % 8
//     plen >= v  <=>  plen[5] | plen[4:3] > vh | (plen[4:3] == vh & plen[2:0] >= vl)
// (v = 32: plen[5] alone). Equal to plen >= 32 - i for all 64 lengths:
// sim/test_formal.py::test_prefix_mask_equiv (formal/eq_wp_prefix_mask.v).

`resetall
`timescale 1ns / 1ps
`default_nettype none

module wp_prefix_mask (
    input  wire [14:0] dec,
    output wire [31:0] mask
);

wire       p5 = dec[14];
wire [3:0] hi_th = {dec[13:11], 1'b1};  // hi >= 0..3
wire [3:0] hi_oh = dec[10:7];
wire [7:0] lo_th = {dec[6:0], 1'b1};    // lo >= 0..7
genvar i;
generate
    for (i = 0; i < 32; i = i + 1) begin : g_bit
        localparam integer V = 32 - i;
        localparam integer VH = V / 8;
        localparam integer VL = V % 8;
        if (V == 32) begin : g_all
            assign mask[i] = p5;
        end else if (VH == 3) begin : g_top
            assign mask[i] = p5 | (hi_oh[3] & lo_th[VL]);
        end else begin : g_mid
            assign mask[i] = p5 | hi_th[VH + 1] | (hi_oh[VH] & lo_th[VL]);
        end
    end
endgenerate

endmodule

`resetall
