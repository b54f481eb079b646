// wp_ids_tbl: one byte lane's match table of wp_ids (a block RAM: wp_ram_sdp, registered read).
//
// NO_RW_CHECK: wp_ids writes the tables only during a rebuild, which starts with its pipeline
// empty and holds its input until the last word is written, and reads them only for a valid
// beat (rd_en is the pipeline's advance and the beat's valid flag), so a read never meets a
// write of its address. Without it yosys emulates the old-word read of a collision on ECP5
// with a copy of the write address and data and a mux on every read bit: 32 x (about 16*NUM_SIGS
// LUT4 and 2x as many flip-flops), between each block RAM and the diagonal ANDs. A simulation
// that breaks the promise stops (wp_ram_sdp).
//
// A module of its own so that the formal jobs can put a free-valued table in its place
// (formal/fv_wp_ids_tbl.v: any word on every read, more behaviours than any table contents).

`resetall
`timescale 1ns / 1ps
`default_nettype none

module wp_ids_tbl #(
    // table word width (16 x signatures)
    parameter WIDTH = 16,
    // log2 of the depth: address {not payload, byte}
    parameter ADDR_WIDTH = 9
) (
    input  wire                  clk,

    input  wire                  wr_en,
    input  wire [ADDR_WIDTH-1:0] wr_addr,
    input  wire [WIDTH-1:0]      wr_data,

    input  wire                  rd_en,
    input  wire [ADDR_WIDTH-1:0] rd_addr,
    output wire [WIDTH-1:0]      rd_data
);

wp_ram_sdp #(.WIDTH(WIDTH), .ADDR_WIDTH(ADDR_WIDTH), .NO_RW_CHECK(1)) ram_inst (
    .clk(clk),
    .wr_en(wr_en), .wr_addr(wr_addr), .wr_data(wr_data),
    .rd_en(rd_en), .rd_addr(rd_addr), .rd_data(rd_data)
);

endmodule

`resetall
