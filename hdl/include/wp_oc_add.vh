// wp_oc_add.vh: 16-bit ones' complement addition (end-around carry), included inside a module
// body (wp_nat; wp_chacha20's checksum fold): oc_add in one cycle, oc_part then oc_fin in two.
// Both proved equal to the fold of the exact sum (s = x + y, then s[15:0] + s[16], RFC 1071)
// for all 2^32 inputs: sim/test_formal.py test_oc_add_equiv (formal/eq_wp_oc_add.v).
// A chain of these gives the same bits as RFC 1624's fold of the whole sum.
//
// In two steps, so a register can sit between them and no carry chain is longer than 9 bits
// (the 16-bit chains, x + y and x + y + 1 side by side, were wp_nat's ECP5 path at e3ae9ea: 19
// cells, 4.97 ns). oc_part: each byte half's sum and sum + 1 (9 bits each, carry out on top).
// oc_fin: the result x + y + C, C the full sum's carry out (the high half's sum picked by the
// low half's carry), each half picked from its two sums by the carry into it (the low half's:
// C; the high half's: the low half's carry out of the sum picked).
localparam OC_W = 4 * 9;
function [OC_W-1:0] oc_part(input [15:0] x, input [15:0] y);
    reg [9:0] lo_t, hi_t;
    begin
        lo_t = {1'b0, x[7:0], 1'b1} + {1'b0, y[7:0], 1'b1};  // x + y + 1, shifted up one bit
        hi_t = {1'b0, x[15:8], 1'b1} + {1'b0, y[15:8], 1'b1};
        oc_part = {hi_t[9:1], {1'b0, x[15:8]} + {1'b0, y[15:8]}, lo_t[9:1],
                   {1'b0, x[7:0]} + {1'b0, y[7:0]}};
    end
endfunction
function [15:0] oc_fin(input [OC_W-1:0] p);
    reg [8:0] lo_s, lo_t, hi_s, hi_t;
    reg c, cl;
    begin
        {hi_t, hi_s, lo_t, lo_s} = p;
        c = lo_s[8] ? hi_t[8] : hi_s[8];
        cl = c ? lo_t[8] : lo_s[8];
        oc_fin = {cl ? hi_t[7:0] : hi_s[7:0], c ? lo_t[7:0] : lo_s[7:0]};
    end
endfunction
// In one cycle: x + y, or x + y + 1 when x + y carries out, both from one 16-bit adder each, in
// parallel (the two steps above in one cycle map deeper: 9-bit chains and three levels of picks
// were wp_nat's ECP5 path at 86437ef, E4 -> E5, 9 levels)
function [15:0] oc_add(input [15:0] x, input [15:0] y);
    reg [16:0] s;
    reg [17:0] t;
    begin
        s = {1'b0, x} + {1'b0, y};
        t = {1'b0, x, 1'b1} + {1'b0, y, 1'b1};  // x + y + 1, shifted up one bit
        oc_add = s[16] ? t[16:1] : s[15:0];
    end
endfunction
