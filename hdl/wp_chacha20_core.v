/*
 * wphw — ChaCha20 block function (RFC 8439 §2.3), fully unrolled and pipelined.
 *
 * Half a round per pipeline stage (40 stages: two serial 32-bit adds each, for 200 MHz on a
 * 7-series part) plus an input and an output register: a new block can enter every cycle and
 * comes out LATENCY (42) cycles later. The pipeline never stalls
 * (the user keeps at most as many blocks in flight as it has room for at the output).
 * Blocks are little-endian byte vectors: keystream byte n is out_block[8*n +: 8], so
 * state word w is out_block[32*w +: 32] (and likewise for key and nonce).
 */

`resetall
`timescale 1ns / 1ps
`default_nettype none

module wp_chacha20_core #
(
    // Width of the tag that travels with each block (user data, e.g. "last block of packet")
    parameter TAG_WIDTH = 1
)
(
    input  wire                 clk,
    input  wire                 rst,

    input  wire                 in_valid,
    input  wire [255:0]         in_key,      // state words 4..11
    input  wire [31:0]          in_counter,  // state word 12
    input  wire [95:0]          in_nonce,    // state words 13..15
    input  wire [TAG_WIDTH-1:0] in_tag,

    output wire                 out_valid,
    output wire [511:0]         out_block,
    output wire [TAG_WIDTH-1:0] out_tag
);

localparam ROUNDS = 20;
// two pipeline stages per round (half a quarter round each: two serial 32-bit adds)
localparam STAGES = 2 * ROUNDS;
// cycles from in_valid to out_valid
localparam LATENCY = STAGES + 2;

initial begin
    if (TAG_WIDTH < 1) begin
        $error("Error: TAG_WIDTH must be at least 1 (instance %m)");
        $finish;
    end
end

localparam [127:0] SIGMA = {32'h6b206574, 32'h79622d32, 32'h3320646e, 32'h61707865};

function [31:0] rotl(input [31:0] x, input integer n);
    rotl = (x << n) | (x >> (32 - n));
endfunction

// the c word of the quarter round that updates b word bw (4..7), column or diagonal round
function integer c_of(input integer bw, input diag);
    c_of = diag ? 8 + ((bw + 1) % 4) : bw + 4;
endfunction

// Half a round: in each quarter round {a, b, c, d} either (first half)
//   a += b; d = rotl(d ^ a, 16); c += d; b = rotl(b ^ c, 12)
// or (second half) the same with rotations 8 and 7. The last step (b ^= c, rotate) is left to
// the next stage, merged into its first adder's input LUTs: the stage state keeps b "raw", and
// the true b is rotl(b_raw ^ c_p, p_rot) with c_p the c word of b's quarter round in the stage
// that left it (p_diag: that stage's round was diagonal). p_rot 0: no step pending (stage 1).
function [511:0] half_round(input [511:0] s, input diag, input second, input p_diag,
    input [4:0] p_rot);
    reg [31:0] w [0:15];
    reg [31:0] b_true [4:7];
    integer i, ia, ib, ic, id;
    begin
        for (i = 0; i < 16; i = i + 1) w[i] = s[32*i +: 32];
        // every true b from the input words (before this stage's c updates)
        for (i = 4; i < 8; i = i + 1) begin
            b_true[i] = p_rot == 0 ? w[i] : rotl(w[i] ^ w[c_of(i, p_diag)], p_rot);
        end
        for (i = 0; i < 4; i = i + 1) begin
            ia = i;
            ib = diag ? 4 + ((i + 1) % 4) : 4 + i;
            ic = c_of(ib, diag);
            id = diag ? 12 + ((i + 3) % 4) : 12 + i;
            w[ia] = w[ia] + b_true[ib];
            w[id] = rotl(w[id] ^ w[ia], second ? 8 : 16);
            w[ic] = w[ic] + w[id];
            w[ib] = b_true[ib];
        end
        for (i = 0; i < 16; i = i + 1) half_round[32*i +: 32] = w[i];
    end
endfunction

// the final state with the last pending step (b = rotl(b ^ c, 7), diagonal round) done
function [511:0] settle(input [511:0] s);
    integer i;
    begin
        settle = s;
        for (i = 4; i < 8; i = i + 1) begin
            settle[32*i +: 32] = rotl(s[32*i +: 32] ^ s[32*c_of(i, 1'b1) +: 32], 7);
        end
    end
endfunction

reg [383:0]         init_reg  [0:STAGES];  // key, counter, nonce carried for the final add
reg [STAGES:0]      valid_reg = 0;
reg [TAG_WIDTH-1:0] tag_reg   [0:STAGES];

reg [511:0]         out_block_reg = 0;
reg                 out_valid_reg = 1'b0;
reg [TAG_WIDTH-1:0] out_tag_reg = 0;

assign out_valid = out_valid_reg;
assign out_block = out_block_reg;
assign out_tag = out_tag_reg;

// the state after each stage (one register per generate block: yosys synthesised the PE in
// 225 s instead of 1194 s with an array of 41 states assigned in one loop)
wire [511:0] st [0:STAGES];

reg [511:0] state0_reg = 0;
assign st[0] = state0_reg;

genvar gk;
generate
    for (gk = 1; gk <= STAGES; gk = gk + 1) begin : g_stage
        // stage gk: round (gk-1)/2 (odd rounds diagonal), half (gk-1)%2
        wire [511:0] next = half_round(st[gk-1], ((gk - 1) / 2) % 2 == 1,
            (gk % 2) == 0, ((gk - 2) / 2) % 2 == 1,
            gk == 1 ? 5'd0 : (gk % 2) == 0 ? 5'd12 : 5'd7);
        reg [511:0] state_reg = 0;
        always @(posedge clk) state_reg <= next;
        assign st[gk] = state_reg;
    end
endgenerate

wire [511:0] final_state = settle(st[STAGES]);

integer k, j;

always @(posedge clk) begin
    state0_reg <= {in_nonce, in_counter, in_key, SIGMA};
    init_reg[0] <= {in_nonce, in_counter, in_key};
    tag_reg[0] <= in_tag;
    valid_reg[0] <= in_valid;
    for (k = 1; k <= STAGES; k = k + 1) begin
        init_reg[k] <= init_reg[k-1];
        tag_reg[k] <= tag_reg[k-1];
        valid_reg[k] <= valid_reg[k-1];
    end
    for (j = 0; j < 16; j = j + 1) begin
        out_block_reg[32*j +: 32] <= final_state[32*j +: 32]
            + ({init_reg[STAGES], SIGMA} >> (32*j));
    end
    out_tag_reg <= tag_reg[STAGES];
    out_valid_reg <= valid_reg[STAGES];

    if (rst) begin
        valid_reg <= 0;
        out_valid_reg <= 1'b0;
    end
end

endmodule

`resetall
