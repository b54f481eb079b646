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

// the array's span rounded up to a power of two
localparam SPAN_LOG2 = $clog2(COUNT * STRIDE);
localparam EL_W = SPAN_LOG2 - STRIDE_LOG2;  // bits of the element index inside the span

genvar gk;
generate
    if (BASE % (1 << SPAN_LOG2) == 0 && SPAN_LOG2 < ADDR_WIDTH && EL_W > 0) begin : g_aligned
        // BASE aligned to the span (every array of the map): no subtract, no magnitude
        // compare (yosys maps both to carry chains, on the register blocks' merge-read
        // paths); the address's high bits equal to BASE's, its element bits one of
        // 0..COUNT-1 (equalities with constants)
        wire [EL_W-1:0]  el = addr[SPAN_LOG2-1:STRIDE_LOG2];
        wire [COUNT-1:0] el_is;
        for (gk = 0; gk < COUNT; gk = gk + 1) begin : g_el
            assign el_is[gk] = el == gk;
        end
        assign hit = addr[ADDR_WIDTH-1:SPAN_LOG2] == (BASE >> SPAN_LOG2) && |el_is;
        assign idx = {{(ADDR_WIDTH - EL_W){1'b0}}, el};
        assign off = {{(ADDR_WIDTH - STRIDE_LOG2){1'b0}}, addr[STRIDE_LOG2-1:0]};
    end else begin : g_any
        wire [ADDR_WIDTH-1:0] rel = addr - BASE;
        assign hit = addr >= BASE && addr < BASE + COUNT * STRIDE;
        assign idx = rel >> STRIDE_LOG2;
        assign off = rel & (STRIDE - 1);
    end
endgenerate

endmodule

`resetall
