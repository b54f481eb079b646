/*
 * wphw — ChaCha20 block function (RFC 8439 §2.3), pipelined, each block passing twice through
 * ten rounds of stages.
 *
 * One 32-bit add per pipeline stage (for 200 MHz on a 7-series part, issue #15): a round is
 * four stages, the four steps of its quarter rounds (a += b, c += d, a += b, c += d, each with
 * the XOR / rotate before it), so 40 stages hold rounds 1..10, and a block goes through them
 * twice (rounds 11..20 are the same column / diagonal sequence with the same rotations). An
 * entry register in front of stage 1 takes either a new block or a block coming back from
 * stage 40 after its first pass; the loop (entry register + 40 stages) is 41 cycles long. A
 * new block is taken when no block comes back (in_ready), so the core gives one 64-byte block
 * per two cycles: 32 bytes per cycle, the keystream a 256-bit data path consumes at one beat
 * per cycle (a frame never needs more blocks than half its beats: ceil((len - 34) / 64) <=
 * ceil(len / 32) / 2). Half the stages of an unrolled 20-round pipeline, so about half the
 * LUTs.
 * A block comes out LATENCY (83) cycles after it was taken. The pipeline never stalls (the
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

// ten rounds of stages, passed twice; four pipeline stages per round (one step of each
// quarter round: one 32-bit add)
localparam LOOP_ROUNDS = 10;
localparam STAGES = 4 * LOOP_ROUNDS;
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

// The quarter round {a, b, c, d}
//   a += b; d = rotl(d ^ a, 16); c += d; b = rotl(b ^ c, 12);
//   a += b; d = rotl(d ^ a, 8);  c += d; b = rotl(b ^ c, 7)
// is four stages, an "a" stage (a += b) and a "c" stage (c += d) twice. Each XOR / rotate is
// left to the stage after the add it follows, so that the path through a stage is one adder:
// its input LUTs (the add's propagate, from register outputs only) and its carry chain.
// - "a" stage: b is kept "raw", the true b being rotl(b_raw ^ c_p, p_rot) with c_p the c word
//   of b's quarter round in the stage before (p_diag: that stage's round was diagonal; p_rot
//   0: no step pending, stage 1). The adder's input LUTs take a, b_raw and c_p (a + rotl(b_raw
//   ^ c_p) is three inputs per bit); the true b kept for the next stages is formed from a copy
//   of the c words (dup: a second register, so that yosys' LUT mapping cannot make the adder
//   read the kept XOR, a LUT level in front of the carry chain). d passes (its step pending).
// - "c" stage: likewise with d: the true d is rotl(d_raw ^ a, rot) with a the a word of d's
//   quarter round from the "a" stage before (same round); the adder c + rotl(d_raw ^ a, rot)
//   takes c, d_raw and a, and the true d is kept, formed from the copy of the a words. b passes
//   (its step pending).
// Every stage leaves a copy of the words it updated (a or c words) in its dup register.
function [511:0] stage_a(input [511:0] s, input [127:0] cdup, input diag, input p_diag,
    input [4:0] p_rot);
    reg [31:0] w [0:15];
    reg [31:0] b_add;
    integer i, ia, ib;
    begin
        for (i = 0; i < 16; i = i + 1) w[i] = s[32*i +: 32];
        for (i = 0; i < 4; i = i + 1) begin
            ia = i;
            ib = diag ? 4 + ((i + 1) % 4) : 4 + i;
            b_add = p_rot == 0 ? s[32*ib +: 32]
                : rotl(s[32*ib +: 32] ^ s[32*c_of(ib, p_diag) +: 32], p_rot);
            w[ia] = s[32*ia +: 32] + b_add;
            w[ib] = p_rot == 0 ? s[32*ib +: 32]
                : rotl(s[32*ib +: 32] ^ cdup[32*(c_of(ib, p_diag) - 8) +: 32], p_rot);
        end
        for (i = 0; i < 16; i = i + 1) stage_a[32*i +: 32] = w[i];
    end
endfunction

function [511:0] stage_c(input [511:0] s, input [127:0] adup, input diag, input [4:0] rot);
    reg [31:0] w [0:15];
    integer i, ia, ib, ic, id;
    begin
        for (i = 0; i < 16; i = i + 1) w[i] = s[32*i +: 32];
        for (i = 0; i < 4; i = i + 1) begin
            ia = i;
            ib = diag ? 4 + ((i + 1) % 4) : 4 + i;
            ic = c_of(ib, diag);
            id = diag ? 12 + ((i + 3) % 4) : 12 + i;
            w[ic] = s[32*ic +: 32] + rotl(s[32*id +: 32] ^ s[32*ia +: 32], rot);
            w[id] = rotl(s[32*id +: 32] ^ adup[32*ia +: 32], rot);
        end
        for (i = 0; i < 16; i = i + 1) stage_c[32*i +: 32] = w[i];
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

// key, counter, nonce and tag, carried for the final add: a fixed delay of INIT_DELAY cycles
// (a block's inputs of cycle t are read in cycle t + INIT_DELAY). In block RAM (wp_ram_sdp),
// not shift registers: as flip-flops (ECP5 has no shift-register LUTs) the 82 x 385 bits were
// 31.6k of wp_chacha20's 66k flip-flops (79 % of an LFE5U-85F's), which spread the PE over the
// device. The RAM is a ring written every cycle at wr_ptr; it is read INIT_DELAY - 2 entries
// behind (a write INIT_DELAY - 2 cycles ago), its registered read plus a fabric register
// (init_q_reg: the final adders do not start from the RAM's slow clock-to-out) making the delay.
localparam INIT_DELAY = LATENCY - 1;
localparam INIT_W = 384 + TAG_WIDTH;
localparam INIT_AW = $clog2(INIT_DELAY);
// the read address trails the write address by INIT_DELAY - 2 (mod 2^INIT_AW)
localparam [INIT_AW-1:0] INIT_LAG = INIT_DELAY - 2;
reg [INIT_AW-1:0]  init_wr_ptr_reg = 0;
wire [INIT_AW-1:0] init_rd_addr = init_wr_ptr_reg - INIT_LAG;
wire [INIT_W-1:0]  init_rd;
reg [INIT_W-1:0]   init_q_reg = 0;

wp_ram_sdp #(.WIDTH(INIT_W), .ADDR_WIDTH(INIT_AW), .NO_RW_CHECK(1)) init_ram_inst (
    .clk(clk),
    .wr_en(1'b1), .wr_addr(init_wr_ptr_reg), .wr_data({in_tag, in_nonce, in_counter, in_key}),
    .rd_en(1'b1), .rd_addr(init_rd_addr), .rd_data(init_rd)
);

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

// the updated words of each stage's state again (dup, see stage_a): the a words after an "a"
// stage, the c words after a "c" stage; all ones at time 0, so yosys does not merge them with
// the state's words
wire [127:0] st_dup [0:STAGES];
assign st_dup[0] = state0_reg[383:256];  // unused: stage 1 has no step pending

genvar gk;
generate
    for (gk = 1; gk <= STAGES; gk = gk + 1) begin : g_stage
        // stage gk: round (gk-1)/4 (odd rounds diagonal), step (gk-1)%4: a += b (0, 2) or
        // c += d (1, 3); pending from stage gk-1: b rotated by 7 (step 0: the round before,
        // none for stage 1) or 12 (step 2), d by 16 (step 1) or 8 (step 3)
        localparam STEP = (gk - 1) % 4;
        localparam DIAG = ((gk - 1) / 4) % 2 == 1;
        wire [511:0] next;
        if (STEP == 0 || STEP == 2) begin : g_a
            assign next = stage_a(st[gk-1], st_dup[gk-1], DIAG,
                STEP == 0 ? !DIAG : DIAG, gk == 1 ? 5'd0 : STEP == 0 ? 5'd7 : 5'd12);
        end else begin : g_c
            assign next = stage_c(st[gk-1], st_dup[gk-1], DIAG, STEP == 1 ? 5'd16 : 5'd8);
        end
        reg [511:0] state_reg = 0;
        reg [127:0] dup_reg = {128{1'b1}};
        reg         v_reg = 1'b0;
        reg         p_reg = 1'b0;
        always @(posedge clk) begin
            state_reg <= next;
            dup_reg <= STEP % 2 == 0 ? next[127:0] : next[383:256];
            v_reg <= st_v[gk-1];
            p_reg <= st_p[gk-1];
            if (rst) v_reg <= 1'b0;
        end
        assign st[gk] = state_reg;
        assign st_dup[gk] = dup_reg;
        assign st_v[gk] = v_reg;
        assign st_p[gk] = p_reg;
    end
endgenerate

// the state after stage 40 with its pending step done: after the first pass the entry
// register's next value, after the second the final state
wire [511:0] settled = settle(st[STAGES]);
// a block after its first pass comes back into the entry register: st_v / st_p of stage 40
// are stage 39's one cycle later (the stages have no enables), so `back` is a register set
// from stage 39, in BACK_COPIES copies that each select 512 / BACK_COPIES bits of the entry
// register (one flip-flop driving 512 mux selects was the PE's slowest net on ECP5). `keep` is
// on the always block: on the reg (as until session 16) yosys's opt_merge still merged the
// copies into one flip-flop
localparam BACK_COPIES = 8;
wire [BACK_COPIES-1:0] back_copy;
genvar gb;
generate
    for (gb = 0; gb < BACK_COPIES; gb = gb + 1) begin : g_back
        reg back_reg = 1'b0;
        (* keep *)
        always @(posedge clk) begin
            back_reg <= st_v[STAGES-1] && !st_p[STAGES-1];
            if (rst) back_reg <= 1'b0;
        end
        assign back_copy[gb] = back_reg;
    end
endgenerate
wire back = back_copy[0];

assign in_ready = !back;

wire [511:0] fresh = {in_nonce, in_counter, in_key, SIGMA};

integer j;

always @(posedge clk) begin
    for (j = 0; j < 16; j = j + 1) begin
        state0_reg[32*j +: 32] <= back_copy[j * BACK_COPIES / 16]
            ? settled[32*j +: 32] : fresh[32*j +: 32];
    end
    v0_reg <= back || in_valid;
    p0_reg <= back;
    init_wr_ptr_reg <= init_wr_ptr_reg + 1;
    init_q_reg <= init_rd;
    for (j = 0; j < 16; j = j + 1) begin
        out_block_reg[32*j +: 32] <= settled[32*j +: 32]
            + ({init_q_reg[383:0], SIGMA} >> (32*j));
    end
    out_tag_reg <= init_q_reg[384 +: TAG_WIDTH];
    out_valid_reg <= st_v[STAGES] && st_p[STAGES];

    if (rst) begin
        v0_reg <= 1'b0;
        out_valid_reg <= 1'b0;
    end
end

endmodule

`resetall
