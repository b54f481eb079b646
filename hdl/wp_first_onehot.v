// wp_first_onehot: the lowest set bit of v as a one-hot vector (combinational), over all of v or
// within each group of GROUP bits.
//
// onehot[i] = v[i] and no lower bit of v in its group is set (a reduction OR of the bits below
// it per output bit, no encoder); 0 for a group with no bit set; any[g]: group g has a bit set.
// The "lowest index wins" rule of the firewall's rules, the NAT's mappings and the waypoint's
// dispatch entries: the winner selects by AND-OR, not by index. wp_fw and wp_nat take it in two
// steps, per group of four (GROUP = 4), then "no lower group has a match" on the registered
// `any` (over 16 in one cycle it was their ECP5 path: 3 to 4 levels, each bit fanned out to
// every higher one).

`resetall
`timescale 1ns / 1ps
`default_nettype none

module wp_first_onehot #(
    // Number of inputs (>= 1)
    parameter WIDTH = 16,
    // Bits per group (>= 1; WIDTH or more: one group). The last group may be shorter.
    parameter GROUP = WIDTH
) (
    input  wire [WIDTH-1:0]                     v,
    output wire [WIDTH-1:0]                     onehot,
    output wire [(WIDTH + GROUP - 1)/GROUP-1:0] any
);

localparam NGROUP = (WIDTH + GROUP - 1) / GROUP;

initial begin
    if (WIDTH < 1 || GROUP < 1) begin
        $error("Error: WIDTH and GROUP must be >= 1 (instance %m)");
        $finish;
    end
end

// functions behind continuous assignments (not always @*), so the results are defined from
// time 0 in every simulator (Icarus -g2012 never runs an always @* block whose inputs keep
// their initial values)
function [WIDTH-1:0] first(input [WIDTH-1:0] x);
    integer i, j;
    reg below;
    begin
        for (i = 0; i < WIDTH; i = i + 1) begin
            below = 1'b0;
            for (j = (i / GROUP) * GROUP; j < i; j = j + 1) below = below || x[j];
            first[i] = x[i] && !below;
        end
    end
endfunction

function [NGROUP-1:0] group_any(input [WIDTH-1:0] x);
    integer i;
    begin
        group_any = 0;
        for (i = 0; i < WIDTH; i = i + 1) group_any[i / GROUP] = group_any[i / GROUP] || x[i];
    end
endfunction

assign onehot = first(v);
assign any = group_any(v);

endmodule

`resetall
