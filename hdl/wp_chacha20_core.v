/*
 * wphw — ChaCha20 block function (RFC 8439 §2.3), fully unrolled and pipelined.
 *
 * One round per pipeline stage (20 stages) plus an input and an output register: a new
 * block can enter every cycle and comes out LATENCY cycles later. The pipeline never stalls
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
// cycles from in_valid to out_valid
localparam LATENCY = ROUNDS + 2;

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

// quarter round on {d, c, b, a}
function [127:0] qr(input [127:0] abcd);
    reg [31:0] a, b, c, d;
    begin
        a = abcd[31:0]; b = abcd[63:32]; c = abcd[95:64]; d = abcd[127:96];
        a = a + b; d = rotl(d ^ a, 16);
        c = c + d; b = rotl(b ^ c, 12);
        a = a + b; d = rotl(d ^ a, 8);
        c = c + d; b = rotl(b ^ c, 7);
        qr = {d, c, b, a};
    end
endfunction

function [511:0] round(input [511:0] s, input diag);
    reg [31:0] w [0:15];
    reg [127:0] t;
    integer i;
    begin
        for (i = 0; i < 16; i = i + 1) w[i] = s[32*i +: 32];
        if (!diag) begin
            for (i = 0; i < 4; i = i + 1) begin
                t = qr({w[12+i], w[8+i], w[4+i], w[i]});
                {w[12+i], w[8+i], w[4+i], w[i]} = t;
            end
        end else begin
            t = qr({w[15], w[10], w[5], w[0]});  {w[15], w[10], w[5], w[0]} = t;
            t = qr({w[12], w[11], w[6], w[1]});  {w[12], w[11], w[6], w[1]} = t;
            t = qr({w[13], w[8],  w[7], w[2]});  {w[13], w[8],  w[7], w[2]} = t;
            t = qr({w[14], w[9],  w[4], w[3]});  {w[14], w[9],  w[4], w[3]} = t;
        end
        for (i = 0; i < 16; i = i + 1) round[32*i +: 32] = w[i];
    end
endfunction

reg [511:0]         state_reg [0:ROUNDS];
reg [383:0]         init_reg  [0:ROUNDS];  // key, counter, nonce carried for the final add
reg [ROUNDS:0]      valid_reg = 0;
reg [TAG_WIDTH-1:0] tag_reg   [0:ROUNDS];

reg [511:0]         out_block_reg = 0;
reg                 out_valid_reg = 1'b0;
reg [TAG_WIDTH-1:0] out_tag_reg = 0;

assign out_valid = out_valid_reg;
assign out_block = out_block_reg;
assign out_tag = out_tag_reg;

integer k, j;

always @(posedge clk) begin
    state_reg[0] <= {in_nonce, in_counter, in_key, SIGMA};
    init_reg[0] <= {in_nonce, in_counter, in_key};
    tag_reg[0] <= in_tag;
    valid_reg[0] <= in_valid;
    for (k = 1; k <= ROUNDS; k = k + 1) begin
        state_reg[k] <= round(state_reg[k-1], (k % 2) == 0);
        init_reg[k] <= init_reg[k-1];
        tag_reg[k] <= tag_reg[k-1];
        valid_reg[k] <= valid_reg[k-1];
    end
    for (j = 0; j < 16; j = j + 1) begin
        out_block_reg[32*j +: 32] <= state_reg[ROUNDS][32*j +: 32]
            + ({init_reg[ROUNDS], SIGMA} >> (32*j));
    end
    out_tag_reg <= tag_reg[ROUNDS];
    out_valid_reg <= valid_reg[ROUNDS];

    if (rst) begin
        valid_reg <= 0;
        out_valid_reg <= 1'b0;
    end
end

endmodule

`resetall
