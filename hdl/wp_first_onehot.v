// wp_first_onehot: the lowest set bit of v as a one-hot vector (combinational).
//
// onehot[i] = v[i] and no lower bit of v is set (a reduction OR of the bits below it per output
// bit, no encoder); 0 when v is 0. The "lowest index wins" rule of the firewall's rules, the
// NAT's mappings and the waypoint's dispatch entries: the winner selects by AND-OR, not by index.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module wp_first_onehot #(
    // Number of inputs (>= 1)
    parameter WIDTH = 16
) (
    input  wire [WIDTH-1:0] v,
    output wire [WIDTH-1:0] onehot
);

initial begin
    if (WIDTH < 1) begin
        $error("Error: WIDTH must be >= 1 (instance %m)");
        $finish;
    end
end

// a function behind a continuous assignment (not always @*), so the result is defined from time
// 0 in every simulator (Icarus -g2012 never runs an always @* block whose inputs keep their
// initial values)
function [WIDTH-1:0] first(input [WIDTH-1:0] x);
    integer i;
    reg [WIDTH-1:0] below;
    begin
        for (i = 0; i < WIDTH; i = i + 1) begin
            below = ~({WIDTH{1'b1}} << i);
            first[i] = x[i] && (x & below) == 0;
        end
    end
endfunction

assign onehot = first(v);

endmodule

`resetall
