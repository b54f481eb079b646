// wp_ram_sdp: simple dual-port RAM, one write port and one read port with a registered read.
//
// Written the way synthesis maps to block RAM (7-series RAMB18/RAMB36 in simple dual-port mode,
// ECP5 DP16KD): the read data is the RAM's own output register, loaded when rd_en is high and
// held otherwise. A read of the address written in the same cycle returns the old word.
// ram_style = "block" (yosys and Vivado): without it yosys maps shallow memories (16-64
// words, e.g. wp_chacha20's FIFOs) to LUT RAM, which costs LUTs the waypoint's budget needs.
//
// NO_RW_CHECK = 1: the user never reads the address written in the same cycle (a FIFO that
// reads only entries it holds and writes only when not full; a delay ring whose read trails
// its write). The memory then carries no_rw_check (yosys) and rw_addr_collision = "no"
// (Vivado): without them yosys keeps the old-word rule of a collision with a copy of the
// write address and data in flip-flops, a compare and a mux on every read bit (ECP5, a
// 300-bit RAM: 305 LUT4 and 606 FF beside its 9 DP16KD; with them none). A collision with
// NO_RW_CHECK = 1 reads an undefined word on hardware; the simulation model still returns the
// old one.
//
// OUT_REG = 1: a second register after the read (read latency 2): rd_data is the first
// register's word one cycle later, copied every cycle (no enable, no reset). Vivado moves it
// into the RAMB's DOB_REG and Lattice's flow into the DP16KD's output register (REGMODE
// "OUTREG"), so the slow clock-to-out of the RAM array ends in the RAM, not in the fabric;
// yosys's ECP5 mapping leaves it in the fabric, and bench/ecp5_outreg.py moves it for the
// place-and-route bench.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module wp_ram_sdp #(
    // width of one word
    parameter WIDTH = 8,
    // log2 of the depth (words)
    parameter ADDR_WIDTH = 9,
    // 1: the address written is never read in the same cycle (see above)
    parameter NO_RW_CHECK = 0,
    // 1: a second register after the read, for the RAM's output register (see above)
    parameter OUT_REG = 0
) (
    input  wire                  clk,

    input  wire                  wr_en,
    input  wire [ADDR_WIDTH-1:0] wr_addr,
    input  wire [WIDTH-1:0]      wr_data,

    input  wire                  rd_en,
    input  wire [ADDR_WIDTH-1:0] rd_addr,
    output wire [WIDTH-1:0]      rd_data
);

initial begin
    if (WIDTH < 1) begin
        $error("Error: WIDTH must be at least 1 (instance %m)");
        $finish;
    end
    if (ADDR_WIDTH < 1 || ADDR_WIDTH > 16) begin
        $error("Error: ADDR_WIDTH must be in 1..16 (instance %m)");
        $finish;
    end
end

// the RAM's read register
reg [WIDTH-1:0] rd_reg;

generate
    if (NO_RW_CHECK) begin : g_no_rw_check
        (* ram_style = "block", no_rw_check, rw_addr_collision = "no" *)
        reg [WIDTH-1:0] mem [0:(1 << ADDR_WIDTH)-1];
        always @(posedge clk) begin
            if (wr_en) mem[wr_addr] <= wr_data;
            if (rd_en) rd_reg <= mem[rd_addr];
        end
    end else begin : g_rw_check
        (* ram_style = "block" *)
        reg [WIDTH-1:0] mem [0:(1 << ADDR_WIDTH)-1];
        always @(posedge clk) begin
            if (wr_en) mem[wr_addr] <= wr_data;
            if (rd_en) rd_reg <= mem[rd_addr];
        end
    end
    if (OUT_REG) begin : g_out_reg
        reg [WIDTH-1:0] out_reg = 0;
        always @(posedge clk) out_reg <= rd_reg;
        assign rd_data = out_reg;
    end else begin : g_no_out_reg
        assign rd_data = rd_reg;
    end
endgenerate

// NO_RW_CHECK is a promise of the user: a formal job (read -formal) asserts it, and a
// simulation that breaks it stops
`ifdef FORMAL
always @(*) begin
    if (NO_RW_CHECK != 0) assert (!(wr_en && rd_en && wr_addr == rd_addr));
end
`elsif SYNTHESIS
`else
always @(posedge clk) begin
    if (NO_RW_CHECK != 0 && wr_en && rd_en && wr_addr == rd_addr) begin
        $error("Error: read of the address written in the same cycle, NO_RW_CHECK (instance %m)");
        $finish;
    end
end
`endif

endmodule

`resetall
