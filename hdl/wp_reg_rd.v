// wp_reg_rd: the last stage of a register block's read port — 64-bit counters and their
// high-word latch (register map convention: a 64-bit register is two words, LO first; reading
// LO latches HI, so LO then HI is one consistent value).
//
// The block presents, for reg_rd_addr, either a 32-bit register value on `word` (0 where there
// is none) or, with cnt_sel, the 64-bit register whose two words contain the address on `cnt`.
// rd_data is what the AXI-Lite slave (wp_axil_regs) returns: word, cnt's LO word, or the HI word
// latched by the last read (rd_en) of a LO word. The write-merge reads of wp_axil_regs (rd_en
// low) leave the latch alone. Combinational from rd_addr / word / cnt to rd_data.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module wp_reg_rd #(
    // Width of the register address (byte address)
    parameter ADDR_WIDTH = 12
) (
    input  wire                  clk,

    input  wire                  rd_en,
    input  wire [ADDR_WIDTH-1:0] rd_addr,
    input  wire [31:0]           word,
    input  wire                  cnt_sel,
    input  wire [63:0]           cnt,
    output wire [31:0]           rd_data
);

// byte-address bit that selects the HI word of a (8-byte aligned) 64-bit register
localparam HI_BIT = 2;

reg [31:0] hi_reg = 32'd0;

assign rd_data = cnt_sel ? (rd_addr[HI_BIT] ? hi_reg : cnt[31:0]) : word;

always @(posedge clk) begin
    if (rd_en && cnt_sel && !rd_addr[HI_BIT]) hi_reg <= cnt[63:32];
end

endmodule

`resetall
