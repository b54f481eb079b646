// Formal stand-in for wp_ids_tbl (wp_ids' per-lane match table, 512 x 16*NUM_SIGS bits): a
// free value on every read. Mapping the 32 real tables to registers would give the model
// hundreds of thousands of state bits; a free table has every behaviour of any real contents
// (more, not fewer), so what is proven with it holds for the block RAM version.

`default_nettype none

module wp_ids_tbl #(
    parameter WIDTH = 16,
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

(* anyseq *) wire [WIDTH-1:0] any_data;
assign rd_data = any_data;

endmodule
