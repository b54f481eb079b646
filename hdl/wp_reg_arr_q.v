// wp_reg_arr_q: wp_reg_arr with registered outputs (hit, idx, off a cycle after addr).
//
// The read-port decode of the register blocks behind wp_axil_regs with RD_LATENCY 2 (wp_ids;
// wp_fw, wp_nat and wp_waypoint decode into one-hot selects instead): the slave holds the register address for the decode and the mux cycles
// before it takes the read data, so the block's read mux can start at these registers instead
// of at the address arithmetic and element compares.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module wp_reg_arr_q #(
    // Width of the register address (byte address)
    parameter ADDR_WIDTH = 12,
    // Offset of element 0 (the first register of the array)
    parameter BASE = 0,
    // Bytes from one element to the next (a power of two)
    parameter STRIDE = 16,
    // Elements implemented
    parameter COUNT = 1
) (
    input  wire                  clk,
    input  wire [ADDR_WIDTH-1:0] addr,
    output reg                   hit = 1'b0,
    output reg  [ADDR_WIDTH-1:0] idx = 0,
    output reg  [ADDR_WIDTH-1:0] off = 0
);

wire                  hit_d;
wire [ADDR_WIDTH-1:0] idx_d, off_d;

wp_reg_arr #(.ADDR_WIDTH(ADDR_WIDTH), .BASE(BASE), .STRIDE(STRIDE), .COUNT(COUNT)) arr_inst (
    .addr(addr), .hit(hit_d), .idx(idx_d), .off(off_d)
);

always @(posedge clk) begin
    hit <= hit_d;
    idx <= idx_d;
    off <= off_d;
end

endmodule

`resetall
