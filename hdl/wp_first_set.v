// wp_first_set: priority encoder, the lowest set bit of v (combinational).
//
// hit = v != 0; idx = index of the lowest set bit (0 when none). The "lowest index wins" rule of
// the waypoint's dispatch table, the firewall's rules and the NAT's mappings.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module wp_first_set #(
    // Number of inputs (>= 1)
    parameter WIDTH = 16
) (
    input  wire [WIDTH-1:0]                               v,
    output wire                                           hit,
    output wire [(WIDTH > 1 ? $clog2(WIDTH) : 1)-1:0]     idx
);

localparam IDX_W = WIDTH > 1 ? $clog2(WIDTH) : 1;

initial begin
    if (WIDTH < 1) begin
        $error("Error: WIDTH must be >= 1 (instance %m)");
        $finish;
    end
end

// a function behind a continuous assignment (not always @*), so the encoder is defined from
// time 0 in every simulator (Icarus -g2012 never runs an always @* block whose inputs keep
// their initial values). Result: {hit, idx}.
function [IDX_W:0] first(input [WIDTH-1:0] x);
    integer i;
    begin
        first = 0;
        for (i = WIDTH - 1; i >= 0; i = i - 1) begin
            if (x[i]) begin
                first[IDX_W-1:0] = i;
                first[IDX_W] = 1'b1;
            end
        end
    end
endfunction

wire [IDX_W:0] result = first(v);
assign hit = result[IDX_W];
assign idx = result[IDX_W-1:0];

endmodule

`resetall
