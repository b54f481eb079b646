// wp_reg_rd_or: the last two stages of a grouped register read port — the OR of the groups.
//
// The read ports of wp_fw, wp_nat and wp_waypoint (behind wp_axil_regs with RD_LATENCY 4; wp_fw 5,
// its decode in two stages R0 and R1) end here. Their R1 decodes the address into one-hot selects
// and their R2 registers, per element (rule, mapping, entry), the addressed word of its stride (0
// unless it is addressed), per group of GRP elements the addressed counter, and the fixed word and
// counter (ID, CAPS, global counters): at most one of all of them is non-zero. This module is R3,
// per group the OR of its elements' words and the OR of the groups' counters with the fixed
// counter, and R4, the OR of the groups' words with the fixed word at wp_reg_rd's input registers
// (IN_REG), which picks the counter word and keeps the HI latch. rd_data answers for the address
// of two cycles before.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module wp_reg_rd_or #(
    // Width of the register address (byte address)
    parameter ADDR_WIDTH = 12,
    // Elements (each one word in elem_word)
    parameter COUNT = 16,
    // Elements per group (grp_cnt holds one counter per group)
    parameter GRP = 4
) (
    input  wire                          clk,

    input  wire                          rd_en,
    input  wire [ADDR_WIDTH-1:0]         rd_addr,
    // R2: per element its addressed word, per group its addressed counter (0 where none)
    input  wire [COUNT*32-1:0]           elem_word,
    input  wire [NGRP*64-1:0]            grp_cnt,
    // R2: the addressed fixed word and fixed counter (0 where none)
    input  wire [31:0]                   fix_word,
    input  wire [63:0]                   fix_cnt,
    // R2: the address names a 64-bit register (a group's counter or the fixed counter)
    input  wire                          cnt_sel,
    output wire [31:0]                   rd_data
);

localparam NGRP = (COUNT + GRP - 1) / GRP;

reg [NGRP*32-1:0] r3_word_reg = 0;
reg [31:0]        r3_fix_reg = 0;
reg [63:0]        r3_cnt_reg = 0;
reg               r3_cnt_sel_reg = 1'b0;
reg [31:0]        gword;
reg [63:0]        cnt;
integer           g, e;

// R3: per group the OR of its elements' words; the OR of the groups' counters and the fixed
// counter; the fixed word as it is
always @(posedge clk) begin
    cnt = fix_cnt;
    for (g = 0; g < NGRP; g = g + 1) begin
        gword = 0;
        for (e = g * GRP; e < g * GRP + GRP && e < COUNT; e = e + 1) begin
            gword = gword | elem_word[e*32 +: 32];
        end
        r3_word_reg[g*32 +: 32] <= gword;
        cnt = cnt | grp_cnt[g*64 +: 64];
    end
    r3_fix_reg <= fix_word;
    r3_cnt_reg <= cnt;
    r3_cnt_sel_reg <= cnt_sel;
end

// R4 (wp_reg_rd's input registers): the OR of the groups' words and the fixed word; a function
// behind a continuous assignment (Icarus runs no always @* whose inputs keep their initial
// values)
function [31:0] or_words(input [NGRP*32-1:0] x, input [31:0] fix);
    integer i;
    begin
        or_words = fix;
        for (i = 0; i < NGRP; i = i + 1) or_words = or_words | x[i*32 +: 32];
    end
endfunction

wire [31:0] rd_word = or_words(r3_word_reg, r3_fix_reg);

wp_reg_rd #(.ADDR_WIDTH(ADDR_WIDTH), .IN_REG(1)) reg_rd_inst (
    .clk(clk), .rd_en(rd_en), .rd_addr(rd_addr),
    .word(rd_word), .cnt_sel(r3_cnt_sel_reg), .cnt(r3_cnt_reg),
    .rd_data(rd_data)
);

endmodule

`resetall
