// wp_reg_arr: address decode of a register array (combinational).
//
// A register array of the map (wphw/netfpga/regmap.py) repeats every STRIDE bytes from BASE;
// an instance implements COUNT elements. For a register address: hit = the address falls in
// one of them, idx = the element, off = the byte offset inside the element (compare it with
// `<REG> - BASE` of the generated header). Used by the register blocks of wp_waypoint, wp_fw
// and wp_nat for their write ports and whether a read names a counter array, and through
// wp_reg_arr_q (registered) for wp_ids' read port.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module wp_reg_arr #(
    // Width of the register address (byte address)
    parameter ADDR_WIDTH = 12,
    // Offset of element 0 (the first register of the array)
    parameter BASE = 0,
    // Bytes from one element to the next (a power of two)
    parameter STRIDE = 16,
    // Elements implemented
    parameter COUNT = 1
) (
    input  wire [ADDR_WIDTH-1:0] addr,
    output wire                  hit,
    output wire [ADDR_WIDTH-1:0] idx,
    output wire [ADDR_WIDTH-1:0] off
);

localparam STRIDE_LOG2 = $clog2(STRIDE);

initial begin
    if (STRIDE < 4 || (1 << STRIDE_LOG2) != STRIDE) begin
        $error("Error: STRIDE must be a power of two >= 4 (instance %m)");
        $finish;
    end
    if (COUNT < 1 || BASE + COUNT * STRIDE > (1 << ADDR_WIDTH)) begin
        $error("Error: COUNT elements must fit the address space (instance %m)");
        $finish;
    end
end

wire [ADDR_WIDTH-1:0] rel = addr - BASE;

assign hit = addr >= BASE && addr < BASE + COUNT * STRIDE;
assign idx = rel >> STRIDE_LOG2;
assign off = rel & (STRIDE - 1);

endmodule

`resetall
