/*
 * wphw — ChaCha20 block function (RFC 8439 §2.3), pipelined, each block passing twice through
 * ten rounds of stages.
 *
 * Half a round per pipeline stage (two serial 32-bit adds each, for 200 MHz on a 7-series
 * part): 20 stages hold rounds 1..10, and a block goes through them twice (rounds 11..20 are
 * the same column / diagonal sequence with the same rotations). An entry register in front of
 * stage 1 takes either a new block or a block coming back from stage 20 after its first pass;
 * the loop (entry register + 20 stages) is 21 cycles long. A new block is taken when no block
 * comes back (in_ready), so the core gives one 64-byte block per two cycles: 32 bytes per
 * cycle, the keystream a 256-bit data path consumes at one beat per cycle (a frame never needs
 * more blocks than half its beats: ceil((len - 34) / 64) <= ceil(len / 32) / 2). Half the
 * stages of an unrolled 20-round pipeline, so about half the LUTs.
 * A block comes out LATENCY (43) cycles after it was taken. The pipeline never stalls (the
 * user keeps at most as many blocks in flight as it has room for at the output).
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

    input  wire                 in_valid,   // taken only with in_ready
    output wire                 in_ready,   // no block comes back into the entry register
    input  wire [255:0]         in_key,      // state words 4..11
    input  wire [31:0]          in_counter,  // state word 12
    input  wire [95:0]          in_nonce,    // state words 13..15
    input  wire [TAG_WIDTH-1:0] in_tag,

    output wire                 out_valid,
    output wire [511:0]         out_block,
    output wire [TAG_WIDTH-1:0] out_tag
);

// ten rounds of stages, passed twice; two pipeline stages per round (half a quarter round
// each: two serial 32-bit adds)
localparam LOOP_ROUNDS = 10;
localparam STAGES = 2 * LOOP_ROUNDS;
// cycles from in_valid (with in_ready) to out_valid: the entry register and the stages twice,
// and the output register
localparam LATENCY = 2 * (STAGES + 1) + 1;

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

// the a word of the quarter round that updates d word dw (12..15), column or diagonal round
function integer a_of(input integer dw, input diag);
    a_of = diag ? (dw - 12 + 1) % 4 : dw - 12;
endfunction

// Half a round: in each quarter round {a, b, c, d} either (first half)
//   a += b; d = rotl(d ^ a, 16); c += d; b = rotl(b ^ c, 12)
// or (second half) the same with rotations 8 and 7. The two XOR steps are left to the next
// stage, so that every XOR a stage keeps in its registers is taken from register outputs (in
// parallel with the adders) and the path through a stage is an adder's input LUT, its carry
// chain, the second adder's input LUT and its chain:
// - b = rotl(b ^ c, n): the stage state keeps b "raw", and the true b is rotl(b_raw ^ c_p,
//   p_rot) with c_p the c word of b's quarter round in the stage that left it (p_diag: that
//   stage's round was diagonal; p_rot 0: no step pending, stage 1). The first adder's input
//   LUTs take b_raw and c_p; the true b kept for the next stage is formed from a copy of the c
//   words (cdup: a second register, so that yosys' LUT mapping cannot make the adder read the
//   kept XOR, a LUT level in front of the carry chain);
// - d = rotl(d ^ a, r): the stage keeps d "raw" too, the true d being rotl(d_raw ^ a_p,
//   p_drot) with a_p the a word of d's quarter round in the stage that left it; this stage's
//   second adder (c += rotl(d_true ^ a, r)) takes d_true (from registers) and the first
//   adder's sum in its input LUTs, and keeps d_true (its own step pending).
function [511:0] half_round(input [511:0] s, input [127:0] cdup, input diag, input second,
    input p_diag, input [4:0] p_rot, input [4:0] p_drot);
    reg [31:0] w [0:15];
    reg [31:0] b_add [4:7];
    reg [31:0] b_keep [4:7];
    reg [31:0] d_true [12:15];
    reg [31:0] dn;
    integer i, ia, ib, ic, id;
    begin
        for (i = 0; i < 16; i = i + 1) w[i] = s[32*i +: 32];
        // every true b and d from the input words (before this stage's updates)
        for (i = 4; i < 8; i = i + 1) begin
            b_add[i] = p_rot == 0 ? w[i] : rotl(w[i] ^ w[c_of(i, p_diag)], p_rot);
            b_keep[i] = p_rot == 0 ? w[i]
                : rotl(w[i] ^ cdup[32*(c_of(i, p_diag) - 8) +: 32], p_rot);
        end
        for (i = 12; i < 16; i = i + 1) begin
            d_true[i] = p_drot == 0 ? w[i] : rotl(w[i] ^ w[a_of(i, p_diag)], p_drot);
        end
        for (i = 0; i < 4; i = i + 1) begin
            ia = i;
            ib = diag ? 4 + ((i + 1) % 4) : 4 + i;
            ic = c_of(ib, diag);
            id = diag ? 12 + ((i + 3) % 4) : 12 + i;
            w[ia] = w[ia] + b_add[ib];
            dn = rotl(d_true[id] ^ w[ia], second ? 8 : 16);
            w[ic] = w[ic] + dn;
            w[ib] = b_keep[ib];
            w[id] = d_true[id];
        end
        for (i = 0; i < 16; i = i + 1) half_round[32*i +: 32] = w[i];
    end
endfunction

// the final state with the last pending steps (b = rotl(b ^ c, 7), d = rotl(d ^ a, 8),
// diagonal round) done
function [511:0] settle(input [511:0] s);
    integer i;
    begin
        settle = s;
        for (i = 4; i < 8; i = i + 1) begin
            settle[32*i +: 32] = rotl(s[32*i +: 32] ^ s[32*c_of(i, 1'b1) +: 32], 7);
        end
        for (i = 12; i < 16; i = i + 1) begin
            settle[32*i +: 32] = rotl(s[32*i +: 32] ^ s[32*a_of(i, 1'b1) +: 32], 8);
        end
    end
endfunction

// key, counter, nonce and tag, carried for the final add (a fixed delay: shift registers)
localparam INIT_DELAY = LATENCY - 1;
reg [383:0]         init_reg  [0:INIT_DELAY-1];
reg [TAG_WIDTH-1:0] tag_reg   [0:INIT_DELAY-1];

reg [511:0]         out_block_reg = 0;
reg                 out_valid_reg = 1'b0;
reg [TAG_WIDTH-1:0] out_tag_reg = 0;

assign out_valid = out_valid_reg;
assign out_block = out_block_reg;
assign out_tag = out_tag_reg;

// the state after each stage (one register per generate block: yosys synthesised the PE in
// 225 s instead of 1194 s with an array of states assigned in one loop), and with it a block
// (valid) and its pass (0: rounds 1..10, 1: rounds 11..20)
wire [511:0] st    [0:STAGES];
wire         st_v  [0:STAGES];
wire         st_p  [0:STAGES];

reg [511:0] state0_reg = 0;
reg         v0_reg = 1'b0;
reg         p0_reg = 1'b0;
assign st[0] = state0_reg;
assign st_v[0] = v0_reg;
assign st_p[0] = p0_reg;

// the c words of each stage's state again (cdup, see half_round); all ones at time 0, so
// yosys does not merge them with the state's c words
wire [127:0] st_c [0:STAGES];
assign st_c[0] = state0_reg[383:256];

genvar gk;
generate
    for (gk = 1; gk <= STAGES; gk = gk + 1) begin : g_stage
        // stage gk: round (gk-1)/2 (odd rounds diagonal), half (gk-1)%2; pending from stage
        // gk-1: b rotated by 12 (it was a first half) or 7, d by 16 or 8
        wire [511:0] next = half_round(st[gk-1], st_c[gk-1], ((gk - 1) / 2) % 2 == 1,
            (gk % 2) == 0, ((gk - 2) / 2) % 2 == 1,
            gk == 1 ? 5'd0 : (gk % 2) == 0 ? 5'd12 : 5'd7,
            gk == 1 ? 5'd0 : (gk % 2) == 0 ? 5'd16 : 5'd8);
        reg [511:0] state_reg = 0;
        reg [127:0] cdup_reg = {128{1'b1}};
        reg         v_reg = 1'b0;
        reg         p_reg = 1'b0;
        always @(posedge clk) begin
            state_reg <= next;
            cdup_reg <= next[383:256];
            v_reg <= st_v[gk-1];
            p_reg <= st_p[gk-1];
            if (rst) v_reg <= 1'b0;
        end
        assign st[gk] = state_reg;
        assign st_c[gk] = cdup_reg;
        assign st_v[gk] = v_reg;
        assign st_p[gk] = p_reg;
    end
endgenerate

// the state after stage 20 with its pending step done: after the first pass the entry
// register's next value, after the second the final state
wire [511:0] settled = settle(st[STAGES]);
// a block after its first pass comes back into the entry register
wire back = st_v[STAGES] && !st_p[STAGES];

assign in_ready = !back;

integer k, j;

always @(posedge clk) begin
    state0_reg <= back ? settled : {in_nonce, in_counter, in_key, SIGMA};
    v0_reg <= back || in_valid;
    p0_reg <= back;
    init_reg[0] <= {in_nonce, in_counter, in_key};
    tag_reg[0] <= in_tag;
    for (k = 1; k < INIT_DELAY; k = k + 1) begin
        init_reg[k] <= init_reg[k-1];
        tag_reg[k] <= tag_reg[k-1];
    end
    for (j = 0; j < 16; j = j + 1) begin
        out_block_reg[32*j +: 32] <= settled[32*j +: 32]
            + ({init_reg[INIT_DELAY-1], SIGMA} >> (32*j));
    end
    out_tag_reg <= tag_reg[INIT_DELAY-1];
    out_valid_reg <= st_v[STAGES] && st_p[STAGES];

    if (rst) begin
        v0_reg <= 1'b0;
        out_valid_reg <= 1'b0;
    end
end

endmodule

`resetall
