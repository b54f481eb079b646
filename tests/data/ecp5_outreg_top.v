// Design under test of tests/test_ecp5_outreg.py: four 512 x 36 block RAMs (wp_ram_sdp), each
// followed by a register of a different kind. bench/ecp5_outreg.py must move the first two
// into the RAM's output register and leave the last two in the fabric.
//   q1: wp_ram_sdp's own OUT_REG register (loaded every cycle)     -> absorbed
//   q2: a register with a clock enable (ce)                         -> absorbed, OCE = ce
//   q3: a register with a synchronous reset (rst)                   -> kept (a reset)
//   q4: a register whose input also feeds logic (p4 = rd4 ^ q4)     -> kept (fan-out)
`default_nettype none

module ecp5_outreg_top (
    input  wire        clk,
    input  wire        rst,
    input  wire        ce,
    input  wire        wr_en,
    input  wire [8:0]  wr_addr,
    input  wire [35:0] wr_data,
    input  wire        rd_en,
    input  wire [8:0]  rd_addr,
    output wire [35:0] q1,
    output reg  [35:0] q2 = 0,
    output reg  [35:0] q3 = 0,
    output reg  [35:0] q4 = 0,
    output wire [35:0] p4
);

wire [35:0] rd2, rd3, rd4;

// different write data per RAM: identical RAMs could be merged
wp_ram_sdp #(.WIDTH(36), .ADDR_WIDTH(9), .NO_RW_CHECK(1), .OUT_REG(1)) ram1_inst (
    .clk(clk), .wr_en(wr_en), .wr_addr(wr_addr), .wr_data(wr_data),
    .rd_en(rd_en), .rd_addr(rd_addr), .rd_data(q1)
);
wp_ram_sdp #(.WIDTH(36), .ADDR_WIDTH(9), .NO_RW_CHECK(1)) ram2_inst (
    .clk(clk), .wr_en(wr_en), .wr_addr(wr_addr), .wr_data(~wr_data),
    .rd_en(rd_en), .rd_addr(rd_addr), .rd_data(rd2)
);
wp_ram_sdp #(.WIDTH(36), .ADDR_WIDTH(9), .NO_RW_CHECK(1)) ram3_inst (
    .clk(clk), .wr_en(wr_en), .wr_addr(wr_addr), .wr_data({wr_data[17:0], wr_data[35:18]}),
    .rd_en(rd_en), .rd_addr(rd_addr), .rd_data(rd3)
);
wp_ram_sdp #(.WIDTH(36), .ADDR_WIDTH(9), .NO_RW_CHECK(1)) ram4_inst (
    .clk(clk), .wr_en(wr_en), .wr_addr(wr_addr), .wr_data(wr_data ^ 36'h5a5a5a5a5),
    .rd_en(rd_en), .rd_addr(rd_addr), .rd_data(rd4)
);

always @(posedge clk) begin
    if (ce) q2 <= rd2;
    q3 <= rst ? 36'd0 : rd3;
    q4 <= rd4;
end

assign p4 = rd4 ^ q4;

endmodule
