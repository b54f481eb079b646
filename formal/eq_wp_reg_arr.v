// Equivalence check of wp_reg_arr against its arithmetic definition (sim/test_formal.py:
// test_reg_arr_equiv): yosys `miter -equiv` of eq_ref_wp_reg_arr and eq_wp_reg_arr, proved
// with `sat -prove trigger 0` for every address. idx and off are compared where hit is 1 (the
// only place a register block uses them).

`resetall
`timescale 1ns / 1ps
`default_nettype none

// the definition: element = (addr - BASE) / STRIDE, hit when it is one of 0..COUNT-1
module eq_ref_wp_reg_arr #(
    parameter ADDR_WIDTH = 12,
    parameter BASE = 0,
    parameter STRIDE = 16,
    parameter COUNT = 1
) (
    input  wire [ADDR_WIDTH-1:0] addr,
    output wire                  hit,
    output wire [ADDR_WIDTH-1:0] idx,
    output wire [ADDR_WIDTH-1:0] off
);
wire [ADDR_WIDTH-1:0] rel = addr - BASE;
assign hit = addr >= BASE && addr < BASE + COUNT * STRIDE;
assign idx = hit ? rel / STRIDE : 0;
assign off = hit ? rel % STRIDE : 0;
endmodule

module eq_wp_reg_arr #(
    parameter ADDR_WIDTH = 12,
    parameter BASE = 0,
    parameter STRIDE = 16,
    parameter COUNT = 1
) (
    input  wire [ADDR_WIDTH-1:0] addr,
    output wire                  hit,
    output wire [ADDR_WIDTH-1:0] idx,
    output wire [ADDR_WIDTH-1:0] off
);
wire [ADDR_WIDTH-1:0] i, o;
wp_reg_arr #(.ADDR_WIDTH(ADDR_WIDTH), .BASE(BASE), .STRIDE(STRIDE), .COUNT(COUNT)) dut (
    .addr(addr), .hit(hit), .idx(i), .off(o)
);
assign idx = hit ? i : 0;
assign off = hit ? o : 0;
endmodule

`resetall
