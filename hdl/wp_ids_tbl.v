// wp_ids_tbl: one byte lane's match table of wp_ids (a block RAM: wp_ram_sdp, registered read).
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

wp_ram_sdp #(.WIDTH(WIDTH), .ADDR_WIDTH(ADDR_WIDTH)) ram_inst (
    .clk(clk),
    .wr_en(wr_en), .wr_addr(wr_addr), .wr_data(wr_data),
    .rd_en(rd_en), .rd_addr(rd_addr), .rd_data(rd_data)
);

endmodule

`resetall
