// wp_reg_rd: the last stage of a register block's read port — 64-bit counters and their
// high-word latch (register map convention: a 64-bit register is two words, LO first; reading
// LO latches HI, so LO then HI is one consistent value).
//
// The block presents, for reg_rd_addr, either a 32-bit register value on `word` (0 where there
// is none) or, with cnt_sel, the 64-bit register whose two words contain the address on `cnt`.
// rd_data is what the AXI-Lite slave (wp_axil_regs) returns: word, cnt's LO word, or the HI word
// latched by the last read (rd_en) of a LO word. The write-merge reads of wp_axil_regs (rd_en
// low) leave the latch alone. Combinational from rd_addr / word / cnt to rd_data; with IN_REG 1,
// word, cnt_sel and cnt are registered first (rd_data answers for the rd_addr of the cycle
// before: the block sits behind wp_axil_regs with RD_LATENCY one more than without it).

`resetall
`timescale 1ns / 1ps
`default_nettype none

module wp_reg_rd #(
    // Width of the register address (byte address)
    parameter ADDR_WIDTH = 12,
    // Register word / cnt_sel / cnt before the select (0 or 1)
    parameter IN_REG = 0
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
reg [31:0] word_reg = 32'd0;
reg        cnt_sel_reg = 1'b0;
reg [63:0] cnt_reg = 64'd0;

wire [31:0] w = IN_REG != 0 ? word_reg : word;
wire        s = IN_REG != 0 ? cnt_sel_reg : cnt_sel;
wire [63:0] c = IN_REG != 0 ? cnt_reg : cnt;

assign rd_data = s ? (rd_addr[HI_BIT] ? hi_reg : c[31:0]) : w;

always @(posedge clk) begin
    word_reg <= word;
    cnt_sel_reg <= cnt_sel;
    cnt_reg <= cnt;
    if (rd_en && s && !rd_addr[HI_BIT]) hi_reg <= c[63:32];
end

endmodule

`resetall
